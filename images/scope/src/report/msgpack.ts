import { dict } from './types.ts';

/**
 * A small MessagePack reader and writer tuned for Scope reports.
 *
 * Reading: Go's ugorji codec writes both text and `time.MarshalBinary` bytes as msgpack strings, so the
 * reader keeps every string (and bin) as a latin1 string — one char per byte, lossless. Whoever knows a
 * field's meaning turns it into text (`utf8()`) or a time. Map keys are text and are decoded as UTF-8 here.
 * Maps become prototype-less objects. Truncated or malformed input throws MsgpackError.
 */

export type MsgValue = null | boolean | number | string | MsgValue[] | MsgMap;
export interface MsgMap {
  [key: string]: MsgValue;
}

export class MsgpackError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MsgpackError';
  }
}

const MAX_DEPTH = 100;
const HIGH_BYTE = /[\x80-\xff]/;

/** Text carried as latin1 → its UTF-8 reading. ASCII (the common case) passes through untouched. */
export function utf8(latin1: string): string {
  return HIGH_BYTE.test(latin1) ? Buffer.from(latin1, 'latin1').toString('utf8') : latin1;
}

export function decodeMsgpack(buf: Uint8Array): MsgValue {
  const r = new Reader(buf);
  const v = r.value(0);
  if (r.pos !== buf.length) throw new MsgpackError(`${buf.length - r.pos} unexpected bytes after the value`);
  return v;
}

/** Reads one msgpack value at `pos` (advancing it); see decodeMsgpack. */
export class Reader {
  pos = 0;
  private readonly view: DataView;
  private readonly buf: Buffer;

  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  private need(n: number): void {
    if (this.pos + n > this.bytes.length) throw new MsgpackError(`truncated data at byte ${this.pos} (needs ${n} more)`);
  }

  private u8(): number {
    this.need(1);
    return this.bytes[this.pos++]!;
  }
  private u16(): number {
    this.need(2);
    const v = this.view.getUint16(this.pos);
    this.pos += 2;
    return v;
  }
  private u32(): number {
    this.need(4);
    const v = this.view.getUint32(this.pos);
    this.pos += 4;
    return v;
  }

  private str(n: number): string {
    this.need(n);
    const start = this.pos;
    this.pos += n;
    if (n < 24) {
      let s = '';
      for (let i = start; i < start + n; i++) s += String.fromCharCode(this.bytes[i]!);
      return s;
    }
    return this.buf.toString('latin1', start, start + n);
  }

  private array(n: number, depth: number): MsgValue[] {
    // every element takes at least one byte: refuse lengths the input cannot hold before allocating
    if (n > this.bytes.length - this.pos) throw new MsgpackError(`truncated data: array of ${n} at byte ${this.pos}`);
    const out = new Array<MsgValue>(n);
    for (let i = 0; i < n; i++) out[i] = this.value(depth + 1);
    return out;
  }

  private map(n: number, depth: number): MsgMap {
    if (n * 2 > this.bytes.length - this.pos) throw new MsgpackError(`truncated data: map of ${n} at byte ${this.pos}`);
    const out = dict<MsgValue>() as MsgMap;
    for (let i = 0; i < n; i++) {
      const k = this.value(depth + 1);
      let key: string;
      if (typeof k === 'string') key = utf8(k);
      else if (typeof k === 'number' || typeof k === 'boolean') key = String(k);
      else throw new MsgpackError(`map key at byte ${this.pos} is not a string`);
      out[key] = this.value(depth + 1);
    }
    return out;
  }

  value(depth: number): MsgValue {
    if (depth > MAX_DEPTH) throw new MsgpackError(`nested deeper than ${MAX_DEPTH} levels`);
    const b = this.u8();
    if (b <= 0x7f) return b;
    if (b >= 0xe0) return b - 0x100;
    if (b >= 0xa0 && b <= 0xbf) return this.str(b & 0x1f);
    if (b >= 0x90 && b <= 0x9f) return this.array(b & 0x0f, depth);
    if (b >= 0x80 && b <= 0x8f) return this.map(b & 0x0f, depth);
    switch (b) {
      case 0xc0:
        return null;
      case 0xc2:
        return false;
      case 0xc3:
        return true;
      case 0xc4:
      case 0xd9:
        return this.str(this.u8());
      case 0xc5:
      case 0xda:
        return this.str(this.u16());
      case 0xc6:
      case 0xdb:
        return this.str(this.u32());
      case 0xca: {
        this.need(4);
        const v = this.view.getFloat32(this.pos);
        this.pos += 4;
        return v;
      }
      case 0xcb: {
        this.need(8);
        const v = this.view.getFloat64(this.pos);
        this.pos += 8;
        return v;
      }
      case 0xcc:
        return this.u8();
      case 0xcd:
        return this.u16();
      case 0xce:
        return this.u32();
      case 0xcf: {
        const hi = this.u32();
        return hi * 0x100000000 + this.u32();
      }
      case 0xd0: {
        const v = this.u8();
        return v >= 0x80 ? v - 0x100 : v;
      }
      case 0xd1: {
        this.need(2);
        const v = this.view.getInt16(this.pos);
        this.pos += 2;
        return v;
      }
      case 0xd2: {
        this.need(4);
        const v = this.view.getInt32(this.pos);
        this.pos += 4;
        return v;
      }
      case 0xd3: {
        this.need(8);
        const hi = this.view.getInt32(this.pos);
        const lo = this.view.getUint32(this.pos + 4);
        this.pos += 8;
        return hi * 0x100000000 + lo;
      }
      case 0xdc:
        return this.array(this.u16(), depth);
      case 0xdd:
        return this.array(this.u32(), depth);
      case 0xde:
        return this.map(this.u16(), depth);
      case 0xdf:
        return this.map(this.u32(), depth);
      default:
        throw new MsgpackError(`unsupported msgpack type 0x${b.toString(16)} at byte ${this.pos - 1}`);
    }
  }
}

