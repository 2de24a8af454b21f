/**
 * The fast path for msgpack reports: reads the bytes straight into a Report, without the intermediate
 * tree decode.ts builds, and times straight from their bytes. It knows the shapes Scope probes send;
 * on anything else (a type it does not expect, a rare field, bad data) it gives up with NOT_FAST and the
 * caller takes the slow, fully checked path, which either reads the report or says precisely what is wrong.
 */
import { DecodeError, MAX_NODES_PER_TOPOLOGY, tooManyNodes } from './errors.ts';
import { Reader, type MsgMap } from './msgpack.ts';
import { parseRFC3339 } from './time.ts';
import { dict, makeNode, makeReport, makeTopology, randomReportID, NODE_TOPOLOGY, TOPOLOGY_NAMES, type Dict, type Metric, type Node, type Report, type Sample, type Topology, type TopologyName } from './types.ts';

export const NOT_FAST = Symbol('not fast');

const UNIX_TO_INTERNAL = 62_135_596_800;
const TOPOLOGIES = new Set<string>(TOPOLOGY_NAMES);
/** topology fields other than nodes, handed to the slow converter as a small map */
const TOPOLOGY_EXTRAS = new Set(['shape', 'tag', 'label', 'label_plural', 'controls', 'metadata_templates', 'metric_templates', 'table_templates']);

/**
 * Short strings (map keys, node IDs, most values) repeat from report to report: a direct-mapped table of
 * the last string seen per hash gives the same string object back for the same bytes, so decoding makes
 * no new string for them (far less garbage to collect), and the merged reports the app keeps share one
 * copy of each. Bounded: INTERN_SLOTS strings of at most INTERN_MAX bytes (~1 MB in all, at most).
 */
const INTERN_MAX = 48;
const INTERN_SLOTS = 8192;
const internStrings: (string | undefined)[] = new Array(INTERN_SLOTS).fill(undefined);
const internBytes = new Uint8Array(INTERN_SLOTS * INTERN_MAX);
const internLengths = new Uint8Array(INTERN_SLOTS);

function intern(b: Uint8Array, buf: Buffer, start: number, n: number): string {
  let h = 0x811c9dc5 ^ n;
  let high = 0;
  for (let i = start; i < start + n; i++) {
    const c = b[i]!;
    high |= c;
    h = Math.imul(h ^ c, 0x01000193);
  }
  const slot = (h ^ (h >>> 15)) & (INTERN_SLOTS - 1);
  const at = slot * INTERN_MAX;
  const cached = internStrings[slot];
  if (cached !== undefined && internLengths[slot] === n) {
    let same = true;
    for (let i = 0; i < n; i++) {
      if (internBytes[at + i] !== b[start + i]) {
        same = false;
        break;
      }
    }
    if (same) return cached;
  }
  const s = buf.toString(high & 0x80 ? 'utf8' : 'latin1', start, start + n);
  internStrings[slot] = s;
  internLengths[slot] = n;
  internBytes.set(b.subarray(start, start + n), at);
  return s;
}

export type ConvertTopologyExtras = (extras: MsgMap, name: TopologyName) => Topology;

class Fast {
  private pos = 0;
  private readonly r: Reader;
  private readonly buf: Buffer;
  private reportTime = Date.now();

  constructor(
    private readonly b: Uint8Array,
    private readonly extras: ConvertTopologyExtras,
    private readonly maxNodes: number,
  ) {
    this.r = new Reader(b);
    this.buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  }

  private byte(): number {
    if (this.pos >= this.b.length) throw NOT_FAST;
    return this.b[this.pos]!;
  }

  private isNil(): boolean {
    if (this.byte() === 0xc0) {
      this.pos++;
      return true;
    }
    return false;
  }

  /** a map's length, or -1 for nil */
  private mapLen(): number {
    return this.containerLen(0x80, 0xde, 0xdf);
  }

  /** an array's length, or -1 for nil */
  private arrayLen(): number {
    return this.containerLen(0x90, 0xdc, 0xdd);
  }

