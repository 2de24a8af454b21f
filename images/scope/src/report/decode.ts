import { gunzipSync } from 'node:zlib';
import { decodeMsgpack, MsgpackError, utf8, type MsgMap, type MsgValue } from './msgpack.ts';
import { GO_ZERO_TIME_MS, parseGoBinaryTime, parseRFC3339 } from './time.ts';
import { DecodeError, MAX_NODES_PER_TOPOLOGY, tooManyNodes } from './errors.ts';
import { fastDecode, NOT_FAST } from './fast.ts';
import {
  dict,
  makeNode,
  makeReport,
  makeTopology,
  NODE_TOPOLOGY,
  TOPOLOGY_NAMES,
  type Control,
  type DNSRecord,
  type Dict,
  type JsonValue,
  type LatestControlEntry,
  type LatestEntry,
  type Metric,
  type Node,
  type PluginSpec,
  type Report,
  type Sample,
  type Template,
  type Topology,
  type TopologyName,
} from './types.ts';

export { DecodeError, MAX_NODES_PER_TOPOLOGY } from './errors.ts';

export type ReportEncoding = 'msgpack' | 'json';

export interface DecodeOptions {
  /** the request's Content-Type; msgpack unless it names JSON (the body is sniffed too) */
  contentType?: string;
  /** the request's Content-Encoding; gzip is also recognised by its magic bytes */
  contentEncoding?: string;
  /** largest inflated size accepted, bytes (default 64 MiB) */
  maxInflatedBytes?: number;
  /** most nodes a topology may hold (default MAX_NODES_PER_TOPOLOGY) */
  maxNodesPerTopology?: number;
}

const DEFAULT_MAX_INFLATED = 64 * 1024 * 1024;

/** Reads a report body as a Weave Scope probe (or ours) sends it. Throws DecodeError on anything else. */
export function decodeReport(body: Uint8Array, opts: DecodeOptions = {}): Report {
  if (body.length === 0) throw new DecodeError('empty report body');
  let bytes = body;
  const encoding = (opts.contentEncoding ?? '').trim().toLowerCase();
  const gzipMagic = body.length >= 2 && body[0] === 0x1f && body[1] === 0x8b;
  if (encoding && encoding !== 'gzip' && encoding !== 'x-gzip' && encoding !== 'identity') {
    throw new DecodeError(`unsupported Content-Encoding ${JSON.stringify(opts.contentEncoding)} (gzip or none)`);
  }
  if (encoding === 'gzip' || encoding === 'x-gzip' || gzipMagic) {
    if (!gzipMagic) throw new DecodeError('Content-Encoding is gzip but the body is not gzip data');
    const max = opts.maxInflatedBytes ?? DEFAULT_MAX_INFLATED;
    try {
      bytes = gunzipSync(body, { maxOutputLength: max });
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e.code === 'ERR_BUFFER_TOO_LARGE') throw new DecodeError(`report inflates to more than ${max} bytes`, 413);
      throw new DecodeError(`bad gzip data: ${e.message}`);
    }
    if (bytes.length === 0) throw new DecodeError('empty report body (after gunzip)');
  }
  const maxNodes = opts.maxNodesPerTopology ?? MAX_NODES_PER_TOPOLOGY;
  const type = (opts.contentType ?? '').split(';')[0]!.trim().toLowerCase();
  const looksJson = bytes[0] === 0x7b /* { */ || (isSpace(bytes[0]!) && firstNonSpace(bytes) === 0x7b);
  const json = type === 'application/json' || type.endsWith('+json') || (type !== 'application/msgpack' && looksJson);
  if (json) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
    } catch (err) {
      throw new DecodeError(`malformed JSON: ${(err as Error).message}`);
    }
    return reportFromValue(parsed, 'json', maxNodes);
  }
  const b0 = bytes[0]!;
  if (!((b0 >= 0x80 && b0 <= 0x8f) || b0 === 0xde || b0 === 0xdf)) {
    throw new DecodeError('not a Weave Scope report: the body is neither a msgpack map nor a JSON object');
  }
  const fast = fastDecode(bytes, topologyExtras, maxNodes);
  if (fast !== NOT_FAST) return fast;
  let value: MsgValue;
  try {
    value = decodeMsgpack(bytes);
  } catch (err) {
    if (err instanceof MsgpackError) throw new DecodeError(`malformed msgpack: ${err.message}`);
    throw err;
  }
  return reportFromValue(value, 'msgpack', maxNodes);
}

function isSpace(b: number): boolean {
  return b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
}
function firstNonSpace(bytes: Uint8Array): number | undefined {
  for (const b of bytes) if (!isSpace(b)) return b;
  return undefined;
}

