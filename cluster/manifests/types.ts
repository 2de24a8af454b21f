/**
 * The Kubernetes objects the manifests hold, narrowed to the fields the engine reads. The loader validates each
 * object against Kubernetes' own schema first, so an object of these types may carry more fields than named here.
 */

export interface ObjectMeta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** A ConfigMap's or Secret's key, as `valueFrom.configMapKeyRef` / `secretKeyRef` name it. */
export interface KeyRef {
  name: string;
  key: string;
  optional?: boolean;
}

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { configMapKeyRef?: KeyRef; secretKeyRef?: KeyRef; fieldRef?: unknown; resourceFieldRef?: unknown; fileKeyRef?: unknown };
}

/** A whole ConfigMap or Secret as variables (`envFrom`). */
export interface EnvFromSource {
  prefix?: string;
  configMapRef?: { name: string; optional?: boolean };
  secretRef?: { name: string; optional?: boolean };
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
  envFrom?: EnvFromSource[];
  ports?: ContainerPort[];
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  startupProbe?: Probe;
}

export interface Deployment {
  apiVersion: 'apps/v1';
  kind: 'Deployment';
  metadata: ObjectMeta;
  spec: {
    replicas?: number;
    selector: { matchLabels: Record<string, string> };
    template: {
      metadata: { labels: Record<string, string> };
      spec: { containers: Container[]; serviceAccountName?: string };
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
  metadata: ObjectMeta;
  spec: { selector: Record<string, string>; ports: ServicePort[]; type?: string };
}

export interface ServiceAccount {
  apiVersion: 'v1';
  kind: 'ServiceAccount';
  metadata: ObjectMeta;
}

export interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  verbs: string[];
}

export interface Role {
  apiVersion: 'rbac.authorization.k8s.io/v1';
  kind: 'Role';
  metadata: ObjectMeta;
  rules?: PolicyRule[];
}

export interface Subject {
  kind: string;
  name: string;
  namespace?: string;
  apiGroup?: string;
}

export interface RoleBinding {
  apiVersion: 'rbac.authorization.k8s.io/v1';
  kind: 'RoleBinding';
  metadata: ObjectMeta;
  roleRef: { apiGroup: string; kind: string; name: string };
  subjects?: Subject[];
}

export interface ConfigMap {
  apiVersion: 'v1';
  kind: 'ConfigMap';
  metadata: ObjectMeta;
  data?: Record<string, string>;
  binaryData?: Record<string, string>;
}

export interface Secret {
  apiVersion: 'v1';
  kind: 'Secret';
  metadata: ObjectMeta;
  type?: string;
  /** base64, as in the API. */
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}

export type ManifestObject = Deployment | Service | ServiceAccount | Role | RoleBinding | ConfigMap | Secret;

export interface Manifests {
  /** The folder they were loaded from. */
  dir: string;
  deployments: Deployment[];
  services: Service[];
  serviceAccounts: ServiceAccount[];
  roles: Role[];
  roleBindings: RoleBinding[];
  configMaps: ConfigMap[];
  secrets: Secret[];
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
