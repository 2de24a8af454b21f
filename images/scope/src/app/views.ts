import type { ReportStore } from './store.ts';
import { isRenderedName, RENDERED, renderTopology, stats, type NodeSummary, type RenderedName, type RenderedTopology } from './render.ts';

export interface Rendered extends RenderedTopology {
  version: number;
  /** each node's summary as JSON, for cheap diffs between versions */
  json: Map<string, string>;
}

export interface Diff {
  add: NodeSummary[];
  update: NodeSummary[];
  remove: string[];
}

/** Renders topologies lazily from the store's merged report and caches them per store version. */
export class Views {
  private readonly cache = new Map<RenderedName, Rendered>();

  constructor(private readonly store: ReportStore) {}

  get(name: RenderedName): Rendered {
    const cached = this.cache.get(name);
    if (cached && cached.version === this.store.version) return cached;
    const version = this.store.version;
    const t = renderTopology(this.store.report(), name);
    const json = new Map<string, string>();
    for (const [id, n] of t.nodes) {
      const prev = cached?.json.get(id);
      const s = JSON.stringify(n);
      // keep the previous summary object when nothing changed, so diffs and clients see the same node
      if (prev === s) t.nodes.set(id, cached!.nodes.get(id)!);
      json.set(id, prev === s ? prev : s);
    }
    const r: Rendered = { nodes: t.nodes, json, version };
    this.cache.set(name, r);
    return r;
  }

  list(): { name: string; id: RenderedName; url: string; rank: number; stats: ReturnType<typeof stats> }[] {
    const out = [];
    let rank = 0;
    for (const d of RENDERED) {
      rank++;
      const r = this.get(d.id);
      // pods only where Kubernetes is reported
      if (d.id === 'pods' && Object.keys(this.store.report().topologies.Pod?.nodes ?? {}).length === 0) continue;
      out.push({ name: d.name, id: d.id, url: `/api/topology/${d.id}`, rank, stats: stats(r) });
    }
    return out;
  }

  static isName(s: string): s is RenderedName {
    return isRenderedName(s);
  }
}

/** What changed from `prev` to `next` (prev undefined: everything is added). */
export function diff(prev: Rendered | undefined, next: Rendered): Diff {
  const d: Diff = { add: [], update: [], remove: [] };
  if (!prev) {
    d.add = [...next.nodes.values()];
    return d;
  }
  for (const [id, s] of next.json) {
    const before = prev.json.get(id);
    if (before === undefined) d.add.push(next.nodes.get(id)!);
    else if (before !== s) d.update.push(next.nodes.get(id)!);
  }
  for (const id of prev.json.keys()) if (!next.json.has(id)) d.remove.push(id);
  return d;
}

export function isEmpty(d: Diff): boolean {
  return d.add.length === 0 && d.update.length === 0 && d.remove.length === 0;
}
