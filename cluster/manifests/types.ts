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
  command?: string[];
  args?: string[];
  imagePullPolicy?: 'Always' | 'IfNotPresent' | 'Never';
  resources?: { requests?: Record<string, string | number>; limits?: Record<string, string | number> };
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

/** One thing wrong with the manifests, located precisely enough to fix it without searching. */
export interface ManifestProblem {
  /** The file, relative to the working directory when possible, e.g. manifests/local/users.yaml. */
  file: string;
  /** `<Kind>/<name>`, or `document <n>` when the object has no usable kind or name. */
  object: string;
  /** The field, e.g. spec.template.spec.containers[0].ports[0].containerPort; empty for the whole object. */
  path: string;
  message: string;
}

export function formatProblem(p: ManifestProblem): string {
  return [p.file, p.object, p.path, p.message].filter((part) => part !== '').join(': ');
}

/** Thrown by loadManifests with every problem found, not just the first. */
export class ManifestError extends Error {
  constructor(readonly problems: ManifestProblem[]) {
    super(`${problems.length} problem${problems.length === 1 ? '' : 's'} in the manifests:\n${problems.map((p) => `  ${formatProblem(p)}`).join('\n')}`);
    this.name = 'ManifestError';
  }
}
