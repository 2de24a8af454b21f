/**
 * Parser for /proc/net/tcp and /proc/net/tcp6 (one table per network namespace).
 * Addresses are hex in the kernel's byte order: each 32-bit word is little-endian.
 */
import path from 'node:path';
import { readText } from './proc.ts';

export const TCP_ESTABLISHED = 0x01;
export const TCP_FIN_WAIT1 = 0x04;
export const TCP_FIN_WAIT2 = 0x05;
export const TCP_CLOSE_WAIT = 0x08;
export const TCP_LISTEN = 0x0a;

export interface TcpSocket {
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
  state: number;
  inode: number;
}

/** Connected states a map should show: established and half-closed, as Weave Scope's procspy. */
export function isConnected(state: number): boolean {
  return state === TCP_ESTABLISHED || state === TCP_FIN_WAIT1 || state === TCP_FIN_WAIT2 || state === TCP_CLOSE_WAIT;
}

function hexByte(s: string, i: number): number {
  return parseInt(s.slice(i, i + 2), 16);
}

/** Decodes `0100007F` or a 32-digit IPv6 word list to the usual text form (v4-mapped v6 → v4). */
export function decodeAddress(hex: string): string {
  if (hex.length === 8) {
    return `${hexByte(hex, 6)}.${hexByte(hex, 4)}.${hexByte(hex, 2)}.${hexByte(hex, 0)}`;
  }
  const bytes: number[] = [];
  for (let w = 0; w < 4; w++) {
    const word = hex.slice(w * 8, w * 8 + 8);
    bytes.push(hexByte(word, 6), hexByte(word, 4), hexByte(word, 2), hexByte(word, 0));
  }
  const isV4Mapped = bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  if (isV4Mapped) return bytes.slice(12).join('.');
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0));
  return formatIPv6(groups);
}

/** RFC 5952 text: lowercase, no leading zeros, the longest run (≥ 2) of zero groups as `::`. */
export function formatIPv6(groups: number[]): string {
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < groups.length; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < groups.length && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestLen < 2) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

export function parseTcpTable(text: string): TcpSocket[] {
  const out: TcpSocket[] = [];
  const lines = text.split('\n');
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i];
    if (!line) continue;
    const f = line.trim().split(/\s+/);
    // sl local rem st tx:rx tr:when retrnsmt uid timeout inode
    const local = f[1];
    const remote = f[2];
    const st = f[3];
    const inode = f[9];
    if (!local || !remote || !st || !inode) continue;
    const [lh = '', lp = '0'] = local.split(':');
    const [rh = '', rp = '0'] = remote.split(':');
    out.push({
      localAddress: decodeAddress(lh),
      localPort: parseInt(lp, 16),
      remoteAddress: decodeAddress(rh),
      remotePort: parseInt(rp, 16),
      state: parseInt(st, 16),
      inode: Number(inode),
    });
  }
  return out;
}

/**
 * Reads both TCP tables of the network namespace `base` belongs to (`/proc` or `/proc/<pid>`).
 * Returns undefined when neither table is readable (the process is gone).
 */
export function readTcpTables(base: string): TcpSocket[] | undefined {
  const v4 = readText(path.join(base, 'net', 'tcp'));
  const v6 = readText(path.join(base, 'net', 'tcp6'));
  if (v4 === undefined && v6 === undefined) return undefined;
  const sockets = [...(v4 ? parseTcpTable(v4) : []), ...(v6 ? parseTcpTable(v6) : [])];
  // A socket can appear twice while the kernel rewrites the table; keep the first.
  const seen = new Set<number>();
  return sockets.filter((s) => {
    if (s.inode === 0) return true; // TIME_WAIT and the like have no inode
    if (seen.has(s.inode)) return false;
    seen.add(s.inode);
    return true;
  });
}

export function isLoopback(address: string): boolean {
  return address.startsWith('127.') || address === '::1';
}

export function isWildcard(address: string): boolean {
  return address === '0.0.0.0' || address === '::';
}
