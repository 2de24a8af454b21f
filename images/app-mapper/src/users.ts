/**
 * Asks the users service who a request belongs to. Probe-token answers are reused for a few seconds, keyed by a
 * hash of the token (never the token itself), and identical lookups in flight share one request, so a busy probe
 * path costs one users call per token per cache period. Session cookies are asked about every time: a logout
 * or a deleted user must end access at once, on every app-mapper replica, and no replica can hear of either.
 */
import { createHash } from 'node:crypto';
import { HttpError, type Logger } from '@saas/kit';
import { isOrgId, parseProbeAuthorization, PROBE_AUTH_EXPECTED, SESSION_COOKIE } from '@saas/kit/contracts';

export interface OrgRef {
  organizationID: string;
  organizationName?: string;
}


export interface UsersClientOptions {
  baseUrl: string;
  log: Logger;
  /** How long a positive probe-token answer is reused (0 = never). Negative ones are kept for at most one second. */
  cacheMs: number;
  timeoutMs?: number;
  /** Most cached answers kept. */
  maxEntries?: number;
}

type Answer = { ok: true; org: OrgRef } | { ok: false; error: HttpError };

export class UsersClient {
  private readonly cache = new Map<string, { answer: Answer; until: number }>();
  private readonly inFlight = new Map<string, Promise<Answer>>();

  constructor(private readonly opts: UsersClientOptions) {}

  /** The organisation of a probe token (`Authorization: Scope-Probe token=…`); 401 when missing or wrong. */
  async lookupProbe(authorization: string | undefined): Promise<OrgRef> {
    if (!authorization) throw new HttpError(401, `missing Authorization header (${PROBE_AUTH_EXPECTED})`);
    if (!parseProbeAuthorization(authorization)) throw new HttpError(401, `malformed Authorization header; expected ${PROBE_AUTH_EXPECTED}`);
    return this.lookup(`probe\0${authorization.trim()}`, '/private/api/users/lookup', { authorization: authorization.trim() });
  }

  /** The organisation orgName if the session cookie belongs to one of its members; 401 otherwise. */
  async lookupOrg(orgName: string, cookieHeader: string | undefined): Promise<OrgRef> {
    const session = sessionFrom(cookieHeader);
    if (!session) throw new HttpError(401, 'not logged in');
    const cookie = `${SESSION_COOKIE}=${session}`;
    const org = unwrap(await this.ask(`/private/api/users/lookup/${encodeURIComponent(orgName)}`, { cookie }));
    if (org.organizationName !== undefined && org.organizationName !== orgName) {
      throw new HttpError(502, 'users service answered for another organisation');
    }
    return org;
  }

  private async lookup(rawKey: string, path: string, headers: Record<string, string>): Promise<OrgRef> {
    const key = createHash('sha256').update(rawKey).digest('base64url');
    const now = Date.now();
    const hit = this.cache.get(key);
    if (hit && hit.until > now) return unwrap(hit.answer);
    let pending = this.inFlight.get(key);
    if (!pending) {
      pending = this.ask(path, headers).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, pending);
      void pending.then((answer) => this.remember(key, answer));
    }
    return unwrap(await pending);
  }

  private remember(key: string, answer: Answer): void {
    const ttl = answer.ok ? this.opts.cacheMs : answer.error.statusCode === 401 ? Math.min(this.opts.cacheMs, 1000) : 0;
    if (ttl <= 0) return;
    const max = this.opts.maxEntries ?? 10_000;
    if (this.cache.size >= max) {
      const now = Date.now();
      for (const [k, v] of this.cache) if (v.until <= now) this.cache.delete(k);
      // Still full: drop the oldest (Map keeps insertion order).
      while (this.cache.size >= max) this.cache.delete(this.cache.keys().next().value as string);
    }
    this.cache.delete(key);
    this.cache.set(key, { answer, until: Date.now() + ttl });
  }

  private async ask(path: string, headers: Record<string, string>): Promise<Answer> {
    let res: Response;
    try {
      res = await fetch(`${this.opts.baseUrl}${path}`, {
        headers: { ...headers, accept: 'application/json' },
        signal: AbortSignal.timeout(this.opts.timeoutMs ?? 5000),
      });
    } catch (err) {
      this.opts.log.warn({ err: (err as Error).message }, 'users service unreachable');
      return { ok: false, error: new HttpError(502, 'users service unreachable') };
    }
    let body: unknown;
    try {
      body = await res.json();
    } catch {
      body = undefined;
    }
    if (res.status === 401 || res.status === 403 || res.status === 404 || res.status === 400) {
      return { ok: false, error: new HttpError(401, 'not authorised for this organisation') };
    }
    if (!res.ok) {
      this.opts.log.warn({ status: res.status }, 'users service failed a lookup');
      return { ok: false, error: new HttpError(502, `users service failed (HTTP ${res.status})`) };
    }
    const b = (body ?? {}) as { organizationID?: unknown; organizationName?: unknown };
    if (!isOrgId(b.organizationID)) {
      this.opts.log.error({ organizationID: b.organizationID }, 'users service returned an invalid organisation ID');
      return { ok: false, error: new HttpError(502, 'users service returned an invalid organisation ID') };
    }
    const org: OrgRef = { organizationID: b.organizationID };
    if (typeof b.organizationName === 'string') org.organizationName = b.organizationName;
    return { ok: true, org };
  }
}

function unwrap(answer: Answer): OrgRef {
  if (answer.ok) return answer.org;
  throw answer.error;
}

/** The session cookie's value from a Cookie header (only it is forwarded to users). */
export function sessionFrom(cookieHeader: string | undefined): string | undefined {
  if (!cookieHeader) return undefined;
  for (const part of cookieHeader.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === SESSION_COOKIE) {
      const value = part.slice(eq + 1).trim();
      return value && /^[\x21-\x7e]{1,4096}$/.test(value) && !value.includes(';') ? value : undefined;
    }
  }
  return undefined;
}
