import type { Report } from '../report/index.ts';

/** Addresses, networks and endpoint ids, as the renderer reads them from a report. */

export const LOOPBACK = /^(127\.|::1$|::ffff:127\.)/;

export interface EndpointParts {
  scope: string;
  addr: string;
  port: string;
}

export function parseEndpointID(id: string): EndpointParts | undefined {
  const a = id.indexOf(';');
  const b = id.lastIndexOf(';');
  if (a < 0 || a === b) return undefined;
  return { scope: id.slice(0, a), addr: id.slice(a + 1, b), port: id.slice(b + 1) };
}

export function inNetworks(addr: string, networks: { base: number; mask: number }[]): boolean {
  const ip = ipv4(addr);
  if (ip === undefined) return false;
  return networks.some((n) => ((ip & n.mask) >>> 0) === n.base);
}

export function ipv4(addr: string): number | undefined {
  const m = /^(?:::ffff:)?(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(addr);
  if (!m) return undefined;
  return ((Number(m[1]) << 24) | (Number(m[2]) << 16) | (Number(m[3]) << 8) | Number(m[4])) >>> 0;
}

export function localNetworks(report: Report): { base: number; mask: number }[] {
  const out: { base: number; mask: number }[] = [];
  const hosts = report.topologies.Host?.nodes ?? {};
  for (const id in hosts) {
    for (const cidr of hosts[id]!.sets.local_networks ?? []) {
      const [addr, bits] = cidr.split('/');
      const ip = ipv4(addr ?? '');
      const n = Number(bits);
      if (ip === undefined || !(n >= 0 && n <= 32)) continue;
      const mask = n === 0 ? 0 : (0xffffffff << (32 - n)) >>> 0;
      out.push({ base: (ip & mask) >>> 0, mask });
    }
  }
  return out;
}
