import {
  dict,
  KEYS,
  makeNode,
  makeReport,
  makeTopology,
  MAX_SAMPLES,
  mergeInto,
  mergeNode,
  mergeReports,
  union,
  type Dict,
  type Metric,
  type Node,
  type Report,
  type Topology,
  type TopologyName,
} from '../report/index.ts';

export interface ProbeInfo {
  id: string;
  hostname: string;
  version: string;
  /** ISO time of its last report */
  lastSeen: string;
}

interface ProbeState {
  id: string;
  hostname: string;
  version: string;
  lastSeen: number;
  /** the merge of this probe's reports; its nodes are updated in place (see absorbNode) */
  merged: Report;
  /** per topology, per node: when a report last carried it (ms since the store's epoch: small integers, stored unboxed) */
  seen: Partial<Record<TopologyName, Dict<number>>>;
}

export interface StoreOptions {
  /** how long a report counts, ms (Scope: 15 s) */
  windowMs?: number;
  /** how long a silent probe stays listed in /api/probes, ms */
  probeForgetMs?: number;
  now?: () => number;
}

/**
 * The app's reports, per probe, over a window (15 s, as Scope's app). Each probe's reports are merged as
 * they arrive, and every node remembers when a report last carried it; a node no report of the window
 * carried any more is dropped — what merging the window's reports anew would give, without keeping every
 * report (Scope's delta reports leave unchanged nodes out, and its full reports come well within the window).
 *
 * The view of all probes is kept up to date as reports arrive rather than merged anew: a node only one
 * probe reports (nearly all of them: each probe reports its own host) is that probe's node itself, updated
 * in place by its reports; only nodes several probes report (e.g. an endpoint both ends of a connection
 * see) are merged again, when the view is next read. So a report costs the same whatever the number of
 * probes, reading the view costs what changed since the last read, and neither makes copies of every node
 * (garbage that outlives the young generation, the bulk of the app's memory when it was merged anew).
 * The result is exactly what merging every probe's merge anew, oldest probe first, would give (tests check).
 * `version` changes whenever the view may have changed, so renders can be cached per version.
 */
export class ReportStore {
  readonly windowMs: number;
  private readonly probeForgetMs: number;
  private readonly now: () => number;
  private readonly probesByID = new Map<string, ProbeState>();
  /** the view of all probes: nodes shared with the probes' merges, or merged for nodes several report */
  private readonly merged: Report = makeReport('merged');
  /** per topology, per node id: how many probes hold the node */
  private readonly owners: Partial<Record<TopologyName, Map<string, number>>> = {};
  /** nodes held by several probes whose merge in the view is out of date */
  private readonly stale: Partial<Record<TopologyName, Set<string>>> = {};
  /** the view's topology fields, DNS, timestamps: merged anew (they are small) when read after a change */
  private metaStale = false;
  /** probes in the order the view merges them (oldest report first), or undefined when it must be sorted again */
  private order: ProbeState[] | undefined = [];
  /** probes that moved in that order since the view was read: their shared nodes may merge differently */
  private readonly moved = new Set<ProbeState>();
  private readonly epoch: number;
  version = 0;
  /** reports accepted since start */
  received = 0;

  constructor(opts: StoreOptions = {}) {
    this.windowMs = opts.windowMs ?? 15_000;
    this.probeForgetMs = opts.probeForgetMs ?? 10 * 60_000;
    this.now = opts.now ?? Date.now;
    this.epoch = this.now();
  }

