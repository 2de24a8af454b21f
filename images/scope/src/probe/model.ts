/**
 * Small builders over the report package's data model, for the probe's reporters: nodes with Weave
 * Scope's keys, latest values, parents, adjacency and single-sample metrics. Lists are kept sorted and
 * unique, as the report model requires.
 */
import {
  dict,
  ids,
  makeNode as makeReportNode,
  makeTopology,
  NODE_TOPOLOGY,
  type Dict,
  type Metric,
  type Node,
  type Template,
  type Topology,
  type TopologyName,
} from '../report/index.ts';

export type { Metric, Node, Topology, TopologyName };

export const hostNodeId = ids.host;
export const processNodeId = (hostID: string, pid: number): string => ids.process(hostID, pid);
export const containerNodeId = ids.container;
export const containerImageNodeId = ids.containerImage;
export const podNodeId = ids.pod;
export const endpointNodeId = (scope: string, address: string, port: number): string => ids.endpoint(scope, address, port);

export interface TopologyTemplate {
  shape?: string;
  label?: string;
  labelPlural?: string;
  metadataTemplates?: Dict<Template>;
  metricTemplates?: Dict<Template>;
}

export function makeNode(topology: TopologyName, id: string): Node {
  return makeReportNode(id, NODE_TOPOLOGY[topology]);
}

export function emptyTopology(template: TopologyTemplate = {}): Topology {
  const t = makeTopology();
  if (template.shape) t.shape = template.shape;
  if (template.label) t.label = template.label;
  if (template.labelPlural) t.labelPlural = template.labelPlural;
  Object.assign(t.metadataTemplates, template.metadataTemplates ?? {});
  Object.assign(t.metricTemplates, template.metricTemplates ?? {});
  return t;
}

/** Sets latest values stamped `now` (ms); undefined and empty values are left out, as Scope does. */
export function setLatest(node: Node, now: number, values: Record<string, string | number | undefined>): Node {
  for (const [key, value] of Object.entries(values)) {
    if (value === undefined || value === '') continue;
    node.latest[key] = { timestamp: now, value: String(value) };
  }
  return node;
}

function insertSorted(list: string[], value: string): void {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid]! < value) lo = mid + 1;
    else hi = mid;
  }
  if (list[lo] !== value) list.splice(lo, 0, value);
}

export function addParent(node: Node, topology: string, id: string): void {
  insertSorted((node.parents[topology] ??= []), id);
}

export function addAdjacent(node: Node, id: string): void {
  insertSorted(node.adjacency, id);
}

export function setSet(node: Node, key: string, values: Iterable<string>): void {
  const list = [...new Set(values)].sort();
  if (list.length) node.sets[key] = list;
}

export function singletonMetric(now: number, value: number, max: number): Metric {
  return { samples: [{ date: now, value }], min: value, max };
}

/** Adds a node, merging into one already there (latest: newest wins; sets, adjacency, parents: union). */
export function addNode(topology: Topology, node: Node): Node {
  const existing = topology.nodes[node.id];
  if (!existing) {
    topology.nodes[node.id] = node;
    return node;
  }
  for (const k in node.latest) {
    const v = node.latest[k]!;
    const old = existing.latest[k];
    if (!old || old.timestamp <= v.timestamp) existing.latest[k] = v;
  }
  for (const k in node.sets) setSet(existing, k, [...(existing.sets[k] ?? []), ...node.sets[k]!]);
  for (const id of node.adjacency) addAdjacent(existing, id);
  for (const k in node.parents) for (const id of node.parents[k]!) addParent(existing, k, id);
  Object.assign(existing.metrics, node.metrics);
  return existing;
}

export { dict };
