import { dict, KEYS, mergeInto, mergeReports, makeReport, type Dict, type Report, type TopologyName } from '../report/index.ts';

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
  /** the merge of this probe's reports */
  merged: Report;
  /** per topology, per node: when a report last carried it */
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
 * The view of all probes is merged from the probes' merges when read after a change, so ingestion costs
 * the same whatever the number of viewers, and viewing (at most once a second per websocket) costs the same
 * whatever the rate of reports. `version` changes whenever the view may have changed, so renders can be
 * cached per version.
 */
export class ReportStore {
  readonly windowMs: number;
  private readonly probeForgetMs: number;
  private readonly now: () => number;
  private readonly probesByID = new Map<string, ProbeState>();
  private merged: Report = makeReport('merged');
  private dirty = false;
  version = 0;
  /** reports accepted since start */
  received = 0;

  constructor(opts: StoreOptions = {}) {
    this.windowMs = opts.windowMs ?? 15_000;
    this.probeForgetMs = opts.probeForgetMs ?? 10 * 60_000;
    this.now = opts.now ?? Date.now;
  }

  add(probeID: string, report: Report, meta: { version?: string } = {}): void {
    const at = this.now();
    let p = this.probesByID.get(probeID);
    if (!p) {
      p = { id: probeID, hostname: '', version: '', lastSeen: at, merged: makeReport(probeID), seen: {} };
      this.probesByID.set(probeID, p);
    }
    p.lastSeen = at;
    mergeInto(p.merged, report);
    for (const name in report.topologies) {
      const nodes = report.topologies[name as TopologyName]!.nodes;
      const seen = (p.seen[name as TopologyName] ??= dict<number>());
      for (const id in nodes) seen[id] = at;
    }
    const host = firstHost(report);
    if (host.hostname) p.hostname = host.hostname;
    p.version = meta.version || host.version || p.version;
    this.dirty = true; // the view of all probes is merged again when next read (at most once per change)
    this.received++;
    this.version++;
  }

  /** Drops nodes no report of the window carried (and long-silent probes); returns whether anything changed. */
  prune(): boolean {
    const now = this.now();
    const cutoff = now - this.windowMs;
    let changed = false;
    for (const [id, p] of this.probesByID) {
      for (const name in p.seen) {
        const seen = p.seen[name as TopologyName]!;
        const nodes = p.merged.topologies[name as TopologyName]?.nodes;
        for (const nodeID in seen) {
          if (seen[nodeID]! >= cutoff) continue;
          delete seen[nodeID];
          if (nodes) delete nodes[nodeID];
          changed = true;
        }
      }
      if (p.lastSeen < cutoff && hasNodes(p.merged)) {
        p.merged = makeReport(p.id);
        p.seen = {};
        changed = true;
      }
      if (p.lastSeen < now - this.probeForgetMs) this.probesByID.delete(id);
    }
    if (changed) {
      this.dirty = true;
      this.version++;
    }
    return changed;
  }

  /** The merge of what every probe reported within the window. Treat as read-only. */
  report(): Report {
    if (this.dirty) {
      const probes = [...this.probesByID.values()].sort((a, b) => a.lastSeen - b.lastSeen);
      this.merged = mergeReports(
        probes.map((p) => p.merged),
        'merged',
      );
      this.dirty = false;
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
