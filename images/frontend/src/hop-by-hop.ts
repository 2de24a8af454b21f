/**
 * Hop-by-hop headers (RFC 9110 §7.6.1) belong to one connection, the client's or the upstream's, and are never
 * passed across: the fixed ones, and every name the Connection header lists.
 */
import type { IncomingHttpHeaders } from 'node:http';

export const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'upgrade', 'http2-settings', 'te', 'trailer', 'transfer-encoding'];

/** Names listed in a Connection header. */
export function connectionTokens(value: string | string[] | undefined): Set<string> {
  if (!value) return new Set();
  const joined = Array.isArray(value) ? value.join(',') : value;
  return new Set(joined.split(',').map((t) => t.trim().toLowerCase()).filter(Boolean));
}

/** `headers` without the hop-by-hop ones, those the Connection header names, and `also`. */
export function endToEnd(headers: IncomingHttpHeaders, also: readonly string[] = []): Record<string, string | string[]> {
  const drop = new Set([...HOP_BY_HOP, ...also, ...connectionTokens(headers.connection)]);
  const out: Record<string, string | string[]> = {};
  for (const name in headers) {
    const value = headers[name];
    if (value !== undefined && !drop.has(name)) out[name] = value;
  }
  return out;
}
