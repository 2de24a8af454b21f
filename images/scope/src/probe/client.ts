/**
 * The probe's HTTP client to a Scope app (or the service in front of it), speaking as Weave Scope
 * 1.13's probe does: the same headers on the `GET /api` handshake and on every `POST /api/report`.
 */
import http from 'node:http';
import https from 'node:https';
import { gunzipSync } from 'node:zlib';
import { PROBE_ID_HEADER, probeAuthorization } from '@saas/kit/contracts';

export interface ProbeIdentity {
  token: string;
  probeID: string;
  version: string;
}

export interface HttpResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

const REQUEST_TIMEOUT_MS = 15_000;
const MAX_RESPONSE_BYTES = 1024 * 1024;

/** The headers an unmodified Weave Scope probe sends (see fixtures' headers.json), in its order. */
export function probeHeaders(id: ProbeIdentity, body?: { length: number; contentType: string; contentEncoding?: string }): Record<string, string> {
  const h: Record<string, string> = { 'User-Agent': `Scope_Probe/${id.version}` };
  if (body) h['Content-Length'] = String(body.length);
  h.Authorization = probeAuthorization(id.token);
  if (body?.contentEncoding) h['Content-Encoding'] = body.contentEncoding;
  if (body) h['Content-Type'] = body.contentType;
  h[PROBE_ID_HEADER] = id.probeID;
  h['X-Scope-Probe-Version'] = id.version;
  h['Accept-Encoding'] = 'gzip';
  h.Connection = 'close';
  return h;
}

/** `base` + path, keeping any path prefix the base URL has (`https://host/prefix` → `/prefix/api`). */
export function joinUrl(base: string, p: string): URL {
  const u = new URL(base);
  u.pathname = `${u.pathname.replace(/\/+$/, '')}${p}`;
  return u;
}

export function request(
  method: 'GET' | 'POST',
  url: URL,
  headers: Record<string, string>,
  body: Buffer | undefined,
  signal: AbortSignal,
): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const mod = url.protocol === 'https:' ? https : http;
    const req = mod.request(url, { method, headers, signal, timeout: REQUEST_TIMEOUT_MS }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size <= MAX_RESPONSE_BYTES) chunks.push(c);
      });
      res.on('end', () => {
        let data = Buffer.concat(chunks);
        if (res.headers['content-encoding'] === 'gzip' && data.length) {
          try {
            data = gunzipSync(data);
          } catch {
            // leave the bytes as they came; callers only show them
          }
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: data });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS / 1000} s`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** Seconds or an HTTP date, as RFC 9110 allows; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v) return undefined;
  if (/^\d+$/.test(v.trim())) return Number(v.trim()) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** A short, single-line excerpt of a response body for logs (the `errors[0].message` when JSON). */
export function describeBody(body: Buffer): string {
  const text = body.toString('utf8').trim();
  try {
    const parsed = JSON.parse(text) as { errors?: { message?: string }[]; message?: string };
    const msg = parsed.errors?.[0]?.message ?? parsed.message;
    if (typeof msg === 'string') return msg;
  } catch {
    // not JSON
  }
  return text.replace(/\s+/g, ' ').slice(0, 200);
}
