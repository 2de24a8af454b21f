/**
 * What each view's nodes are (Weave Scope's renderers, render/*.go): the report nodes it shows or the groups it
 * makes of them, and which of its nodes a process belongs to, so that connections between processes become
 * edges between the view's nodes. Options that pick report nodes (system or application containers, running or
 * stopped, namespaces) are applied here, before grouping: a group counts only what it shows.
 */
import { ids, KEYS, TOPOLOGY_DEFAULTS, type Node, type Report, type TopologyName } from '../report/index.ts';
import { latest, processLabel, summarize, templatesOf, type NodeSummary } from './summary.ts';
import type { ViewID, ViewOptions } from './topologies.ts';

/** The view nodes a process belongs to: none (it is filtered out), or a pseudo node's id the renderer makes. */
export type ProcessOwner = readonly string[];

export interface ViewSource {
  /** the view's own (not pseudo) nodes, edges not yet filled in */
  nodes: Map<string, NodeSummary>;
  /** report nodes the options left out */
  filtered: number;
  /**
   * Which of the view's nodes a process of a host belongs to: none when the options leave its node out;
   * `undefined` when the view has no node for it (then it is one of the host's `orphans`, or its address).
   */
  ofProcess(procID: string, hostID: string): ProcessOwner | undefined;
  /** the pseudo node standing for a host's processes the view has no node for (Uncontained, Unmanaged), if any */
  orphans?: { label: string; idPrefix: string };
}

export const NONE: ProcessOwner = Object.freeze([]) as ProcessOwner;

const CONTROLLERS: { key: string; source: TopologyName }[] = [
  { key: 'deployment', source: 'Deployment' },
  { key: 'daemon_set', source: 'DaemonSet' },
  { key: 'stateful_set', source: 'StatefulSet' },
  { key: 'cron_job', source: 'CronJob' },
  { key: 'job', source: 'Job' },
];

/** Images and names Weave Scope counts as system containers (render/filters.go's lists, in spirit). */
const SYSTEM_IMAGE_PREFIXES = ['weaveworks/scope', 'weaveworks/weave', 'weaveworks/plugin', 'k8s.gcr.io/', 'registry.k8s.io/', 'gcr.io/google_containers/', 'openshift/origin-pod', 'docker/ucp-', 'amazon/amazon-ecs-agent'];
const SYSTEM_NAMESPACES = new Set(['kube-system', 'kube-public', 'kube-node-lease']);

/** A system container: Scope's own, Kubernetes' pause and kube-system ones, or one labelled `works.weave.role=system`. */
export function isSystemContainer(c: Node): boolean {
  if (latest(c, 'docker_label_works.weave.role') === 'system') return true;
  if (latest(c, 'docker_label_io.kubernetes.container.name') === 'POD') return true;
  const ns = latest(c, 'docker_label_io.kubernetes.pod.namespace');
  if (ns && SYSTEM_NAMESPACES.has(ns)) return true;
  const image = imageWithoutRegistry(latest(c, KEYS.dockerImageName) ?? '');
  return SYSTEM_IMAGE_PREFIXES.some((p) => image.startsWith(p));
}

/** Running as Scope counts it: running, paused or restarting (a container with no state is taken as running). */
export function isRunning(c: Node): boolean {
  const state = latest(c, KEYS.dockerContainerState);
  return state === undefined || state === 'running' || state === 'paused' || state === 'restarting';
}