  add(probeID: string, report: Report, meta: { version?: string } = {}): void {
    const at = this.now();
    let p = this.probesByID.get(probeID);
    if (!p) {
      p = { id: probeID, hostname: '', version: '', lastSeen: at, merged: makeReport(probeID), seen: {} };
      this.probesByID.set(probeID, p);
    }
    // unless it already was the newest, the probe moves in the merge order, which may change who wins ties
    // in the nodes it shares with other probes
    const stillLast = this.order !== undefined && this.order[this.order.length - 1] === p && at >= p.lastSeen;
    p.lastSeen = at;
    if (!stillLast) {
      this.order = undefined;
      this.moved.add(p);
    }
    const stamp = at - this.epoch;
    // report-level fields and topologies' labels and templates (the nodes are absorbed below)
    mergeInto(p.merged, withoutNodes(report));
    for (const name in report.topologies) {
      const topology = name as TopologyName;
      const nodes = report.topologies[topology]!.nodes;
      const target = p.merged.topologies[topology]!.nodes;
      const seen = (p.seen[topology] ??= dict<number>());
      for (const id in nodes) {
        seen[id] = stamp;
        const t = target[id];
        if (t) {
          absorbNode(t, nodes[id]!, this.windowMs);
          if (this.ownersOf(topology).get(id)! > 1) this.staleOf(topology).add(id);
        } else {
          const n = makeNode(id, nodes[id]!.topology);
          absorbNode(n, nodes[id]!, this.windowMs);
          target[id] = n;
          this.gained(topology, id, n);
        }
      }
    }
    const host = firstHost(report);
    if (host.hostname) p.hostname = host.hostname;
    p.version = meta.version || host.version || p.version;
    this.metaStale = true;
    this.received++;
    this.version++;
  }

  /** Drops nodes no report of the window carried (and long-silent probes); returns whether anything changed. */
  prune(): boolean {
    const now = this.now();
    const cutoff = now - this.windowMs;
    const seenCutoff = cutoff - this.epoch;
    let changed = false;
    for (const [id, p] of this.probesByID) {
      for (const name in p.seen) {
        const topology = name as TopologyName;
        const seen = p.seen[topology]!;
        const nodes = p.merged.topologies[topology]?.nodes;
        for (const nodeID in seen) {
          if (seen[nodeID]! >= seenCutoff) continue;
          delete seen[nodeID];
          if (nodes?.[nodeID]) {
            delete nodes[nodeID];
            this.lost(topology, nodeID);
          }
          changed = true;
        }
      }
      const forget = p.lastSeen < now - this.probeForgetMs;
      if ((p.lastSeen < cutoff || forget) && hasNodes(p.merged)) {
        this.dropAll(p);
        p.merged = makeReport(p.id);
        p.seen = {};
        changed = true;
      }
      if (forget) {
        this.probesByID.delete(id);
        this.moved.delete(p);
        this.order = undefined;
        changed = true;
      }
    }
    if (changed) {
      this.metaStale = true;
      this.version++;
    }
    return changed;
  }

  /** The merge of what every probe reported within the window. Treat as read-only. */
  report(): Report {
    const order = this.ordered();
    for (const p of this.moved) this.staleShared(p);
    this.moved.clear();
    for (const name in this.stale) {
      const topology = name as TopologyName;
      const stale = this.stale[topology]!;
      if (stale.size === 0) continue;
      const nodes = this.viewTopology(topology).nodes;
      for (const id of stale) {
        let n: Node | undefined;
        for (const p of order) {
          const pn = p.merged.topologies[topology]?.nodes[id];
          if (!pn) continue;
          if (!n) n = makeNode(id, pn.topology);
          mergeNode(n, pn);
        }
        if (n) nodes[id] = n;
      }
      stale.clear();
    }
    if (this.metaStale) {
      this.mergeMeta(order);
      this.metaStale = false;
    }
    this.merged.window = this.windowMs;
    return this.merged;
  }

  probes(): ProbeInfo[] {
    return [...this.probesByID.values()]
      .map((p) => ({ id: p.id, hostname: p.hostname, version: p.version, lastSeen: new Date(p.lastSeen).toISOString() }))
      .sort((a, b) => a.id.localeCompare(b.id));
  }

  /** Nodes currently held across probes (before merging probes together). */
  size(): number {
    let n = 0;
    for (const p of this.probesByID.values()) for (const name in p.seen) n += Object.keys(p.seen[name as TopologyName]!).length;
    return n;
  }

  /**
   * The merge of every probe's merge made anew, oldest probe first: what report() keeps up to date
   * incrementally (for checks; a copy of every node).
   */
  rebuilt(): Report {
    const out = mergeReports(
      this.ordered().map((p) => p.merged),
      'merged',
    );
    out.window = this.windowMs;
    return out;
  }

