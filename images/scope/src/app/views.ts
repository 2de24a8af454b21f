import type { ReportStore } from './store.ts';
import { isRenderedName, RENDERED, renderTopology, stats, type NodeSummary, type RenderedName, type RenderedTopology } from './render.ts';

export interface Rendered extends RenderedTopology {
  version: number;
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
    // a summary equal to the previous render's is replaced by that one: diffs compare summaries by identity
    const t = renderTopology(this.store.report(), name, cached?.nodes);
    const r: Rendered = { nodes: t.nodes, version };
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
  for (const [id, n] of next.nodes) {
    const before = prev.nodes.get(id);
    if (before === undefined) d.add.push(n);
    else if (before !== n) d.update.push(n);
  }
  for (const id of prev.nodes.keys()) if (!next.nodes.has(id)) d.remove.push(id);
  return d;
}

export function isEmpty(d: Diff): boolean {
  return d.add.length === 0 && d.update.length === 0 && d.remove.length === 0;
}