const imageWithoutRegistry = (image: string): string => image.replace(/^docker\.io\//, '');

/**
 * An image's name without its tag or digest (Scope's ImageNameWithoutVersion), Docker Hub's implicit parts
 * dropped so one image is one group however it was named: `docker.io/library/nginx:1.25` → `nginx`.
 */
export function imageWithoutVersion(image: string): string {
  const at = image.indexOf('@');
  let name = at >= 0 ? image.slice(0, at) : image;
  const colon = name.lastIndexOf(':');
  if (colon > name.lastIndexOf('/')) name = name.slice(0, colon);
  return name.replace(/^(?:docker\.io\/)?(?:library\/)?/, '');
}

function containerShown(c: Node, o: ViewOptions): boolean {
  const system = o.values.system;
  if (system === 'application' && isSystemContainer(c)) return false;
  if (system === 'system' && !isSystemContainer(c)) return false;
  const stopped = o.values.stopped;
  if (stopped === 'running' && !isRunning(c)) return false;
  if (stopped === 'stopped' && isRunning(c)) return false;
  return true;
}

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/** Counts what a group stands for, in the order groups are first met. */
class Groups {
  readonly members = new Map<string, { label: string; count: number; sample: Node }>();
  add(key: string, label: string, n: Node): void {
    const g = this.members.get(key);
    if (g) g.count++;
    else this.members.set(key, { label, count: 1, sample: n });
  }
  summaries(shape: string, one: string, many: string, metadata: (n: Node) => NodeSummary['metadata'] = () => []): Map<string, NodeSummary> {
    const out = new Map<string, NodeSummary>();
    for (const [id, g] of this.members) {
      out.set(id, { id, label: g.label, labelMinor: plural(g.count, one, many), rank: g.label, shape, stack: true, adjacency: [], metadata: metadata(g.sample), metrics: [], parents: [] });
    }
    return out;
  }
}

export function viewSource(report: Report, view: ViewID, o: ViewOptions): ViewSource {
  const processes = report.topologies.Process?.nodes ?? {};
  const containers = report.topologies.Container?.nodes ?? {};
  const pods = report.topologies.Pod?.nodes ?? {};
  const shapeOf = (t: TopologyName) => report.topologies[t]?.shape || TOPOLOGY_DEFAULTS[t]?.shape || 'circle';
  const own = (t: TopologyName, keep: (n: Node) => boolean = () => true): { nodes: Map<string, NodeSummary>; filtered: number } => {
    const topology = report.topologies[t];
    const nodes = new Map<string, NodeSummary>();
    let filtered = 0;
    if (!topology) return { nodes, filtered };
    const templates = templatesOf(t, topology);
    const shape = shapeOf(t);
    for (const id in topology.nodes) {
      const n = topology.nodes[id]!;
      if (keep(n)) nodes.set(id, summarize(report, t, templates, n, shape));
      else filtered++;
    }
    return { nodes, filtered };
  };
  /** the reported container a process runs in */
  const containerOf = (procID: string): string | undefined => {
    const p = processes[procID];
    const cid = latest(p, KEYS.dockerContainerID);
    const id = cid ? ids.container(cid) : p?.parents.container?.[0];
    return id && containers[id] ? id : undefined;
  };
  const inNamespace = (n: Node | undefined) => o.namespaces.length === 0 || o.namespaces.includes(latest(n, KEYS.kubernetesNamespace) ?? '');
  /** the reported pod a container belongs to */
  const podOf = (containerID: string | undefined): string | undefined => {
    const pod = containerID ? containers[containerID]?.parents.pod?.[0] : undefined;
    return pod && pods[pod] ? pod : undefined;
  };
  /** a process's view nodes through its container's pod (`groupsOf` the pod's groups in the view) */
  const throughPod = (groupsOf: (podID: string) => ProcessOwner | undefined) => (procID: string): ProcessOwner | undefined => {
    const pod = podOf(containerOf(procID));
    if (!pod) return undefined;
    return inNamespace(pods[pod]) ? groupsOf(pod) : NONE;
  };

  switch (view) {
    case 'processes': {
      const { nodes } = own('Process');
      return { nodes, filtered: 0, ofProcess: (procID) => (nodes.has(procID) ? [procID] : undefined) };
    }
    case 'processes-by-name': {
      const groups = new Groups();
      const byProcess = new Map<string, ProcessOwner>();
      for (const id in processes) {
        const name = latest(processes[id], KEYS.name);
        if (!name) continue;
        const label = processLabel(name);
        groups.add(label, label, processes[id]!);
        byProcess.set(id, [label]);
      }
      return { nodes: groups.summaries(shapeOf('Process'), 'process', 'processes'), filtered: 0, ofProcess: (procID) => byProcess.get(procID) ?? (processes[procID] ? NONE : undefined) };
    }
    case 'containers':
    case 'containers-by-image':
    case 'containers-by-hostname': {
      const groupOf = new Map<string, ProcessOwner>();
      let filtered = 0;
      let nodes: Map<string, NodeSummary>;
      if (view === 'containers') {
        const r = own('Container', (c) => containerShown(c, o));
        nodes = r.nodes;
        filtered = r.filtered;
        for (const id of nodes.keys()) groupOf.set(id, [id]);
      } else {
        const groups = new Groups();
        for (const id in containers) {
          const c = containers[id]!;
          if (!containerShown(c, o)) {
            filtered++;
            continue;
          }
          const key = view === 'containers-by-image' ? imageWithoutVersion(latest(c, KEYS.dockerImageName) ?? '') : (latest(c, KEYS.dockerContainerHostname) ?? '');
          if (!key) continue;
          groups.add(key, key, c);
          groupOf.set(id, [key]);
        }
        const imageMetadata = (c: Node): NodeSummary['metadata'] => [{ id: KEYS.dockerImageName, label: 'Image', value: imageWithoutVersion(latest(c, KEYS.dockerImageName) ?? ''), priority: 1 }];
        nodes = groups.summaries(shapeOf('Container'), 'container', 'containers', view === 'containers-by-image' ? imageMetadata : undefined);
      }
      return {
        nodes,
        filtered,
        ofProcess: (procID) => {
          const c = containerOf(procID);
          return c ? (groupOf.get(c) ?? NONE) : undefined;
        },
        orphans: { label: 'Uncontained', idPrefix: 'pseudo:uncontained:' },
      };
    }
    case 'pods': {
      const { nodes, filtered } = own('Pod', inNamespace);
      return { nodes, filtered, ofProcess: throughPod((pod) => [pod]), orphans: { label: 'Unmanaged', idPrefix: 'pseudo:unmanaged:' } };
    }
    case 'kube-controllers':
    case 'services': {
      const parentsOf = view === 'services' ? (pod: Node) => pod.parents.service ?? NONE : (pod: Node) => controllersOf(report, pod);
      const sources: TopologyName[] = view === 'services' ? ['Service'] : CONTROLLERS.map((c) => c.source);
      const byPod = new Map<string, ProcessOwner>();
      const counts = new Map<string, number>();
      for (const id in pods) {
        const pod = pods[id]!;
        const parents = parentsOf(pod).filter((p) => sources.some((t) => report.topologies[t]?.nodes[p]));
        if (parents.length === 0) continue;
        byPod.set(id, parents);
        for (const p of parents) counts.set(p, (counts.get(p) ?? 0) + 1);
      }
      const nodes = new Map<string, NodeSummary>();
      let filtered = 0;
      for (const t of sources) {
        const topology = report.topologies[t];
        if (!topology) continue;
        const templates = templatesOf(t, topology);
        for (const id in topology.nodes) {
          const count = counts.get(id);
          if (count === undefined) continue; // as Scope: a controller or service shows through its pods
          const n = topology.nodes[id]!;
          if (!inNamespace(n)) {
            filtered++;
            continue;
          }
          const s = summarize(report, t, templates, n, shapeOf(t));
          s.labelMinor = plural(count, 'pod', 'pods');
          s.stack = true;
          nodes.set(id, s);
        }
      }
      return {
        nodes,
        filtered,
        ofProcess: throughPod((pod) => byPod.get(pod)?.filter((id) => nodes.has(id))),
        orphans: { label: 'Unmanaged', idPrefix: 'pseudo:unmanaged:' },
      };
    }
    case 'hosts': {
      const { nodes } = own('Host');
      return { nodes, filtered: 0, ofProcess: (_procID, hostID) => (nodes.has(ids.host(hostID)) ? [ids.host(hostID)] : undefined) };
    }
  }
}

/** A pod's controllers: its own parents of those kinds, a replica set's deployment; a job a cron job made stands as that cron job. */
function controllersOf(report: Report, pod: Node): string[] {
  const out: string[] = [];
  for (const c of CONTROLLERS) {
    for (const id of pod.parents[c.key] ?? NONE) {
      const cronJobs = c.key === 'job' ? report.topologies.Job?.nodes[id]?.parents.cron_job : undefined;
      if (cronJobs?.length) out.push(...cronJobs);
      else out.push(id);
    }
  }
  for (const rs of pod.parents.replica_set ?? NONE) for (const d of report.topologies.ReplicaSet?.nodes[rs]?.parents.deployment ?? NONE) out.push(d);
  return [...new Set(out)];
}
