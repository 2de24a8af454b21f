/**
 * Go's time.Time on the wire. Scope's msgpack codec carries it as the bytes of `time.MarshalBinary`
 * inside a msgpack string: version byte (1, or 2 with an extra seconds-of-offset byte), int64 seconds
 * since January 1 of year 1 UTC, int32 nanoseconds, int16 zone offset in minutes (-1 = UTC), all big-endian.
 * JSON carries RFC 3339 strings.
 */

/** Seconds from 0001-01-01T00:00:00Z to the Unix epoch. */
const UNIX_TO_INTERNAL = 62_135_596_800;

/** Go's zero time.Time, in ms since the Unix epoch. */
export const GO_ZERO_TIME_MS = -UNIX_TO_INTERNAL * 1000;

/**
 * Parses MarshalBinary bytes given as a latin1 string (one char per byte). Returns undefined when the
 * bytes are not a Go binary time.
 */
export function parseGoBinaryTime(s: string): number | undefined {
  const version = s.charCodeAt(0);
  if (!((version === 1 && s.length === 15) || (version === 2 && s.length === 16))) return undefined;
  let secHi = 0;
  for (let i = 1; i <= 4; i++) secHi = secHi * 256 + s.charCodeAt(i);
  let secLo = 0;
  for (let i = 5; i <= 8; i++) secLo = secLo * 256 + s.charCodeAt(i);
  if (secHi >= 0x80000000) secHi -= 0x100000000; // int64 sign
  const sec = secHi * 0x100000000 + secLo;
  let nsec = 0;
  for (let i = 9; i <= 12; i++) nsec = nsec * 256 + s.charCodeAt(i);
  if (nsec >= 1e9) return undefined;
  return (sec - UNIX_TO_INTERNAL) * 1000 + nsec / 1e6;
}

/** The same bytes as Go's MarshalBinary of a UTC time (version 1, offset -1), as a Buffer. */
export function goBinaryTime(ms: number): Buffer {
  const buf = Buffer.alloc(15);
  buf[0] = 1;
  const unixSec = Math.floor(ms / 1000);
  let nsec = Math.round((ms - unixSec * 1000) * 1e6);
  let sec = unixSec + UNIX_TO_INTERNAL;
  if (nsec >= 1e9) {
    sec += 1;
    nsec -= 1e9;
  }
  buf.writeBigInt64BE(BigInt(sec), 1);
  buf.writeInt32BE(nsec, 9);
  buf.writeInt16BE(-1, 13);
  return buf;
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})$/;

/** Parses an RFC 3339 timestamp (Go's RFC3339Nano included) to ms, or undefined. */
export function parseRFC3339(s: string): number | undefined {
  const m = RFC3339.exec(s);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, sec, frac, zone] = m;
  let ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(sec));
  if (y !== undefined && Number(y) < 100) {
    const dt = new Date(ms);
    dt.setUTCFullYear(Number(y));
    ms = dt.getTime();
  }
  if (Number.isNaN(ms)) return undefined;
  if (frac) ms += Number(`0.${frac}`) * 1000;
  if (zone && zone !== 'Z' && zone !== 'z') {
    const sign = zone[0] === '-' ? -1 : 1;
    ms -= sign * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6))) * 60_000;
  }
  return ms;
}

/** RFC 3339 with microseconds, as Go's RFC3339Nano would print it (trailing zeros trimmed). */
export function formatRFC3339(ms: number): string {
  const whole = Math.floor(ms);
  const iso = new Date(whole).toISOString(); // …ss.mmmZ
  const micros = Math.round((ms - whole) * 1000);
  let frac = iso.slice(20, 23) + String(Math.min(micros, 999)).padStart(3, '0');
  frac = frac.replace(/0+$/, '');
  return `${iso.slice(0, 19)}${frac ? `.${frac}` : ''}Z`;
}