  /** Probes oldest report first, as the view merges them (ties: the order they first reported in). */
  private ordered(): ProbeState[] {
    this.order ??= [...this.probesByID.values()].sort((a, b) => a.lastSeen - b.lastSeen);
    return this.order;
  }

  private ownersOf(topology: TopologyName): Map<string, number> {
    return (this.owners[topology] ??= new Map());
  }

  private staleOf(topology: TopologyName): Set<string> {
    return (this.stale[topology] ??= new Set());
  }

  private viewTopology(topology: TopologyName): Topology {
    let t = this.merged.topologies[topology];
    if (!t) this.merged.topologies[topology] = t = makeTopology();
    return t;
  }

  /** A probe's merge gained node `id` (its object `n`). */
  private gained(topology: TopologyName, id: string, n: Node): void {
    const owners = this.ownersOf(topology);
    const count = (owners.get(id) ?? 0) + 1;
    owners.set(id, count);
    if (count === 1) this.viewTopology(topology).nodes[id] = n;
    else this.staleOf(topology).add(id);
  }

  /** A probe's merge lost node `id`. */
  private lost(topology: TopologyName, id: string): void {
    const owners = this.ownersOf(topology);
    const count = owners.get(id)! - 1;
    const nodes = this.viewTopology(topology).nodes;
    if (count === 0) {
      owners.delete(id);
      delete nodes[id];
      this.stale[topology]?.delete(id);
      return;
    }
    owners.set(id, count);
    if (count > 1) {
      this.staleOf(topology).add(id);
      return;
    }
    // one probe left: the view shares its node again
    for (const p of this.probesByID.values()) {
      const n = p.merged.topologies[topology]?.nodes[id];
      if (n) {
        nodes[id] = n;
        break;
      }
    }
    this.stale[topology]?.delete(id);
  }

  private dropAll(p: ProbeState): void {
    const merged = p.merged;
    p.merged = makeReport(p.id); // so that lost() finds the remaining owner among the other probes
    for (const name in merged.topologies) {
      const topology = name as TopologyName;
      for (const id in merged.topologies[topology]!.nodes) this.lost(topology, id);
    }
  }

  /** Marks the nodes probe `p` shares with others for merging again. */
  private staleShared(p: ProbeState): void {
    for (const name in p.merged.topologies) {
      const topology = name as TopologyName;
      const owners = this.owners[topology];
      if (!owners) continue;
      for (const id in p.merged.topologies[topology]!.nodes) if (owners.get(id)! > 1) this.staleOf(topology).add(id);
    }
  }

  /** The view's report-level fields and topologies' labels and templates, merged anew from every probe. */
  private mergeMeta(order: ProbeState[]): void {
    const m = this.merged;
    const head = makeReport('merged');
    for (const p of order) mergeInto(head, withoutNodes(p.merged));
    m.ts = head.ts;
    if (m.ts === undefined) delete m.ts;
    m.shortcut = head.shortcut;
    m.sampling = head.sampling;
    m.dns = head.dns;
    m.plugins = head.plugins;
    const topologies: Report['topologies'] = {};
    for (const name in head.topologies) {
      const topology = name as TopologyName;
      const t = head.topologies[topology]!;
      t.nodes = this.viewTopology(topology).nodes;
      topologies[topology] = t;
    }
    // a topology no probe holds any more leaves the view (its nodes are gone already)
    m.topologies = topologies;
  }
}

/** A report's fields and topologies without their nodes (for mergeInto). */
function withoutNodes(r: Report): Report {
  const topologies: Report['topologies'] = {};
  for (const name in r.topologies) topologies[name as TopologyName] = { ...r.topologies[name as TopologyName]!, nodes: EMPTY };
  return { ...r, topologies };
}
const EMPTY: Dict<Node> = Object.freeze(dict<Node>());