const REPORT_FIELDS = new Set<string>([...TOPOLOGY_NAMES, 'TS', 'ID', 'Window', 'Shortcut', 'Plugins', 'DNS', 'Sampling']);

/**
 * Turns a decoded msgpack or JSON tree into a Report, checking every field's type. In msgpack mode strings
 * are latin1 (see msgpack.ts) and turned into text here; timestamps may be Go binary times or RFC 3339.
 */
export function reportFromValue(value: unknown, mode: 'msgpack' | 'json', maxNodesPerTopology = MAX_NODES_PER_TOPOLOGY): Report {
  const c = new Converter(mode, maxNodesPerTopology);
  return c.report(value);
}

/** A topology's fields other than its nodes (labels, templates, controls), checked; for the fast path. */
function topologyExtras(extras: MsgMap, name: TopologyName): Topology {
  return new Converter('msgpack').topology(extras, name);
}

class Converter {
  private readonly text: (s: string) => string;
  /** a default for latest entries that carry no timestamp (newer probes' `strs`) */
  private reportTime = Date.now();

  constructor(
    private readonly mode: 'msgpack' | 'json',
    private readonly maxNodes = MAX_NODES_PER_TOPOLOGY,
  ) {
    this.text = mode === 'msgpack' ? utf8 : (s) => s;
  }

  private fail(path: string, what: string, v: unknown): never {
    throw new DecodeError(`${path}: expected ${what}, got ${describe(v)}`);
  }

  private map(v: unknown, path: string): MsgMap | undefined {
    if (v === null || v === undefined) return undefined;
    if (typeof v !== 'object' || Array.isArray(v)) this.fail(path, 'a map', v);
    return v as MsgMap;
  }

  private str(v: unknown, path: string): string {
    if (typeof v !== 'string') this.fail(path, 'a string', v);
    return this.text(v);
  }

  private optStr(v: unknown, path: string): string | undefined {
    return v === null || v === undefined ? undefined : this.str(v, path);
  }

  private num(v: unknown, path: string): number {
    if (typeof v !== 'number') this.fail(path, 'a number', v);
    return v;
  }

  private bool(v: unknown, path: string): boolean {
    if (v === null || v === undefined) return false;
    if (typeof v !== 'boolean') this.fail(path, 'a boolean', v);
    return v;
  }

  private time(v: unknown, path: string): number {
    if (v === null || v === undefined) return GO_ZERO_TIME_MS;
    if (typeof v === 'number' && Number.isFinite(v)) return v;
    if (typeof v === 'string') {
      if (this.mode === 'msgpack') {
        const t = parseGoBinaryTime(v);
        if (t !== undefined) return t;
      }
      const t = parseRFC3339(this.mode === 'msgpack' ? utf8(v) : v);
      if (t !== undefined) return t;
    }
    this.fail(path, 'a time (Go binary time or RFC 3339)', v);
  }

  /** A list of strings, returned sorted and unique (Scope's StringSet / IDList). */
  private stringSet(v: unknown, path: string): string[] {
    if (v === null || v === undefined) return [];
    if (!Array.isArray(v)) this.fail(path, 'a list of strings', v);
    const out: string[] = new Array(v.length);
    let sorted = true;
    for (let i = 0; i < v.length; i++) {
      out[i] = this.str(v[i], `${path}[${i}]`);
      if (i > 0 && out[i]! <= out[i - 1]!) sorted = false;
    }
    return sorted ? out : [...new Set(out)].sort();
  }

  private sets(v: unknown, path: string): Dict<string[]> {
    const out = dict<string[]>();
    const m = this.map(v, path);
    if (!m) return out;
    for (const k in m) {
      const s = this.stringSet(m[k], `${path}.${k}`);
      if (s.length) out[k] = s;
    }
    return out;
  }

  report(v: unknown): Report {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) {
      throw new DecodeError(`not a Weave Scope report: expected a map of topologies, got ${describe(v)}`);
    }
    const m = v as MsgMap;
    let known = 0;
    for (const k in m) if (REPORT_FIELDS.has(k)) known++;
    if (known === 0) throw new DecodeError('not a Weave Scope report: none of its fields (Endpoint, Process, Host, ID, …) is present');

