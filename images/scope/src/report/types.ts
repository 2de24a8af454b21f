/**
 * The report data model, shaped like Weave Scope 1.13's `report.Report` so that one decoder reads what an
 * unmodified Scope probe publishes and what our own probe publishes.
 *
 * Times are milliseconds since the Unix epoch (fractional: Go carries nanoseconds, we keep microseconds).
 * Maps keyed by ids are plain objects created without a prototype (see `dict()`), so an id such as
 * `__proto__` is just a key.
 */

/** The names of a report's topologies, as they appear on the wire (Go struct field names). */
export const TOPOLOGY_NAMES = [
  'Endpoint',
  'Process',
  'Container',
  'ContainerImage',
  'Pod',
  'Service',
  'Deployment',
  'ReplicaSet',
  'DaemonSet',
  'StatefulSet',
  'CronJob',
  'Namespace',
  'Host',
  'Overlay',
  'ECSTask',
  'ECSService',
  'SwarmService',
  'PersistentVolume',
  'PersistentVolumeClaim',
  'StorageClass',
  'VolumeSnapshot',
  'VolumeSnapshotData',
  'Job',
] as const;

export type TopologyName = (typeof TOPOLOGY_NAMES)[number];

/** The value of a node's `topology` field for each wire topology (Scope's report constants). */
export const NODE_TOPOLOGY: Record<TopologyName, string> = {
  Endpoint: 'endpoint',
  Process: 'process',
  Container: 'container',
  ContainerImage: 'container_image',
  Pod: 'pod',
  Service: 'service',
  Deployment: 'deployment',
  ReplicaSet: 'replica_set',
  DaemonSet: 'daemon_set',
  StatefulSet: 'stateful_set',
  CronJob: 'cron_job',
  Namespace: 'namespace',
  Host: 'host',
  Overlay: 'overlay',
  ECSTask: 'ecs_task',
  ECSService: 'ecs_service',
  SwarmService: 'swarm_service',
  PersistentVolume: 'persistent_volume',
  PersistentVolumeClaim: 'persistent_volume_claim',
  StorageClass: 'storage_class',
  VolumeSnapshot: 'volume_snapshot',
  VolumeSnapshotData: 'volume_snapshot_data',
  Job: 'job',
};

/** Well-known keys in a node's `latest` map (Scope's report/map_keys.go and friends). */
export const KEYS = {
  hostNodeID: 'host_node_id',
  hostName: 'host_name',
  os: 'os',
  kernelVersion: 'kernel_version',
  uptime: 'uptime',
  scopeVersion: 'host_scope_version',
  controlProbeID: 'control_probe_id',
  pid: 'pid',
  ppid: 'ppid',
  name: 'name',
  cmdline: 'cmdline',
  threads: 'threads',
  dockerContainerID: 'docker_container_id',
  dockerContainerName: 'docker_container_name',
  dockerContainerState: 'docker_container_state',
  dockerContainerStateHuman: 'docker_container_state_human',
  dockerContainerHostname: 'docker_container_hostname',
  dockerContainerCommand: 'docker_container_command',
  dockerImageID: 'docker_image_id',
  dockerImageName: 'docker_image_name',
  dockerImageTag: 'docker_image_tag',
  kubernetesName: 'kubernetes_name',
  kubernetesNamespace: 'kubernetes_namespace',
  kubernetesState: 'kubernetes_state',
  kubernetesIP: 'kubernetes_ip',
  kubernetesCreated: 'kubernetes_created',
} as const;

export type Dict<T> = Record<string, T>;

/**
 * Objects whose prototype is an empty, frozen, prototype-less object: nothing is inherited (not even
 * `__proto__`, so any string is just a key) and V8 keeps small ones in its fast shape-based mode, which
 * Object.create(null) objects never are.
 */
const EmptyProto = function EmptyProto() {} as unknown as new () => object;
EmptyProto.prototype = Object.freeze(Object.create(null) as object);

/** An empty object used as a map (see EmptyProto). */
export function dict<T>(): Dict<T> {
  return new EmptyProto() as Dict<T>;
}

export interface LatestEntry {
  /** ms since the Unix epoch */
  timestamp: number;
  value: string;
}

export interface Sample {
  /** ms since the Unix epoch */
  date: number;
  value: number;
}

export interface Metric {
  /** ordered by date, oldest first */
  samples: Sample[];
  min: number;
  max: number;
}

export interface NodeControlData {
  dead: boolean;
}

export interface LatestControlEntry {
  timestamp: number;
  value: NodeControlData;
}

export interface Node {
  id: string;
  /** e.g. `process`, `host` (Scope's lower-case constants) */
  topology: string;
  /** key → newest value */
  latest: Dict<LatestEntry>;
  /** key → sorted, unique strings */
  sets: Dict<string[]>;
  /** sorted, unique ids of nodes in the same topology */
  adjacency: string[];
  /** parent topology (e.g. `host`) → sorted, unique parent ids */
  parents: Dict<string[]>;
  metrics: Dict<Metric>;
  counters: Dict<number>;
  latestControls: Dict<LatestControlEntry>;
}

