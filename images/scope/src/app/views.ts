import type { ReportStore } from './store.ts';
import { renderTopology, stats, type NodeSummary, type RenderedTopology } from './render.ts';
import { isViewID, namespaceOptions, optionsKey, resolveOptions, viewDescription, VIEWS, type OptionGroup, type ViewID, type ViewOptions } from './topologies.ts';
import { KEYS } from '../report/index.ts';

export interface Rendered extends RenderedTopology {
  version: number;
}

export interface Diff {
  add: NodeSummary[];
  update: NodeSummary[];
  remove: string[];
}

type Stats = ReturnType<typeof stats>;

/** A view as GET /api/topology lists it (Scope's APITopologyDesc). */
export interface TopologyListing {
  id: ViewID;
  name: string;
  rank: number;
  hide_if_empty: boolean;
  options: OptionGroup[];
  url: string;
  stats: Stats;
  sub_topologies?: TopologyListing[];
}

/** Renders kept per view and options; a few more than one viewer's choices, so a client trying every value cannot grow it without end. */
const MAX_CACHED = 48;

/** Renders views lazily from the store's merged report and caches them per view, options and store version. */
export class Views {
  private readonly cache = new Map<string, Rendered>();

  constructor(private readonly store: ReportStore) {}

  /** A view with its default options, or those a query picks (400 for a value no option has). */
  get(view: ViewID, query: Record<string, unknown> = {}): Rendered {
    return this.render(view, resolveOptions(viewDescription(view), query));
  }

  private render(view: ViewID, options: ViewOptions): Rendered {
    const key = optionsKey(view, options);
    const cached = this.cache.get(key);
    if (cached && cached.version === this.store.version) return cached;
    const version = this.store.version;
    // a summary equal to the previous render's is replaced by that one: diffs compare summaries by identity
    const r: Rendered = { ...renderTopology(this.store.report(), view, options, cached?.nodes), version };
    this.cache.delete(key);
    this.cache.set(key, r);
    if (this.cache.size > MAX_CACHED) this.cache.delete(this.cache.keys().next().value!);
    return r;
  }

  /**
   * Every view, sub-topologies under their parent (by name, as Scope sorts them), each with its options and
   * the counts of its render with the query's options (the defaults where it names none). The Kubernetes
   * views are left out while no probe reports pods (Scope's hide_if_empty, decided here).
   */
  list(query: Record<string, unknown> = {}): TopologyListing[] {
    const namespaces = this.namespaces();
    const listing = (id: ViewID): TopologyListing => {
      const d = viewDescription(id);
      const options = d.namespaced ? [...d.options, namespaceOptions(namespaces)] : d.options;
      return { id, name: d.name, rank: d.rank, hide_if_empty: d.hideIfEmpty, options, url: `/api/topology/${id}`, stats: stats(this.get(id, query)) };
    };
    const hasPods = Object.keys(this.store.report().topologies.Pod?.nodes ?? {}).length > 0;
    const out: TopologyListing[] = [];
    for (const d of VIEWS) {
      if (d.parent || (d.hideIfEmpty && !hasPods)) continue;
      const top = listing(d.id);
      const subs = VIEWS.filter((s) => s.parent === d.id)
        .map((s) => listing(s.id))
        .sort((a, b) => a.name.localeCompare(b.name));
      if (subs.length) top.sub_topologies = subs;
      out.push(top);
    }
    return out;
  }

  /** The namespaces of the reported pods and services, sorted. */
  private namespaces(): string[] {
    const set = new Set<string>();
    const r = this.store.report();
    for (const t of [r.topologies.Pod, r.topologies.Service]) {
      for (const id in t?.nodes ?? {}) {
        const ns = t!.nodes[id]!.latest[KEYS.kubernetesNamespace]?.value;
        if (ns) set.add(ns);
      }
    }
    return [...set].sort();
  }

  static isName(s: string): s is ViewID {
    return isViewID(s);
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