    const r = makeReport(this.optStr(m.ID, 'ID') ?? undefined);
    if (m.TS !== undefined && m.TS !== null) {
      r.ts = this.time(m.TS, 'TS');
      if (r.ts > GO_ZERO_TIME_MS) this.reportTime = r.ts;
    }
    if (m.Window !== undefined && m.Window !== null) r.window = this.num(m.Window, 'Window') / 1e6; // Go Duration: ns
    r.shortcut = this.bool(m.Shortcut, 'Shortcut');
    for (const name of TOPOLOGY_NAMES) {
      if (m[name] === undefined || m[name] === null) continue;
      r.topologies[name] = this.topology(m[name], name);
    }
    const dns = this.map(m.DNS, 'DNS');
    if (dns) {
      for (const addr in dns) {
        const rec = this.map(dns[addr], `DNS.${addr}`);
        const out: DNSRecord = { forward: [], reverse: [] };
        if (rec) {
          out.forward = this.stringSet(rec.forward ?? rec.Forward, `DNS.${addr}.forward`);
          out.reverse = this.stringSet(rec.reverse ?? rec.Reverse, `DNS.${addr}.reverse`);
        }
        r.dns[addr] = out;
      }
    }
    const sampling = this.map(m.Sampling, 'Sampling');
    if (sampling) {
      r.sampling = {
        count: sampling.Count == null ? 0 : this.num(sampling.Count, 'Sampling.Count'),
        total: sampling.Total == null ? 0 : this.num(sampling.Total, 'Sampling.Total'),
      };
    }
    if (m.Plugins !== undefined && m.Plugins !== null) {
      if (!Array.isArray(m.Plugins)) this.fail('Plugins', 'a list', m.Plugins);
      r.plugins = m.Plugins.map((p, i) => {
        const pm = this.map(p, `Plugins[${i}]`);
        return (pm ? this.json(pm, `Plugins[${i}]`, 0) : {}) as PluginSpec;
      });
    }
    return r;
  }

  private json(v: unknown, path: string, depth: number): JsonValue {
    if (depth > 16) this.fail(path, 'a shallower value', v);
    if (v === null || v === undefined) return null;
    if (typeof v === 'string') return this.text(v);
    if (typeof v === 'number' || typeof v === 'boolean') return v;
    if (Array.isArray(v)) return v.map((x, i) => this.json(x, `${path}[${i}]`, depth + 1));
    const out: { [k: string]: JsonValue } = {};
    for (const k in v as MsgMap) out[k] = this.json((v as MsgMap)[k], `${path}.${k}`, depth + 1);
    return out;
  }

  topology(v: unknown, name: TopologyName): Topology {
    const m = this.map(v, name);
    const t = makeTopology();
    if (!m) return t;
    const shape = this.optStr(m.shape, `${name}.shape`);
    const tag = this.optStr(m.tag, `${name}.tag`);
    const label = this.optStr(m.label, `${name}.label`);
    const labelPlural = this.optStr(m.label_plural, `${name}.label_plural`);
    if (shape) t.shape = shape;
    if (tag) t.tag = tag;
    if (label) t.label = label;
    if (labelPlural) t.labelPlural = labelPlural;
    const nodes = this.map(m.nodes, `${name}.nodes`);
    const nodeTopology = NODE_TOPOLOGY[name];
    if (nodes) {
      const count = Object.keys(nodes).length;
      if (count > this.maxNodes) throw tooManyNodes(name, count, this.maxNodes);
      for (const id in nodes) t.nodes[id] = this.node(nodes[id], id, nodeTopology, `${name}.nodes[${JSON.stringify(id)}]`);
    }
    const controls = this.map(m.controls, `${name}.controls`);
    if (controls) {
      for (const id in controls) t.controls[id] = this.control(controls[id], id, `${name}.controls.${id}`);
    }
    this.templates(m.metadata_templates, t.metadataTemplates, `${name}.metadata_templates`);
    this.templates(m.metric_templates, t.metricTemplates, `${name}.metric_templates`);
    this.templates(m.table_templates, t.tableTemplates, `${name}.table_templates`);
    return t;
  }

  private templates(v: unknown, out: Dict<Template>, path: string): void {
    const m = this.map(v, path);
    if (!m) return;
    for (const id in m) {
      const tm = this.map(m[id], `${path}.${id}`);
      if (!tm) continue;
      const t = dict<string | number | boolean>();
      for (const k in tm) {
        const x = tm[k];
        if (typeof x === 'string') t[k] = this.text(x);
        else if (typeof x === 'number' || typeof x === 'boolean') t[k] = x;
        else if (x !== null && x !== undefined && !(typeof x === 'object')) this.fail(`${path}.${id}.${k}`, 'a scalar', x);
      }
      out[id] = t;
    }
  }

  private control(v: unknown, id: string, path: string): Control {
    const m = this.map(v, path);
    if (!m) return { id, human: id, icon: '', rank: 0 };
    const c: Control = {
      id: this.optStr(m.id, `${path}.id`) ?? id,
      human: this.optStr(m.human, `${path}.human`) ?? id,
      icon: this.optStr(m.icon, `${path}.icon`) ?? '',
      rank: m.rank == null ? 0 : this.num(m.rank, `${path}.rank`),
    };
    const confirmation = this.optStr(m.confirmation, `${path}.confirmation`);
    if (confirmation) c.confirmation = confirmation;
    return c;
  }

  private node(v: unknown, id: string, topology: string, path: string): Node {
    const n = makeNode(id, topology);
    const m = this.map(v, path);
    // A probe's nodes are structs, never nil: a null one is a forged or broken report, not an empty host.
    if (!m) this.fail(path, 'a node', v);
    const ownID = this.optStr(m.id, `${path}.id`);
    if (ownID && ownID !== id) throw new DecodeError(`${path}.id: ${JSON.stringify(ownID)} differs from its key`);
    const ownTopology = this.optStr(m.topology, `${path}.topology`);
    if (ownTopology) n.topology = ownTopology;
    n.adjacency = this.stringSet(m.adjacency, `${path}.adjacency`);
    n.sets = this.sets(m.sets, `${path}.sets`);
    n.parents = this.sets(m.parents, `${path}.parents`);
    const latest = m.latest !== undefined ? m.latest : m.strs;
    const lm = this.map(latest, `${path}.latest`);
    if (lm) for (const k in lm) n.latest[k] = this.latestEntry(lm[k], `${path}.latest.${k}`);
    const metrics = this.map(m.metrics, `${path}.metrics`);
    if (metrics) {
      for (const k in metrics) {
        const metric = this.metric(metrics[k], `${path}.metrics.${k}`);
        if (metric) n.metrics[k] = metric;
      }
    }
    const counters = this.map(m.counters, `${path}.counters`);
    if (counters) for (const k in counters) n.counters[k] = this.num(counters[k], `${path}.counters.${k}`);
    const lc = this.map(m.latestControls, `${path}.latestControls`);
    if (lc) for (const k in lc) n.latestControls[k] = this.latestControl(lc[k], `${path}.latestControls.${k}`);
    // probes before latestControls existed sent {timestamp, controls: [...]}
    const oldControls = this.map(m.controls, `${path}.controls`);
    if (oldControls && Object.keys(n.latestControls).length === 0) {
      const ts = this.time(oldControls.timestamp, `${path}.controls.timestamp`);
      for (const c of this.stringSet(oldControls.controls, `${path}.controls.controls`)) {
        n.latestControls[c] = { timestamp: ts, value: { dead: false } };
      }
    }
    if (m.children !== undefined && m.children !== null && typeof m.children !== 'object') {
      this.fail(`${path}.children`, 'a set of nodes', m.children);
    }
    return n;
  }

  private latestEntry(v: unknown, path: string): LatestEntry {
    if (typeof v === 'string') return { timestamp: this.reportTime, value: this.text(v) };
    const m = this.map(v, path);
    if (!m) this.fail(path, 'a {timestamp, value} entry', v);
    return { timestamp: this.time(m.timestamp, `${path}.timestamp`), value: m.value == null ? '' : this.str(m.value, `${path}.value`) };
  }

  private latestControl(v: unknown, path: string): LatestControlEntry {
    const m = this.map(v, path);
    if (!m) this.fail(path, 'a {timestamp, value} entry', v);
    const value = this.map(m.value, `${path}.value`);
    return { timestamp: this.time(m.timestamp, `${path}.timestamp`), value: { dead: value ? this.bool(value.dead, `${path}.value.dead`) : false } };
  }

  private metric(v: unknown, path: string): Metric | undefined {
    const m = this.map(v, path);
    if (!m) return undefined;
    const samples: Sample[] = [];
    const raw = m.samples;
    if (raw !== null && raw !== undefined) {
      if (!Array.isArray(raw)) this.fail(`${path}.samples`, 'a list of samples', raw);
      let sorted = true;
      for (let i = 0; i < raw.length; i++) {
        const sm = this.map(raw[i], `${path}.samples[${i}]`);
        if (!sm) this.fail(`${path}.samples[${i}]`, 'a {date, value} sample', raw[i]);
        const s = { date: this.time(sm.date, `${path}.samples[${i}].date`), value: this.num(sm.value, `${path}.samples[${i}].value`) };
        if (samples.length && s.date < samples[samples.length - 1]!.date) sorted = false;
        samples.push(s);
      }
      if (!sorted) samples.sort((a, b) => a.date - b.date);
    }
    const min = m.min == null ? Math.min(...samples.map((s) => s.value)) : this.num(m.min, `${path}.min`);
    const max = m.max == null ? Math.max(...samples.map((s) => s.value)) : this.num(m.max, `${path}.max`);
    return { samples, min: Number.isFinite(min) ? min : 0, max: Number.isFinite(max) ? max : 0 };
  }
}

function describe(v: unknown): string {
  if (v === null || v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a map';
  if (typeof v === 'string') return v.length > 40 ? 'a string' : `the string ${JSON.stringify(v.replace(/[^\x20-\x7e]/g, '?'))}`;
  return `${typeof v} ${String(v)}`;
}