  /** a map's or array's length in its fix (fix..fix+15), 16-bit or 32-bit form, or -1 for nil */
  private containerLen(fix: number, c16: number, c32: number): number {
    const b = this.byte();
    if (b >= fix && b <= fix + 0x0f) {
      this.pos++;
      return b & 0x0f;
    }
    if (b === c16) {
      this.pos += 3;
      return (this.b[this.pos - 2]! << 8) | this.b[this.pos - 1]!;
    }
    if (b === c32) {
      this.pos += 5;
      return ((this.b[this.pos - 4]! << 24) | (this.b[this.pos - 3]! << 16) | (this.b[this.pos - 2]! << 8) | this.b[this.pos - 1]!) >>> 0;
    }
    if (b === 0xc0) {
      this.pos++;
      return -1;
    }
    throw NOT_FAST;
  }

  /** a string's byte length (str or bin), positioned at its first byte */
  private strLen(): number {
    const b = this.byte();
    let n: number;
    if (b >= 0xa0 && b <= 0xbf) {
      this.pos++;
      n = b & 0x1f;
    } else if (b === 0xd9 || b === 0xc4) {
      n = this.b[this.pos + 1]!;
      this.pos += 2;
    } else if (b === 0xda || b === 0xc5) {
      n = (this.b[this.pos + 1]! << 8) | this.b[this.pos + 2]!;
      this.pos += 3;
    } else if (b === 0xdb || b === 0xc6) {
      n = ((this.b[this.pos + 1]! << 24) | (this.b[this.pos + 2]! << 16) | (this.b[this.pos + 3]! << 8) | this.b[this.pos + 4]!) >>> 0;
      this.pos += 5;
    } else throw NOT_FAST;
    if (this.pos + n > this.b.length) throw NOT_FAST;
    return n;
  }

  private text(): string {
    const n = this.strLen();
    const start = this.pos;
    this.pos += n;
    return n <= INTERN_MAX ? intern(this.b, this.buf, start, n) : this.buf.toString('utf8', start, start + n);
  }

  private time(): number {
    const b = this.byte();
    if (b === 0xc0) throw NOT_FAST;
    const n = this.strLen();
    const p = this.pos;
    const v = this.b[p]!;
    if ((v === 1 && n === 15) || (v === 2 && n === 16)) {
      const secHi = ((this.b[p + 1]! << 24) | (this.b[p + 2]! << 16) | (this.b[p + 3]! << 8) | this.b[p + 4]!) | 0;
      const secLo = ((this.b[p + 5]! << 24) | (this.b[p + 6]! << 16) | (this.b[p + 7]! << 8) | this.b[p + 8]!) >>> 0;
      const nsec = ((this.b[p + 9]! << 24) | (this.b[p + 10]! << 16) | (this.b[p + 11]! << 8) | this.b[p + 12]!) >>> 0;
      if (nsec >= 1e9) throw NOT_FAST;
      this.pos += n;
      return (secHi * 0x100000000 + secLo - UNIX_TO_INTERNAL) * 1000 + nsec / 1e6;
    }
    let s = ''; // text: read it as RFC 3339
    for (let i = p; i < p + n; i++) s += String.fromCharCode(this.b[i]!);
    this.pos = p + n;
    const t = parseRFC3339(s);
    if (t === undefined) throw NOT_FAST;
    return t;
  }

  private number(): number {
    this.r.pos = this.pos;
    const b = this.byte();
    if (!(b <= 0x7f || b >= 0xe0 || (b >= 0xca && b <= 0xd3))) throw NOT_FAST;
    const v = this.r.value(1);
    this.pos = this.r.pos;
    return v as number;
  }

  private skip(): void {
    this.r.pos = this.pos;
    this.r.value(1);
    this.pos = this.r.pos;
  }

  private generic(): MsgMap[string] {
    this.r.pos = this.pos;
    const v = this.r.value(1);
    this.pos = this.r.pos;
    return v;
  }

  /** a list of strings, sorted and unique */
  private stringSet(): string[] {
    const n = this.arrayLen();
    if (n <= 0) return [];
    const out: string[] = new Array(n);
    let sorted = true;
    for (let i = 0; i < n; i++) {
      out[i] = this.text();
      if (i > 0 && out[i]! <= out[i - 1]!) sorted = false;
    }
    return sorted ? out : [...new Set(out)].sort();
  }

  private sets(): Dict<string[]> {
    const out = dict<string[]>();
    const n = this.mapLen();
    for (let i = 0; i < n; i++) {
      const k = this.text();
      const s = this.stringSet();
      if (s.length) out[k] = s;
    }
    return out;
  }