export interface Control {
  id: string;
  human: string;
  icon: string;
  rank: number;
  confirmation?: string;
}

/** Templates are small flat records (label, priority, dataType, from, format, …) passed through as sent. */
export type Template = Dict<string | number | boolean>;

export interface Topology {
  shape?: string;
  tag?: string;
  label?: string;
  labelPlural?: string;
  nodes: Dict<Node>;
  controls: Dict<Control>;
  metadataTemplates: Dict<Template>;
  metricTemplates: Dict<Template>;
  tableTemplates: Dict<Template>;
}

export interface DNSRecord {
  forward: string[];
  reverse: string[];
}

/** A plugin spec, passed through (JSON-like). */
export type PluginSpec = Dict<JsonValue>;
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export interface Report {
  id: string;
  /** when the probe made the report (ms), if it said */
  ts?: number;
  /** the time the report covers, in ms */
  window: number;
  shortcut: boolean;
  topologies: Partial<Record<TopologyName, Topology>>;
  dns: Dict<DNSRecord>;
  sampling: { count: number; total: number };
  plugins: PluginSpec[];
}

export function makeNode(id: string, topology: string): Node {
  return {
    id,
    topology,
    latest: dict(),
    sets: dict(),
    adjacency: [],
    parents: dict(),
    metrics: dict(),
    counters: dict(),
    latestControls: dict(),
  };
}

export function makeTopology(): Topology {
  return { nodes: dict(), controls: dict(), metadataTemplates: dict(), metricTemplates: dict(), tableTemplates: dict() };
}

export function makeReport(id = randomReportID()): Report {
  return { id, window: 0, shortcut: false, topologies: {}, dns: dict(), sampling: { count: 0, total: 0 }, plugins: [] };
}

/** Scope's report ids are decimal renderings of a random int63. */
export function randomReportID(): string {
  const hi = Math.floor(Math.random() * 0x80000000);
  const lo = Math.floor(Math.random() * 0x100000000);
  return ((BigInt(hi) << 32n) | BigInt(lo)).toString();
}

/** The topology of a report, created (with Scope's default shape and labels) if absent. */
export function topologyOf(report: Report, name: TopologyName): Topology {
  let t = report.topologies[name];
  if (!t) {
    t = makeTopology();
    const d = TOPOLOGY_DEFAULTS[name];
    if (d) Object.assign(t, d);
    report.topologies[name] = t;
  }
  return t;
}

/** Scope's MakeReport defaults: shape and labels per topology. */
export const TOPOLOGY_DEFAULTS: Partial<Record<TopologyName, Pick<Topology, 'shape' | 'label' | 'labelPlural' | 'tag'>>> = {
  Process: { shape: 'square', label: 'process', labelPlural: 'processes' },
  Container: { shape: 'hexagon', label: 'container', labelPlural: 'containers' },
  ContainerImage: { shape: 'hexagon', label: 'image', labelPlural: 'images' },
  Host: { shape: 'circle', label: 'host', labelPlural: 'hosts' },
  Pod: { shape: 'heptagon', label: 'pod', labelPlural: 'pods' },
  Service: { shape: 'heptagon', label: 'service', labelPlural: 'services' },
  Deployment: { shape: 'heptagon', label: 'deployment', labelPlural: 'deployments' },
  ReplicaSet: { shape: 'triangle', label: 'replica set', labelPlural: 'replica sets' },
  DaemonSet: { shape: 'pentagon', label: 'daemonset', labelPlural: 'daemonsets' },
  StatefulSet: { shape: 'octagon', label: 'stateful set', labelPlural: 'stateful sets' },
  CronJob: { shape: 'triangle', label: 'cron job', labelPlural: 'cron jobs' },
  Overlay: { shape: 'circle', label: 'peer', labelPlural: 'peers' },
  ECSTask: { shape: 'heptagon', label: 'task', labelPlural: 'tasks' },
  ECSService: { shape: 'heptagon', label: 'service', labelPlural: 'services' },
  SwarmService: { shape: 'heptagon', label: 'service', labelPlural: 'services' },
};

/** Node ids, as Scope makes them (report/id.go). */
export const ids = {
  host: (hostID: string) => `${hostID};<host>`,
  process: (hostID: string, pid: number | string) => `${hostID};${pid}`,
  /** scope is the host id for loopback addresses (and network namespaces), empty otherwise */
  endpoint: (scope: string, addr: string, port: number | string) => `${scope};${addr};${port}`,
  container: (containerID: string) => `${containerID};<container>`,
  containerImage: (imageID: string) => `${imageID};<container_image>`,
  pod: (uid: string) => `${uid};<pod>`,
  /** the host id inside a host node id (`vm;<host>` → `vm`) */
  hostIDOf: (hostNodeID: string) => (hostNodeID.endsWith(';<host>') ? hostNodeID.slice(0, -';<host>'.length) : hostNodeID),
};
