import { ids, KEYS, type Dict, type Node, type Report, type Template, type Topology, type TopologyName } from '../report/index.ts';

/** A node as the map page (and Scope's UI) shows it. */
export interface NodeSummary {
  id: string;
  label: string;
  labelMinor: string;
  rank: string;
  shape: string;
  pseudo?: boolean;
  /** ids of nodes in the same rendered topology this node connects to */
  adjacency: string[];
  metadata: { id: string; label: string; value: string; priority: number; dataType?: string }[];
  metrics: { id: string; label: string; format: string; value: number; min: number; max: number }[];
  parents: { id: string; label: string; topologyId: string }[];
}

export interface RenderedTopology {
  nodes: Map<string, NodeSummary>;
}

export interface TopologyDescription {
  id: RenderedName;
  name: string;
  /** the report topology its nodes come from */
  source: TopologyName;
}

export type RenderedName = 'hosts' | 'processes' | 'containers' | 'pods';

export const RENDERED: TopologyDescription[] = [
  { id: 'processes', name: 'Processes', source: 'Process' },
  { id: 'containers', name: 'Containers', source: 'Container' },
  { id: 'pods', name: 'Pods', source: 'Pod' },
  { id: 'hosts', name: 'Hosts', source: 'Host' },
];

export function isRenderedName(s: string): s is RenderedName {
  return RENDERED.some((t) => t.id === s);
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
  deployment: { source: 'Deployment', rendered: '' },
  daemon_set: { source: 'DaemonSet', rendered: '' },
  stateful_set: { source: 'StatefulSet', rendered: '' },
  replica_set: { source: 'ReplicaSet', rendered: '' },
  cron_job: { source: 'CronJob', rendered: '' },
  service: { source: 'Service', rendered: '' },
  namespace: { source: 'Namespace', rendered: '' },
  process: { source: 'Process', rendered: 'processes' },
};

const latest = (n: Node | undefined, key: string): string | undefined => n?.latest[key]?.value;
const basename = (p: string): string => {
  const i = p.lastIndexOf('/');
  return i >= 0 && i < p.length - 1 ? p.slice(i + 1) : p;
};