  report(): Report {
    const n = this.mapLen();
    if (n < 0) throw NOT_FAST;
    const r = makeReport('');
    let id: string | undefined;
    let known = 0;
    for (let i = 0; i < n; i++) {
      const key = this.text();
      if (TOPOLOGIES.has(key)) {
        known++;
        if (!this.isNil()) r.topologies[key as TopologyName] = this.topology(key as TopologyName);
        continue;
      }
      switch (key) {
        case 'TS':
          known++;
          if (!this.isNil()) {
            r.ts = this.time();
            if (r.ts > -UNIX_TO_INTERNAL * 1000) this.reportTime = r.ts;
          }
          break;
        case 'ID':
          known++;
          if (!this.isNil()) id = this.text();
          break;
        case 'Window':
          known++;
          if (!this.isNil()) r.window = this.number() / 1e6;
          break;
        case 'Shortcut': {
          known++;
          const b = this.byte();
          if (b === 0xc2 || b === 0xc3) r.shortcut = b === 0xc3;
          else if (b !== 0xc0) throw NOT_FAST;
          this.pos++;
          break;
        }
        case 'DNS': {
          known++;
          const m = this.mapLen();
          for (let j = 0; j < m; j++) {
            const addr = this.text();
            const rec = { forward: [] as string[], reverse: [] as string[] };
            const f = this.mapLen();
            for (let k = 0; k < f; k++) {
              const field = this.text();
              if (field === 'forward' || field === 'Forward') rec.forward = this.stringSet();
              else if (field === 'reverse' || field === 'Reverse') rec.reverse = this.stringSet();
              else this.skip();
            }
            r.dns[addr] = rec;
          }
          break;
        }
        case 'Sampling': {
          known++;
          const m = this.mapLen();
          for (let j = 0; j < m; j++) {
            const field = this.text();
            if (field === 'Count' && !this.isNil()) r.sampling.count = this.number();
            else if (field === 'Total' && !this.isNil()) r.sampling.total = this.number();
            else if (field !== 'Count' && field !== 'Total') this.skip();
          }
          break;
        }
        case 'Plugins': {
          known++;
          const len = this.arrayLen();
          if (len > 0) throw NOT_FAST; // rare: the slow path converts plugin specs
          break;
        }
        default:
          this.skip();
      }
    }
    if (known === 0 || this.pos !== this.b.length) throw NOT_FAST;
    r.id = id ?? randomReportID();
    return r;
  }

  private topology(name: TopologyName): Topology {
    const n = this.mapLen();
    if (n < 0) return makeTopology();
    let extras: MsgMap | undefined;
    let nodes: Dict<Node> | undefined;
    for (let i = 0; i < n; i++) {
      const key = this.text();
      if (key === 'nodes') nodes = this.nodes(name);
      else if (TOPOLOGY_EXTRAS.has(key)) (extras ??= dict())[key] = this.generic();
      else this.skip();
    }
    const t = extras ? this.extras(extras, name) : makeTopology();
    if (nodes) t.nodes = nodes;
    return t;
  }

  private nodes(name: TopologyName): Dict<Node> {
    const topology = NODE_TOPOLOGY[name];
    const out = dict<Node>();
    const n = this.mapLen();
    // Counted before a single node is read: an oversized report costs no more than its bytes.
    if (n > this.maxNodes) throw tooManyNodes(name, n, this.maxNodes);
    for (let i = 0; i < n; i++) {
      const id = this.text();
      out[id] = this.node(id, topology);
    }
    return out;
  }

