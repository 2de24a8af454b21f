import { KEYS, mergeInto, mergeReports, makeReport, type Report } from '../report/index.ts';

export interface ProbeInfo {
  id: string;
  hostname: string;
  version: string;
  /** ISO time of its last report */
  lastSeen: string;
}

interface Entry {
  at: number;
  report: Report;
}

interface ProbeState {
  id: string;
  hostname: string;
  version: string;
  lastSeen: number;
  entries: Entry[];
}

export interface StoreOptions {
  /** how long a report counts, ms (Scope: 15 s) */
  windowMs?: number;
  /** how long a silent probe stays listed in /api/probes, ms */
  probeForgetMs?: number;
  now?: () => number;
}

/**
 * The app's reports: per probe, the reports received within the window. The merged view is kept up to
 * date incrementally as reports arrive and rebuilt from what is left when reports fall out of the window.
 * `version` changes whenever the merged view may have changed, so renders can be cached per version.
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
      p = { id: probeID, hostname: '', version: '', lastSeen: at, entries: [] };
      this.probesByID.set(probeID, p);
    }
    p.lastSeen = at;
    p.entries.push({ at, report });
    const host = firstHost(report);
    if (host.hostname) p.hostname = host.hostname;
    p.version = meta.version || host.version || p.version;
    if (!this.dirty) mergeInto(this.merged, report);
    this.received++;
    this.version++;
  }

  /** Drops reports older than the window (and long-silent probes); returns whether anything changed. */
  prune(): boolean {
    const now = this.now();
    const cutoff = now - this.windowMs;
    let changed = false;
    for (const [id, p] of this.probesByID) {
      let drop = 0;
      while (drop < p.entries.length && p.entries[drop]!.at < cutoff) drop++;
      if (drop) {
        p.entries.splice(0, drop);
        changed = true;
      }
      if (p.entries.length === 0 && p.lastSeen < now - this.probeForgetMs) this.probesByID.delete(id);
    }
    if (changed) {
      this.dirty = true;
      this.version++;
    }
    return changed;
  }

  /** The merge of every in-window report of every probe. Treat as read-only. */
  report(): Report {
    if (this.dirty) {
      const all: Entry[] = [];
      for (const p of this.probesByID.values()) all.push(...p.entries);
      all.sort((a, b) => a.at - b.at);
      this.merged = mergeReports(
        all.map((e) => e.report),
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

  /** Reports currently held (all probes). */
  size(): number {
    let n = 0;
    for (const p of this.probesByID.values()) n += p.entries.length;
    return n;
  }
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