/**
 * Merges node `s` (from a report) into a probe's node `t` with mergeNode's rules, but updating `t`'s own
 * parts in place rather than replacing them: a newer `latest` value overwrites the entry's fields, newer
 * samples are appended to the metric's samples. Entries and metrics `t` takes from `s` are copied, so
 * nothing of the report is kept (and one report given to two probes leaves them independent). The report's
 * objects die young; the probe's stay where they are, and the old generation does not churn with every
 * report. Samples older than the window (before the newest) are dropped, as Scope's app only merges the
 * reports of its window.
 */
function absorbNode(t: Node, s: Node, windowMs: number): void {
  if (!t.topology) t.topology = s.topology;
  for (const k in s.latest) {
    const se = s.latest[k]!;
    const te = t.latest[k];
    if (!te) t.latest[k] = { timestamp: se.timestamp, value: se.value };
    else if (se.timestamp > te.timestamp || (se.timestamp === te.timestamp && se.value !== te.value)) {
      te.timestamp = se.timestamp;
      te.value = se.value;
    }
  }
  for (const k in s.latestControls) {
    const se = s.latestControls[k]!;
    const te = t.latestControls[k];
    if (!te || se.timestamp >= te.timestamp) t.latestControls[k] = { timestamp: se.timestamp, value: { ...se.value } };
  }
  absorbSets(t.sets, s.sets);
  absorbSets(t.parents, s.parents);
  if (s.adjacency.length) t.adjacency = t.adjacency.length ? union(t.adjacency, s.adjacency) : s.adjacency;
  for (const k in s.metrics) {
    const sm = s.metrics[k]!;
    const tm = t.metrics[k];
    if (tm) absorbMetric(tm, sm, windowMs);
    else {
      const m: Metric = { samples: sm.samples.slice(), min: sm.min, max: sm.max };
      trimSamples(m, windowMs);
      t.metrics[k] = m;
    }
  }
  for (const k in s.counters) t.counters[k] = (t.counters[k] ?? 0) + s.counters[k]!;
}

/** Sorted string lists are never mutated once in a node (they are shared): unions make new ones when needed. */
function absorbSets(t: Dict<string[]>, s: Dict<string[]>): void {
  for (const k in s) {
    const sv = s[k]!;
    const tv = t[k];
    const u = tv ? union(tv, sv) : sv;
    if (u !== tv) t[k] = u;
  }
}

/** mergeMetric's rules (samples by time, one per instant, the later report's value), in place. */
function absorbMetric(t: Metric, s: Metric, windowMs: number): void {
  t.min = Math.min(t.min, s.min);
  t.max = Math.max(t.max, s.max);
  const ts = t.samples;
  for (const sample of s.samples) {
    const last = ts[ts.length - 1];
    if (!last || sample.date > last.date) ts.push({ date: sample.date, value: sample.value });
    else {
      // out of order (rare): insert by date, replacing a sample of the same instant
      let i = ts.length - 1;
      while (i > 0 && ts[i - 1]!.date >= sample.date) i--;
      if (ts[i]!.date === sample.date) ts[i] = { date: sample.date, value: sample.value };
      else if (ts[i]!.date > sample.date) ts.splice(i, 0, { date: sample.date, value: sample.value });
      else ts.splice(i + 1, 0, { date: sample.date, value: sample.value });
    }
  }
  trimSamples(t, windowMs);
}

function trimSamples(m: Metric, windowMs: number): void {
  const ts = m.samples;
  if (ts.length === 0) return;
  const from = ts[ts.length - 1]!.date - windowMs;
  let drop = Math.max(0, ts.length - MAX_SAMPLES);
  while (drop < ts.length - 1 && ts[drop]!.date < from) drop++;
  if (drop > 0) ts.splice(0, drop);
}

function hasNodes(r: Report): boolean {
  for (const name in r.topologies) for (const _ in r.topologies[name as TopologyName]!.nodes) return true;
  return false;
}

function firstHost(r: Report): { hostname?: string; version?: string } {
  const nodes = r.topologies.Host?.nodes;
  if (!nodes) return {};
  for (const id in nodes) {
    const n = nodes[id]!;
    return { hostname: n.latest[KEYS.hostName]?.value, version: n.latest[KEYS.scopeVersion]?.value };
  }
  return {};
}