  private node(id: string, topology: string): Node {
    const node = makeNode(id, topology);
    const n = this.mapLen();
    if (n < 0) throw NOT_FAST; // a nil node: the slow path refuses it by name
    for (let i = 0; i < n; i++) {
      const key = this.text();
      switch (key) {
        case 'id':
          if (!this.isNil() && this.text() !== id) throw NOT_FAST;
          break;
        case 'topology':
          if (!this.isNil()) node.topology = this.text() || topology;
          break;
        case 'adjacency':
          node.adjacency = this.stringSet();
          break;
        case 'sets':
          node.sets = this.sets();
          break;
        case 'parents':
          node.parents = this.sets();
          break;
        case 'latest':
        case 'strs': {
          const m = this.mapLen();
          for (let j = 0; j < m; j++) {
            const k = this.text();
            node.latest[k] = this.latestEntry();
          }
          break;
        }
        case 'metrics': {
          const m = this.mapLen();
          for (let j = 0; j < m; j++) {
            const k = this.text();
            const metric = this.metric();
            if (metric) node.metrics[k] = metric;
          }
          break;
        }
        case 'counters': {
          const m = this.mapLen();
          for (let j = 0; j < m; j++) {
            const k = this.text();
            node.counters[k] = this.number();
          }
          break;
        }
        case 'latestControls': {
          const m = this.mapLen();
          for (let j = 0; j < m; j++) {
            const k = this.text();
            let timestamp: number | undefined;
            let dead = false;
            const f = this.mapLen();
            if (f < 0) throw NOT_FAST;
            for (let x = 0; x < f; x++) {
              const field = this.text();
              if (field === 'timestamp') timestamp = this.time();
              else if (field === 'value') {
                const v = this.mapLen();
                for (let y = 0; y < v; y++) {
                  const vf = this.text();
                  const b = this.byte();
                  if (vf === 'dead' && (b === 0xc2 || b === 0xc3)) {
                    dead = b === 0xc3;
                    this.pos++;
                  } else if (vf === 'dead' && b !== 0xc0) throw NOT_FAST;
                  else this.skip();
                }
              } else this.skip();
            }
            if (timestamp === undefined) throw NOT_FAST;
            node.latestControls[k] = { timestamp, value: { dead } };
          }
          break;
        }
        case 'children': {
          const b = this.byte();
          if (!(b === 0xc0 || (b >= 0x80 && b <= 0x9f) || b === 0xdc || b === 0xdd || b === 0xde || b === 0xdf)) throw NOT_FAST;
          this.skip();
          break;
        }
        case 'controls':
          if (!this.isNil()) throw NOT_FAST; // old probes' controls: the slow path upgrades them
          break;
        default:
          this.skip();
      }
    }
    return node;
  }

  private latestEntry(): { timestamp: number; value: string } {
    const b = this.byte();
    if (!((b >= 0x80 && b <= 0x8f) || b === 0xde || b === 0xdf)) {
      if ((b >= 0xa0 && b <= 0xbf) || b === 0xd9 || b === 0xda || b === 0xdb) return { timestamp: this.reportTime, value: this.text() };
      throw NOT_FAST;
    }
    const f = this.mapLen();
    let timestamp = -UNIX_TO_INTERNAL * 1000;
    let value = '';
    for (let i = 0; i < f; i++) {
      const field = this.text();
      if (field === 'timestamp') {
        if (!this.isNil()) timestamp = this.time();
      } else if (field === 'value') {
        if (!this.isNil()) value = this.text();
      } else this.skip();
    }
    return { timestamp, value };
  }

  private metric(): Metric | undefined {
    const f = this.mapLen();
    if (f < 0) return undefined;
    const samples: Sample[] = [];
    let min: number | undefined;
    let max: number | undefined;
    let sorted = true;
    for (let i = 0; i < f; i++) {
      const field = this.text();
      if (field === 'samples') {
        const n = this.arrayLen();
        for (let j = 0; j < n; j++) {
          const sf = this.mapLen();
          if (sf < 0) throw NOT_FAST;
          let date: number | undefined;
          let value: number | undefined;
          for (let k = 0; k < sf; k++) {
            const name = this.text();
            if (name === 'date') date = this.time();
            else if (name === 'value') value = this.number();
            else this.skip();
          }
          if (date === undefined || value === undefined) throw NOT_FAST;
          if (samples.length && date < samples[samples.length - 1]!.date) sorted = false;
          samples.push({ date, value });
        }
      } else if (field === 'min') {
        if (!this.isNil()) min = this.number();
      } else if (field === 'max') {
        if (!this.isNil()) max = this.number();
      } else this.skip();
    }
    if (min === undefined || max === undefined) throw NOT_FAST; // the slow path derives them
    if (!sorted) samples.sort((a, b) => a.date - b.date);
    return { samples, min, max };
  }
}

/** The report in `bytes` (msgpack, inflated), or NOT_FAST when only the slow path can tell. */
export function fastDecode(bytes: Uint8Array, extras: ConvertTopologyExtras, maxNodesPerTopology = MAX_NODES_PER_TOPOLOGY): Report | typeof NOT_FAST {
  try {
    return new Fast(bytes, extras, maxNodesPerTopology).report();
  } catch (err) {
    if (err instanceof DecodeError) throw err;
    return NOT_FAST; // NOT_FAST, or malformed data: the slow path finds and names the problem
  }
}
