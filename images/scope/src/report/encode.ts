import { gzipSync } from 'node:zlib';
import { encodeMsgpack, type WireValue } from './msgpack.ts';
import { formatRFC3339, goBinaryTime } from './time.ts';
import { TOPOLOGY_NAMES, type Dict, type Node, type Report, type Topology } from './types.ts';
import type { ReportEncoding } from './decode.ts';

type TimeWriter = (ms: number) => string | Buffer;

/**
 * The report as Scope's Go codec lays it out (field names, nesting). Times are Go binary times for
 * msgpack (as Scope's probe sends them) and RFC 3339 strings for JSON.
 */
export function reportToWire(r: Report, encoding: ReportEncoding): { [key: string]: WireValue } {
  const time: TimeWriter = encoding === 'msgpack' ? goBinaryTime : formatRFC3339;
  const out: { [key: string]: WireValue } = {};
  if (r.ts !== undefined) out.TS = time(r.ts);
  for (const name of TOPOLOGY_NAMES) {
    const t = r.topologies[name];
    if (t) out[name] = topologyToWire(t, time);
  }
  const dns: { [key: string]: WireValue } = {};
  for (const addr in r.dns) {
    const rec = r.dns[addr]!;
    dns[addr] = { forward: rec.forward.length ? rec.forward : undefined, reverse: rec.reverse.length ? rec.reverse : undefined };
  }
  out.DNS = dns;
  out.Sampling = { Count: r.sampling.count, Total: r.sampling.total };
  out.Window = Math.round(r.window * 1e6);
  out.Shortcut = r.shortcut;
  out.Plugins = r.plugins as WireValue;
  out.ID = r.id;
  return out;
}

function topologyToWire(t: Topology, time: TimeWriter): { [key: string]: WireValue } {
  const nodes: { [key: string]: WireValue } = {};
  for (const id in t.nodes) nodes[id] = nodeToWire(t.nodes[id]!, time);
  return {
    shape: t.shape,
    tag: t.tag,
    label: t.label,
    label_plural: t.labelPlural,
    nodes: Object.keys(nodes).length ? nodes : undefined,
    controls: nonEmpty(t.controls as unknown as Dict<WireValue>),
    metadata_templates: nonEmpty(t.metadataTemplates as Dict<WireValue>),
    metric_templates: nonEmpty(t.metricTemplates as Dict<WireValue>),
    table_templates: nonEmpty(t.tableTemplates as Dict<WireValue>),
  };
}

function nonEmpty(d: Dict<WireValue>): Dict<WireValue> | undefined {
  for (const _ in d) return d;
  return undefined;
}

function nodeToWire(n: Node, time: TimeWriter): { [key: string]: WireValue } {
  const out: { [key: string]: WireValue } = { id: n.id, topology: n.topology };
  if (hasKeys(n.counters)) out.counters = n.counters;
  out.sets = hasKeys(n.sets) ? n.sets : null;
  if (n.adjacency.length) out.adjacency = n.adjacency;
  if (hasKeys(n.latest)) {
    const latest: { [key: string]: WireValue } = {};
    for (const k in n.latest) {
      const e = n.latest[k]!;
      latest[k] = { timestamp: time(e.timestamp), value: e.value };
    }
    out.latest = latest;
  }
  if (hasKeys(n.metrics)) {
    const metrics: { [key: string]: WireValue } = {};
    for (const k in n.metrics) {
      const m = n.metrics[k]!;
      metrics[k] = { samples: m.samples.map((s) => ({ date: time(s.date), value: s.value })), min: m.min, max: m.max };
    }
    out.metrics = metrics;
  }
  out.parents = hasKeys(n.parents) ? n.parents : null;
  if (hasKeys(n.latestControls)) {
    const lc: { [key: string]: WireValue } = {};
    for (const k in n.latestControls) {
      const e = n.latestControls[k]!;
      lc[k] = { timestamp: time(e.timestamp), value: { dead: e.value.dead } };
    }
    out.latestControls = lc;
  }
  out.children = null;
  return out;
}

function hasKeys(d: object): boolean {
  for (const _ in d) return true;
  return false;
}

export interface EncodeOptions {
  /** msgpack (default, what Scope probes send) or json */
  encoding?: ReportEncoding;
  /** gzip the body (default true, as Scope probes do) */
  gzip?: boolean;
}

export interface EncodedReport {
  body: Buffer;
  /** headers to send with the body */
  headers: { 'Content-Type': string; 'Content-Encoding'?: string };
}

/** Encodes a report for `POST /api/report`, in the format an unmodified Scope app reads too. */
export function encodeReport(r: Report, opts: EncodeOptions = {}): EncodedReport {
  const encoding = opts.encoding ?? 'msgpack';
  const wire = reportToWire(r, encoding);
  const raw = encoding === 'msgpack' ? encodeMsgpack(wire) : Buffer.from(JSON.stringify(wire, jsonReplacer));
  const gzip = opts.gzip ?? true;
  const headers: EncodedReport['headers'] = { 'Content-Type': encoding === 'msgpack' ? 'application/msgpack' : 'application/json' };
  if (gzip) headers['Content-Encoding'] = 'gzip';
  return { body: gzip ? gzipSync(raw, { level: 6 }) : raw, headers };
}

/** The report as Scope-shaped JSON text (times as RFC 3339), e.g. for `GET /api/report`. */
export function reportToJSON(r: Report, space?: number): string {
  return JSON.stringify(reportToWire(r, 'json'), jsonReplacer, space);
}

function jsonReplacer(_key: string, value: unknown): unknown {
  return typeof value === 'number' && !Number.isFinite(value) ? 0 : value;
}
