import { ids, KEYS, type Dict, type Node, type Report, type Template, type Topology, type TopologyName } from '../report/index.ts';

/** A node as the map page (and Scope's UI) shows it: Scope's NodeSummary. */
export interface NodeSummary {
  id: string;
  label: string;
  labelMinor: string;
  rank: string;
  shape: string;
  pseudo?: boolean;
  /** a node standing for several (processes by name, containers by image, a controller's pods) */
  stack?: boolean;
  /** ids of nodes in the same rendered topology this node connects to */
  adjacency: string[];
  metadata: { id: string; label: string; value: string; priority: number; dataType?: string }[];
  metrics: { id: string; label: string; format: string; value: number; min: number; max: number }[];
  parents: { id: string; label: string; topologyId: string }[];
}

/** Used when a probe (ours, or an older Scope) sends no templates for a topology. */
const DEFAULT_METADATA: Partial<Record<TopologyName, Dict<Template>>> = {
  Process: {
    pid: { id: 'pid', label: 'PID', priority: 1, from: 'latest', dataType: 'number' },
    cmdline: { id: 'cmdline', label: 'Command', priority: 2, from: 'latest' },
    ppid: { id: 'ppid', label: 'Parent PID', priority: 3, from: 'latest', dataType: 'number' },
    threads: { id: 'threads', label: '# Threads', priority: 4, from: 'latest', dataType: 'number' },
  },
  Host: {
    kernel_version: { id: 'kernel_version', label: 'Kernel version', priority: 1, from: 'latest' },
    uptime: { id: 'uptime', label: 'Uptime', priority: 2, from: 'latest', dataType: 'duration' },
    host_name: { id: 'host_name', label: 'Hostname', priority: 11, from: 'latest' },
    os: { id: 'os', label: 'OS', priority: 12, from: 'latest' },
    local_networks: { id: 'local_networks', label: 'Local networks', priority: 13, from: 'sets' },
    host_scope_version: { id: 'host_scope_version', label: 'Scope version', priority: 14, from: 'latest' },
  },
  Container: {
    docker_container_id: { id: 'docker_container_id', label: 'ID', priority: 1, from: 'latest', truncate: 12 },
    docker_container_state_human: { id: 'docker_container_state_human', label: 'State', priority: 3, from: 'latest' },
    docker_container_command: { id: 'docker_container_command', label: 'Command', priority: 4, from: 'latest' },
    docker_image_name: { id: 'docker_image_name', label: 'Image', priority: 5, from: 'latest' },
    docker_container_networks: { id: 'docker_container_networks', label: 'Networks', priority: 6, from: 'sets' },
    docker_container_ips: { id: 'docker_container_ips', label: 'IPs', priority: 7, from: 'sets' },
    docker_container_hostname: { id: 'docker_container_hostname', label: 'Hostname', priority: 8, from: 'latest' },
    docker_container_restart_count: { id: 'docker_container_restart_count', label: 'Restart #', priority: 9, from: 'latest' },
    docker_container_uptime: { id: 'docker_container_uptime', label: 'Uptime', priority: 10, from: 'latest', dataType: 'duration' },
  },
  Pod: {
    kubernetes_state: { id: 'kubernetes_state', label: 'State', priority: 2, from: 'latest' },
    kubernetes_namespace: { id: 'kubernetes_namespace', label: 'Namespace', priority: 5, from: 'latest' },
    kubernetes_ip: { id: 'kubernetes_ip', label: 'IP', priority: 3, from: 'latest' },
    kubernetes_created: { id: 'kubernetes_created', label: 'Created', priority: 6, from: 'latest', dataType: 'datetime' },
    kubernetes_restart_count: { id: 'kubernetes_restart_count', label: 'Restart #', priority: 4, from: 'latest' },
  },
};

const DEFAULT_METRICS: Partial<Record<TopologyName, Dict<Template>>> = {
  Process: {
    process_cpu_usage_percent: { id: 'process_cpu_usage_percent', label: 'CPU', format: 'percent', priority: 1 },
    process_memory_usage_bytes: { id: 'process_memory_usage_bytes', label: 'Memory', format: 'filesize', priority: 2 },
    open_files_count: { id: 'open_files_count', label: 'Open files', format: 'integer', priority: 3 },
  },
  Host: {
    host_cpu_usage_percent: { id: 'host_cpu_usage_percent', label: 'CPU', format: 'percent', priority: 1 },
    host_mem_usage_bytes: { id: 'host_mem_usage_bytes', label: 'Memory', format: 'filesize', priority: 2 },
    load1: { id: 'load1', label: 'Load (1m)', format: '', priority: 11 },
  },
  Container: {
    docker_cpu_total_usage: { id: 'docker_cpu_total_usage', label: 'CPU', format: 'percent', priority: 1 },
    docker_memory_usage: { id: 'docker_memory_usage', label: 'Memory', format: 'filesize', priority: 2 },
  },
};

