import { ids, KEYS, type Report } from '../report/index.ts';
import { inNetworks, localNetworks, LOOPBACK, parseEndpointID } from './network.ts';
import { NONE, viewSource, type ProcessOwner } from './sources.ts';
import { latest, sameSummary, type NodeSummary } from './summary.ts';
import type { ViewID, ViewOptions } from './topologies.ts';

export { nodeLabel, sameSummary, type NodeSummary } from './summary.ts';

export interface RenderedTopology {
  nodes: Map<string, NodeSummary>;
  /** nodes the view's options left out (Scope's `filtered_nodes`) */
  filtered: number;
}

const INTERNET = new Set(['in-theinternet', 'out-theinternet']);

/**
 * Renders one of the app's views from the merged report: its nodes (sources.ts), and edges derived from
 * endpoint adjacency through the endpoints' processes (pid + host_node_id) to the view's nodes that own
 * them. Endpoints no process owns become pseudo nodes: a remote address on a local network, or "The
 * Internet"; a host's processes the view has no node for become its Uncontained or Unmanaged node. Then the
 * options that look at the graph: `pseudo=hide` drops pseudo nodes but the Internet, `unconnected=hide`
 * nodes with no edge; as in Scope, a pseudo node left with no edge goes too.
 *
 * With `previous` (the last render), a summary equal to the previous one of its node is replaced by that
 * object: what changed is what is not the same object, and the new copies of unchanged nodes (nearly all
 * of them, render after render) die at once rather than with the whole render.
 */
export function renderTopology(report: Report, view: ViewID, options: ViewOptions, previous?: Map<string, NodeSummary>): RenderedTopology {
  const source = viewSource(report, view, options);
  const own = source.nodes;
  const hostNodes = report.topologies.Host?.nodes ?? {};
  const endpoints = report.topologies.Endpoint?.nodes ?? {};
  const networks = localNetworks(report);
  /** pseudo nodes, in the order they are first met (after the view's own nodes in the result) */
  const pseudos = new Map<string, NodeSummary>();
  const pseudo = (id: string, label: string, labelMinor: string, shape = 'circle'): string => {
    if (!own.has(id) && !pseudos.has(id)) pseudos.set(id, { id, label, labelMinor, rank: label, shape, pseudo: true, adjacency: [], metadata: [], metrics: [], parents: [] });
    return id;
  };
  const hostnameOf = (hostID: string) => latest(hostNodes[ids.host(hostID)], KEYS.hostName) ?? hostID;
  const orphans = source.orphans;
  const orphanCache = new Map<string, ProcessOwner>();
  const orphanOf = (hostID: string): ProcessOwner => {
    let o = orphanCache.get(hostID);
    if (!o) orphanCache.set(hostID, (o = [pseudo(`${orphans!.idPrefix}${hostID}`, orphans!.label, hostnameOf(hostID), 'square')]));
    return o;
  };

  /** the view's nodes owning an endpoint; null: nothing the view has (then the address is drawn) */
  const ownerCache = new Map<string, ProcessOwner | null>();
  const owner = (endpointID: string): ProcessOwner | null => {
    const cached = ownerCache.get(endpointID);
    if (cached !== undefined) return cached;
    const e = endpoints[endpointID];
    const hostNodeID = latest(e, KEYS.hostNodeID);
    const hostID = hostNodeID ? ids.hostIDOf(hostNodeID) : (parseEndpointID(endpointID)?.scope ?? '');
    const pid = latest(e, KEYS.pid);
    let result: ProcessOwner | null = null;
    if (pid && hostID) {
      const of = source.ofProcess(ids.process(hostID, pid), hostID);
      result = of ?? (orphans ? orphanOf(hostID) : null);
    }
    if (result === null && view === 'hosts' && hostID && own.has(ids.host(hostID))) result = [ids.host(hostID)];
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
  const edge = (src: string, dst: string) => {
    if (src === dst) return;
    let set = edges.get(src);
    if (!set) edges.set(src, (set = new Set()));
    set.add(dst);
  };
  for (const from in endpoints) {
    const adj = endpoints[from]!.adjacency;
    if (adj.length === 0) continue;
    const a = owner(from);
    if (a === NONE) continue;
    for (const to of adj) {
      const b = owner(to);
      if ((a === null && b === null) || b === NONE) continue; // neither side is anything we draw, or one is filtered out
      const srcs = a ?? [unowned(from, false)];
      const dsts = b ?? [unowned(to, true)];
      for (const src of srcs) for (const dst of dsts) if (src !== null && dst !== null) edge(src, dst);
    }
  }

  // the options that look at the graph
  const drop = new Set<string>();
  if (options.values.pseudo === 'hide') for (const id of pseudos.keys()) if (!INTERNET.has(id)) drop.add(id);
  const kept = (id: string) => (own.has(id) || pseudos.has(id)) && !drop.has(id);
  const inDegree = new Map<string, number>();
  for (const [src, set] of edges) {
    if (!kept(src)) continue;
    for (const dst of set) if (kept(dst)) inDegree.set(dst, (inDegree.get(dst) ?? 0) + 1);
  }
  const outDegree = (id: string) => {
    let n = 0;
    for (const dst of edges.get(id) ?? NONE) if (kept(dst)) n++;
    return n;
  };
  const unconnected = options.values.unconnected === 'hide';
  for (const id of [...own.keys(), ...pseudos.keys()]) {
    if (drop.has(id) || inDegree.has(id) || outDegree(id) > 0) continue;
    if (unconnected || pseudos.has(id)) drop.add(id);
  }
  const filtered = source.filtered + drop.size;

  const nodes = new Map<string, NodeSummary>();
  const put = (n: NodeSummary) => {
    if (drop.has(n.id)) return;
    const set = edges.get(n.id);
    if (set) n.adjacency = [...set].filter((id) => !drop.has(id) && (own.has(id) || pseudos.has(id))).sort();
    const prev = previous?.get(n.id);
    nodes.set(n.id, prev && sameSummary(prev, n) ? prev : n);
  };
  for (const n of own.values()) put(n);
  for (const n of pseudos.values()) put(n);
  return { nodes, filtered };
}

/** Edges and node counts, as Scope's topology list reports them. */
export function stats(t: RenderedTopology): { node_count: number; nonpseudo_node_count: number; edge_count: number; filtered_nodes: number } {
  let nonpseudo = 0;
  let edgesCount = 0;
  for (const n of t.nodes.values()) {
    if (!n.pseudo) nonpseudo++;
    edgesCount += n.adjacency.length;
  }
  return { node_count: t.nodes.size, nonpseudo_node_count: nonpseudo, edge_count: edgesCount, filtered_nodes: t.filtered };
}
