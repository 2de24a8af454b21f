/** The subset of Kubernetes objects the manifests under manifests/local use, as the loader validates them. */

export interface EnvVar {
  name: string;
  value: string;
}

export interface ContainerPort {
  name?: string;
  containerPort: number;
  protocol?: 'TCP' | 'UDP';
}

export interface Probe {
  httpGet?: { path: string; port: number | string };
  tcpSocket?: { port: number | string };
  initialDelaySeconds?: number;
  periodSeconds?: number;
  timeoutSeconds?: number;
  failureThreshold?: number;
}

export interface Container {
  name: string;
  image: string;
  args?: string[];
  env?: EnvVar[];
  ports?: ContainerPort[];
  readinessProbe?: Probe;
  livenessProbe?: Probe;
}

export interface Deployment {
  apiVersion: 'apps/v1';
  kind: 'Deployment';
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec: {
    replicas?: number;
    selector: { matchLabels: Record<string, string> };
    template: {
      metadata: { labels: Record<string, string> };
      spec: { containers: Container[] };
    };
  };
}

export interface ServicePort {
  name?: string;
  port: number;
  targetPort?: number | string;
  protocol?: 'TCP' | 'UDP';
}

export interface Service {
  apiVersion: 'v1';
  kind: 'Service';
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec: { selector: Record<string, string>; ports: ServicePort[]; type?: string };
}

export type ManifestObject = Deployment | Service;

export interface Manifests {
  /** The folder they were loaded from. */
  dir: string;
  deployments: Deployment[];
  services: Service[];
  /** Which file each object came from, by `<kind>/<name>`. */
  sources: Record<string, string>;
}