/** A value to write: text, raw bytes (written as a msgpack string, as Go's codec does), numbers, … */
export type WireValue = null | undefined | boolean | number | string | Buffer | WireValue[] | { [key: string]: WireValue };

/** Writes msgpack the way Scope's Go codec reads it. `undefined` object fields are left out. */
export function encodeMsgpack(value: WireValue): Buffer {
  const w = new Writer();
  w.value(value);
  return w.finish();
}

class Writer {
  private buf = Buffer.allocUnsafe(64 * 1024);
  private pos = 0;

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  finish(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.pos));
  }

  private strHeader(n: number): void {
    this.ensure(5);
    if (n < 32) this.buf[this.pos++] = 0xa0 | n;
    else if (n < 0x100) {
      this.buf[this.pos++] = 0xd9;
      this.buf[this.pos++] = n;
    } else if (n < 0x10000) {
      this.buf[this.pos++] = 0xda;
      this.buf.writeUInt16BE(n, this.pos);
      this.pos += 2;
    } else {
      this.buf[this.pos++] = 0xdb;
      this.buf.writeUInt32BE(n, this.pos);
      this.pos += 4;
    }
  }

  private containerHeader(n: number, fix: number, b16: number, b32: number): void {
    this.ensure(5);
    if (n < 16) this.buf[this.pos++] = fix | n;
    else if (n < 0x10000) {
      this.buf[this.pos++] = b16;
      this.buf.writeUInt16BE(n, this.pos);
      this.pos += 2;
    } else {
      this.buf[this.pos++] = b32;
      this.buf.writeUInt32BE(n, this.pos);
      this.pos += 4;
    }
  }

  private string(s: string): void {
    const n = Buffer.byteLength(s, 'utf8');
    this.strHeader(n);
    this.ensure(n);
    this.pos += this.buf.write(s, this.pos, 'utf8');
  }

  private number(v: number): void {
    this.ensure(9);
    if (Number.isInteger(v) && Math.abs(v) <= Number.MAX_SAFE_INTEGER) {
      if (v >= 0 && v < 0x80) this.buf[this.pos++] = v;
      else if (v < 0 && v >= -32) this.buf[this.pos++] = 0x100 + v;
      else if (v >= -0x80000000 && v < 0x80000000) {
        this.buf[this.pos++] = 0xd2;
        this.buf.writeInt32BE(v, this.pos);
        this.pos += 4;
      } else {
        this.buf[this.pos++] = 0xd3;
        this.buf.writeBigInt64BE(BigInt(v), this.pos);
        this.pos += 8;
      }
      return;
    }
    this.buf[this.pos++] = 0xcb;
    this.buf.writeDoubleBE(v, this.pos);
    this.pos += 8;
  }

  value(v: WireValue): void {
    if (v === null || v === undefined) {
      this.ensure(1);
      this.buf[this.pos++] = 0xc0;
    } else if (typeof v === 'string') this.string(v);
    else if (typeof v === 'number') this.number(v);
    else if (typeof v === 'boolean') {
      this.ensure(1);
      this.buf[this.pos++] = v ? 0xc3 : 0xc2;
    } else if (Buffer.isBuffer(v)) {
      this.strHeader(v.length);
      this.ensure(v.length);
      v.copy(this.buf, this.pos);
      this.pos += v.length;
    } else if (Array.isArray(v)) {
      this.containerHeader(v.length, 0x90, 0xdc, 0xdd);
      for (const item of v) this.value(item);
    } else {
      let n = 0;
      for (const k in v) if (v[k] !== undefined) n++;
      this.containerHeader(n, 0x80, 0xde, 0xdf);
      for (const k in v) {
        const item = v[k];
        if (item === undefined) continue;
        this.string(k);
        this.value(item);
      }
    }
  }
}