/** Which rendered topology a parent key (a node's `parents` entry) links to. */
const PARENT_TOPOLOGY: Dict<{ source: TopologyName; rendered: string }> = {
  host: { source: 'Host', rendered: 'hosts' },
  container: { source: 'Container', rendered: 'containers' },
  pod: { source: 'Pod', rendered: 'pods' },
  container_image: { source: 'ContainerImage', rendered: '' },
  deployment: { source: 'Deployment', rendered: 'kube-controllers' },
  daemon_set: { source: 'DaemonSet', rendered: 'kube-controllers' },
  stateful_set: { source: 'StatefulSet', rendered: 'kube-controllers' },
  replica_set: { source: 'ReplicaSet', rendered: '' },
  cron_job: { source: 'CronJob', rendered: 'kube-controllers' },
  job: { source: 'Job', rendered: 'kube-controllers' },
  service: { source: 'Service', rendered: 'services' },
  namespace: { source: 'Namespace', rendered: '' },
  process: { source: 'Process', rendered: 'processes' },
};

export const latest = (n: Node | undefined, key: string): string | undefined => n?.latest[key]?.value;
const basename = (p: string): string => {
  const i = p.lastIndexOf('/');
  return i >= 0 && i < p.length - 1 ? p.slice(i + 1) : p;
};

/** A process's short name: a kernel thread's bracketed name whole (it may hold '/'), else the program's file name. */
export const processLabel = (name: string): string => {
  if (name.length > 2 && name.startsWith('[') && name.endsWith(']')) return name.slice(1, -1);
  return basename(name.split(' ')[0] ?? name);
};