/** A process's short name: a kernel thread's bracketed name whole (it may hold '/'), else the program's file name. */
const processLabel = (name: string): string => {
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

function hostIDOfNode(n: Node): string {
  const hn = latest(n, KEYS.hostNodeID) ?? n.parents.host?.[0];
  if (hn) return ids.hostIDOf(hn);
  const i = n.id.indexOf(';');
  return i > 0 ? n.id.slice(0, i) : '';
}

function byPriority(a: Template, b: Template): number {
  return Number(a.priority ?? 0) - Number(b.priority ?? 0);
}

/** A topology's metadata and metric templates (or the defaults), by priority: sorted once per render. */
interface Templates {
  metadata: Template[];
  metrics: Template[];
}

function templatesOf(source: TopologyName, t: Topology): Templates {
  const metadata = Object.keys(t.metadataTemplates).length ? t.metadataTemplates : (DEFAULT_METADATA[source] ?? {});
  const metrics = Object.keys(t.metricTemplates).length ? t.metricTemplates : (DEFAULT_METRICS[source] ?? {});
  return { metadata: Object.values(metadata).sort(byPriority), metrics: Object.values(metrics).sort(byPriority) };
}

function summarize(report: Report, source: TopologyName, templates: Templates, n: Node, shape: string): NodeSummary {
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

const LOOPBACK = /^(127\.|::1$|::ffff:127\.)/;

interface EndpointParts {
  scope: string;
  addr: string;
  port: string;
}

function parseEndpointID(id: string): EndpointParts | undefined {
  const a = id.indexOf(';');
  const b = id.lastIndexOf(';');
  if (a < 0 || a === b) return undefined;
  return { scope: id.slice(0, a), addr: id.slice(a + 1, b), port: id.slice(b + 1) };
}

function inNetworks(addr: string, networks: { base: number; mask: number }[]): boolean {
  const ip = ipv4(addr);
  if (ip === undefined) return false;
  return networks.some((n) => ((ip & n.mask) >>> 0) === n.base);
}

function ipv4(addr: string): number | undefined {
  const m = /^(?:::ffff:)?(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(addr);
  if (!m) return undefined;
  return ((Number(m[1]) << 24) | (Number(m[2]) << 16) | (Number(m[3]) << 8) | Number(m[4])) >>> 0;
}

function localNetworks(report: Report): { base: number; mask: number }[] {
  const out: { base: number; mask: number }[] = [];
  const hosts = report.topologies.Host?.nodes ?? {};
  for (const id in hosts) {
    for (const cidr of hosts[id]!.sets.local_networks ?? []) {
      const [addr, bits] = cidr.split('/');
      const ip = ipv4(addr ?? '');
      const n = Number(bits);
      if (ip === undefined || !(n >= 0 && n <= 32)) continue;
      const mask = n === 0 ? 0 : (0xffffffff << (32 - n)) >>> 0;
      out.push({ base: (ip & mask) >>> 0, mask });
    }
  }
  return out;
}

/**
 * Renders one of the app's topologies from the merged report: its nodes as summaries, and edges derived
 * from endpoint adjacency through the endpoints' processes (pid + host_node_id), the processes' containers
 * (docker_container_id) and the containers' pods (parents). Endpoints no process owns become pseudo nodes:
 * a remote address on a local network, or "The Internet".
 *
 * With `previous` (the last render), a summary equal to the previous one of its node is replaced by that
 * object as soon as it is made: what changed is what is not the same object, and the new copies of
 * unchanged nodes (nearly all of them, render after render) die at once rather than with the whole render.
 */
export function renderTopology(report: Report, name: RenderedName, previous?: Map<string, NodeSummary>): RenderedTopology {
  const desc = RENDERED.find((t) => t.id === name)!;
  const source = desc.source;
  const topology = report.topologies[source];
  const own = topology?.nodes ?? {};
  const shape = topology?.shape ?? { Host: 'circle', Process: 'square', Container: 'hexagon', Pod: 'heptagon' }[source as 'Host'] ?? 'circle';

  const processes = report.topologies.Process?.nodes ?? {};
  const containers = report.topologies.Container?.nodes ?? {};
  const hostNodes = report.topologies.Host?.nodes ?? {};
  const endpoints = report.topologies.Endpoint?.nodes ?? {};
  const networks = localNetworks(report);
  /** pseudo nodes, in the order they are first met (after the topology's own nodes in the result) */
  const pseudos = new Map<string, NodeSummary>();
  const pseudo = (id: string, label: string, labelMinor: string, pshape = 'circle'): string => {
    if (!own[id] && !pseudos.has(id)) pseudos.set(id, { id, label, labelMinor, rank: label, shape: pshape, pseudo: true, adjacency: [], metadata: [], metrics: [], parents: [] });
    return id;
  };
  const hostnameOf = (hostID: string) => latest(hostNodes[ids.host(hostID)], KEYS.hostName) ?? hostID;

  /** The rendered node owning a process, or a pseudo node standing for its host's unowned processes. */
  const fromProcess = (procID: string, hostID: string): string | undefined => {
    switch (name) {
      case 'processes':
        return processes[procID] ? procID : undefined;
      case 'hosts':
        return hostNodes[ids.host(hostID)] ? ids.host(hostID) : undefined;
      case 'containers': {
        const cid = latest(processes[procID], KEYS.dockerContainerID);
        if (cid && containers[ids.container(cid)]) return ids.container(cid);
        return pseudo(`pseudo:uncontained:${hostID}`, 'Uncontained', hostnameOf(hostID), 'square');
      }
      case 'pods': {
        const cid = latest(processes[procID], KEYS.dockerContainerID);
        const pod = cid ? containers[ids.container(cid)]?.parents.pod?.[0] : undefined;
        if (pod && report.topologies.Pod?.nodes[pod]) return pod;
        return pseudo(`pseudo:unmanaged:${hostID}`, 'Unmanaged', hostnameOf(hostID), 'square');
      }
    }
  };

  const ownerCache = new Map<string, string | null>();
  const owner = (endpointID: string): string | null => {
    const cached = ownerCache.get(endpointID);
    if (cached !== undefined) return cached;
    const e = endpoints[endpointID];
    const parts = parseEndpointID(endpointID);
    let result: string | null = null;
    const hostNodeID = latest(e, KEYS.hostNodeID);
    const hostID = hostNodeID ? ids.hostIDOf(hostNodeID) : (parts?.scope ?? '');
    const pid = latest(e, KEYS.pid);
    if (pid && hostID) result = fromProcess(ids.process(hostID, pid), hostID) ?? null;
    if (result === null && name === 'hosts' && hostID && hostNodes[ids.host(hostID)] && (hostNodeID || parts?.scope)) result = ids.host(hostID);
    ownerCache.set(endpointID, result);
    return result;
  };
  const unowned = (endpointID: string, outbound: boolean): string | null => {
    const parts = parseEndpointID(endpointID);
    if (!parts || LOOPBACK.test(parts.addr)) return null;
    if (inNetworks(parts.addr, networks)) {
      const dns = report.dns[parts.addr]?.reverse[0] ?? report.dns[parts.addr]?.forward[0];
      return pseudo(`pseudo:${parts.addr}`, dns ?? parts.addr, dns ? parts.addr : 'unknown endpoint');
    }
    return outbound ? pseudo('out-theinternet', 'The Internet', 'Outbound connections', 'cloud') : pseudo('in-theinternet', 'The Internet', 'Inbound connections', 'cloud');
  };

  const edges = new Map<string, Set<string>>();
  for (const from in endpoints) {
    const adj = endpoints[from]!.adjacency;
    if (adj.length === 0) continue;
    const a = owner(from);
    for (const to of adj) {
      const b = owner(to);
      if (a === null && b === null) continue; // neither side is anything we draw
      const src = a ?? unowned(from, false);
      const dst = b ?? unowned(to, true);
      if (src === null || dst === null || src === dst) continue;
      let set = edges.get(src);
      if (!set) edges.set(src, (set = new Set()));
      set.add(dst);
    }
  }
  // topologies that carry adjacency of their own (e.g. overlay peers) keep it
  for (const id in own) {
    for (const to of own[id]!.adjacency) {
      if (to === id || !(own[to] || pseudos.has(to))) continue;
      let set = edges.get(id);
      if (!set) edges.set(id, (set = new Set()));
      set.add(to);
    }
  }

  const nodes = new Map<string, NodeSummary>();
  const put = (n: NodeSummary) => {
    const set = edges.get(n.id);
    if (set) n.adjacency = [...set].sort();
    const prev = previous?.get(n.id);
    nodes.set(n.id, prev && sameSummary(prev, n) ? prev : n);
  };
  if (topology) {
    const templates = templatesOf(source, topology);
    for (const id in own) put(summarize(report, source, templates, own[id]!, shape));
  }
  for (const n of pseudos.values()) put(n);
  return { nodes };
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
    sameList(a.adjacency, b.adjacency, (x, y) => x === y) &&
    sameList(a.metadata, b.metadata, (x, y) => x.id === y.id && x.label === y.label && x.value === y.value && sameNumber(x.priority, y.priority) && x.dataType === y.dataType) &&
    sameList(a.metrics, b.metrics, (x, y) => x.id === y.id && x.label === y.label && x.format === y.format && sameNumber(x.value, y.value) && sameNumber(x.min, y.min) && sameNumber(x.max, y.max)) &&
    sameList(a.parents, b.parents, (x, y) => x.id === y.id && x.label === y.label && x.topologyId === y.topologyId)
  );
}

/** Edges and node counts, as Scope's topology list reports them. */
export function stats(t: RenderedTopology): { node_count: number; nonpseudo_node_count: number; edge_count: number } {
  let nonpseudo = 0;
  let edgesCount = 0;
  for (const n of t.nodes.values()) {
    if (!n.pseudo) nonpseudo++;
    edgesCount += n.adjacency.length;
  }
  return { node_count: t.nodes.size, nonpseudo_node_count: nonpseudo, edge_count: edgesCount };
}
