import { dict, makeNode, makeTopology, TOPOLOGY_DEFAULTS, type Dict, type Metric, type Node, type Report, type Topology, type TopologyName } from './types.ts';

/** Samples kept per metric after a merge (about the 15 s window at one sample a second). */
export const MAX_SAMPLES = 30;

/**
 * Merges `src` into `target` with Scope's rules, modifying `target` and never sharing `src`'s mutable
 * parts: per `latest` key the newest timestamp wins (on a tie, `src`, the later report); sets, adjacency
 * and parents are unions; metrics merge their samples by time and keep the newest; DNS records union;
 * topology labels and templates are taken from whichever report has them.
 */
export function mergeInto(target: Report, src: Report): Report {
  if (src.ts !== undefined && (target.ts === undefined || src.ts > target.ts)) target.ts = src.ts;
  target.window = Math.max(target.window, src.window);
  target.shortcut = target.shortcut || src.shortcut;
  target.sampling = { count: target.sampling.count + src.sampling.count, total: target.sampling.total + src.sampling.total };
  for (const name in src.topologies) {
    const st = src.topologies[name as TopologyName]!;
    let tt = target.topologies[name as TopologyName];
    if (!tt) {
      tt = makeTopology();
      const d = TOPOLOGY_DEFAULTS[name as TopologyName];
      if (d) Object.assign(tt, d);
      target.topologies[name as TopologyName] = tt;
    }
    mergeTopology(tt, st);
  }
  for (const addr in src.dns) {
    const s = src.dns[addr]!;
    const t = target.dns[addr];
    target.dns[addr] = t ? { forward: union(t.forward, s.forward), reverse: union(t.reverse, s.reverse) } : { forward: [...s.forward], reverse: [...s.reverse] };
  }
  if (src.plugins.length) {
    const byID = new Map(target.plugins.map((p) => [String(p.id), p]));
    for (const p of src.plugins) byID.set(String(p.id), p);
    target.plugins = [...byID.values()];
  }
  return target;
}

/** A new report holding the merge of all `reports`, oldest first. */
export function mergeReports(reports: Iterable<Report>, id?: string): Report {
  const out: Report = { id: id ?? '', window: 0, shortcut: false, topologies: {}, dns: dict(), sampling: { count: 0, total: 0 }, plugins: [] };
  for (const r of reports) {
    mergeInto(out, r);
    if (id === undefined) out.id = r.id;
  }
  return out;
}

export function mergeTopology(t: Topology, s: Topology): void {
  if (s.shape) t.shape = s.shape;
  if (s.tag) t.tag = s.tag;
  if (s.label) t.label = s.label;
  if (s.labelPlural) t.labelPlural = s.labelPlural;
  for (const id in s.controls) t.controls[id] = { ...s.controls[id]! };
  for (const id in s.metadataTemplates) t.metadataTemplates[id] = s.metadataTemplates[id]!;
  for (const id in s.metricTemplates) t.metricTemplates[id] = s.metricTemplates[id]!;
  for (const id in s.tableTemplates) t.tableTemplates[id] = s.tableTemplates[id]!;
  for (const id in s.nodes) {
    const sn = s.nodes[id]!;
    const tn = t.nodes[id];
    if (tn) mergeNode(tn, sn);
    else t.nodes[id] = cloneNode(sn);
  }
}

export function cloneNode(n: Node): Node {
  const c = makeNode(n.id, n.topology);
  mergeNode(c, n);
  return c;
}

/** Merges node `s` into node `t` (see mergeInto for the rules). */
export function mergeNode(t: Node, s: Node): void {
  if (!t.topology) t.topology = s.topology;
  for (const k in s.latest) {
    const se = s.latest[k]!;
    const te = t.latest[k];
    // entries are never mutated, sharing is safe; an equal entry keeps the one held (the new one dies young)
    if (!te || se.timestamp > te.timestamp || (se.timestamp === te.timestamp && se.value !== te.value)) t.latest[k] = se;
  }
  for (const k in s.latestControls) {
    const se = s.latestControls[k]!;
    const te = t.latestControls[k];
    if (!te || se.timestamp >= te.timestamp) t.latestControls[k] = se;
  }
  mergeSets(t.sets, s.sets);
  mergeSets(t.parents, s.parents);
  if (s.adjacency.length) t.adjacency = t.adjacency.length ? union(t.adjacency, s.adjacency) : s.adjacency;
  for (const k in s.metrics) {
    const sm = s.metrics[k]!;
    const tm = t.metrics[k];
    t.metrics[k] = tm ? mergeMetric(tm, sm) : sm;
  }
  for (const k in s.counters) t.counters[k] = (t.counters[k] ?? 0) + s.counters[k]!;
}

/** Sorted string lists are treated as immutable once in a node: merges make new arrays. */
function mergeSets(t: Dict<string[]>, s: Dict<string[]>): void {
  for (const k in s) {
    const sv = s[k]!;
    const tv = t[k];
    t[k] = tv ? union(tv, sv) : sv;
  }
}

/** Union of two sorted, unique string lists; returns one of the inputs when it already is the union. */
export function union(a: string[], b: string[]): string[] {
  if (b.length === 0) return a;
  if (a.length === 0) return b;
  const out: string[] = [];
  let i = 0;
  let j = 0;
  let aOnly = true;
  let bOnly = true;
  while (i < a.length && j < b.length) {
    const x = a[i]!;
    const y = b[j]!;
    if (x === y) {
      out.push(x);
      i++;
      j++;
    } else if (x < y) {
      out.push(x);
      i++;
      bOnly = false;
    } else {
      out.push(y);
      j++;
      aOnly = false;
    }
  }
  if (i < a.length) bOnly = false;
  if (j < b.length) aOnly = false;
  if (aOnly) return a;
  if (bOnly) return b;
  while (i < a.length) out.push(a[i++]!);
  while (j < b.length) out.push(b[j++]!);
  return out;
}

/** Samples merged by time (one per instant), newest MAX_SAMPLES kept; min and max widened. */
export function mergeMetric(a: Metric, b: Metric): Metric {
  if (b.samples.length === 0) return { samples: a.samples, min: Math.min(a.min, b.min), max: Math.max(a.max, b.max) };
  if (a.samples.length === 0) return { samples: b.samples, min: Math.min(a.min, b.min), max: Math.max(a.max, b.max) };
  let samples;
  const aLast = a.samples[a.samples.length - 1]!.date;
  const bFirst = b.samples[0]!.date;
  if (bFirst > aLast) samples = a.samples.concat(b.samples);
  else {
    samples = [];
    let i = 0;
    let j = 0;
    while (i < a.samples.length || j < b.samples.length) {
      const x = a.samples[i];
      const y = b.samples[j];
      if (!y || (x && x.date < y.date)) {
        samples.push(x!);
        i++;
      } else if (!x || y.date < x.date) {
        samples.push(y);
        j++;
      } else {
        samples.push(y); // same instant: the later report's value
        i++;
        j++;
      }
    }
  }
  if (samples.length > MAX_SAMPLES) samples = samples.slice(samples.length - MAX_SAMPLES);
  return { samples, min: Math.min(a.min, b.min), max: Math.max(a.max, b.max) };
}