/** A report node's label and minor label, as Scope renders them. */
export function nodeLabel(report: Report, source: TopologyName, n: Node): { label: string; labelMinor: string; rank: string } {
  switch (source) {
    case 'Host': {
      const hostname = latest(n, KEYS.hostName) ?? ids.hostIDOf(n.id);
      const dot = hostname.indexOf('.');
      return { label: dot > 0 ? hostname.slice(0, dot) : hostname, labelMinor: dot > 0 ? hostname.slice(dot + 1) : (latest(n, KEYS.os) ?? ''), rank: hostname };
    }
    case 'Process': {
      const name = latest(n, KEYS.name) ?? '';
      const pid = latest(n, KEYS.pid) ?? n.id.slice(n.id.lastIndexOf(';') + 1);
      const hostID = hostIDOfNode(n);
      const host = report.topologies.Host?.nodes[ids.host(hostID)];
      const hostname = latest(host, KEYS.hostName) ?? hostID;
      return { label: name ? processLabel(name) : `pid ${pid}`, labelMinor: `${hostname} (${pid})`, rank: name };
    }
    case 'Container': {
      const cid = latest(n, KEYS.dockerContainerID) ?? n.id.split(';')[0]!;
      const name = (latest(n, KEYS.dockerContainerName) ?? cid.slice(0, 12)).replace(/^\//, '');
      const image = latest(n, KEYS.dockerImageName);
      const hostID = hostIDOfNode(n);
      return { label: name, labelMinor: image ?? hostID, rank: image ?? name };
    }
    case 'Pod': {
      const name = latest(n, KEYS.kubernetesName) ?? n.id.split(';')[0]!;
      const ns = latest(n, KEYS.kubernetesNamespace) ?? '';
      return { label: name, labelMinor: ns, rank: `${ns}/${name}` };
    }
    case 'ContainerImage': {
      const name = latest(n, KEYS.dockerImageName) ?? n.id.split(';')[0]!;
      return { label: name, labelMinor: latest(n, KEYS.dockerImageTag) ?? '', rank: name };
    }
    default: {
      const name = latest(n, KEYS.kubernetesName) ?? latest(n, KEYS.name) ?? n.id.split(';')[0]!;
      return { label: name, labelMinor: latest(n, KEYS.kubernetesNamespace) ?? '', rank: name };
    }
  }
}

export function hostIDOfNode(n: Node): string {
  const hn = latest(n, KEYS.hostNodeID) ?? n.parents.host?.[0];
  if (hn) return ids.hostIDOf(hn);
  const i = n.id.indexOf(';');
  return i > 0 ? n.id.slice(0, i) : '';
}

function byPriority(a: Template, b: Template): number {
  return Number(a.priority ?? 0) - Number(b.priority ?? 0);
}

/** A topology's metadata and metric templates (or the defaults), by priority: sorted once per render. */
export interface Templates {
  metadata: Template[];
  metrics: Template[];
}

export function templatesOf(source: TopologyName, t: Topology): Templates {
  const metadata = Object.keys(t.metadataTemplates).length ? t.metadataTemplates : (DEFAULT_METADATA[source] ?? {});
  const metrics = Object.keys(t.metricTemplates).length ? t.metricTemplates : (DEFAULT_METRICS[source] ?? {});
  return { metadata: Object.values(metadata).sort(byPriority), metrics: Object.values(metrics).sort(byPriority) };
}

export function summarize(report: Report, source: TopologyName, templates: Templates, n: Node, shape: string): NodeSummary {
  const { label, labelMinor, rank } = nodeLabel(report, source, n);
  const metadata: NodeSummary['metadata'] = [];
  for (const tpl of templates.metadata) {
    const id = String(tpl.id ?? '');
    const from = String(tpl.from ?? 'latest');
    let value: string | undefined;
    if (from === 'sets') value = n.sets[id]?.join(', ');
    else if (from === 'counters') value = n.counters[id] === undefined ? undefined : String(n.counters[id]);
    else value = latest(n, id);
    if (value === undefined || value === '') continue;
    const item: NodeSummary['metadata'][number] = { id, label: String(tpl.label ?? id), value, priority: Number(tpl.priority ?? 0) };
    if (tpl.dataType) item.dataType = String(tpl.dataType);
    metadata.push(item);
  }
  const metrics: NodeSummary['metrics'] = [];
  for (const tpl of templates.metrics) {
    const id = String(tpl.id ?? '');
    const m = n.metrics[id];
    const last = m?.samples[m.samples.length - 1];
    if (!m || !last) continue;
    metrics.push({ id, label: String(tpl.label ?? id), format: String(tpl.format ?? ''), value: last.value, min: m.min, max: m.max });
  }
  const parents: NodeSummary['parents'] = [];
  for (const key of Object.keys(n.parents).sort()) {
    const pt = PARENT_TOPOLOGY[key];
    for (const pid of n.parents[key]!) {
      if (pt && pt.source === source && pid === n.id) continue; // Scope lists a host as its own parent
      const pn = pt ? report.topologies[pt.source]?.nodes[pid] : undefined;
      parents.push({ id: pid, label: pn && pt ? nodeLabel(report, pt.source, pn).label : pid.split(';')[0]!, topologyId: pt?.rendered ?? '' });
    }
  }
  // processes carry their host in latest rather than parents when the probe sends no parents (deltas)
  if (source === 'Process' && !n.parents.host) {
    const hn = latest(n, KEYS.hostNodeID);
    const host = hn ? report.topologies.Host?.nodes[hn] : undefined;
    if (hn && host) parents.push({ id: hn, label: nodeLabel(report, 'Host', host).label, topologyId: 'hosts' });
  }
  return { id: n.id, label, labelMinor, rank, shape, adjacency: [], metadata, metrics, parents };
}

const sameNumber = (a: number, b: number): boolean => a === b || (a !== a && b !== b);

function sameList<T>(a: T[], b: T[], same: (x: T, y: T) => boolean): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!same(a[i]!, b[i]!)) return false;
  return true;
}

/** Whether two summaries show the same (what their JSON would tell). */
export function sameSummary(a: NodeSummary, b: NodeSummary): boolean {
  return (
    a.id === b.id &&
    a.label === b.label &&
    a.labelMinor === b.labelMinor &&
    a.rank === b.rank &&
    a.shape === b.shape &&
    a.pseudo === b.pseudo &&
    a.stack === b.stack &&
    sameList(a.adjacency, b.adjacency, (x, y) => x === y) &&
    sameList(a.metadata, b.metadata, (x, y) => x.id === y.id && x.label === y.label && x.value === y.value && sameNumber(x.priority, y.priority) && x.dataType === y.dataType) &&
    sameList(a.metrics, b.metrics, (x, y) => x.id === y.id && x.label === y.label && x.format === y.format && sameNumber(x.value, y.value) && sameNumber(x.min, y.min) && sameNumber(x.max, y.max)) &&
    sameList(a.parents, b.parents, (x, y) => x.id === y.id && x.label === y.label && x.topologyId === y.topologyId)
  );
}

