import type { FastifyReply, FastifyRequest } from 'fastify';
import { fastifyCookie } from '@fastify/cookie';
import { unauthorized } from '@saas/kit';
import type { Organization, Store, UserWithOrganization } from './store.ts';
import { newSessionId, sha256 } from './tokens.ts';

import { SESSION_COOKIE } from '@saas/kit/contracts';

export { SESSION_COOKIE };

export interface SessionUser extends UserWithOrganization {
  organization: Organization;
}

export interface SessionOptions {
  store: Store;
  clock: () => Date;
  ttlHours: number;
  /** Signs the cookie (HMAC-SHA256); at least 32 characters. */
  secret: string;
  /** Mark the cookie Secure (the frontend is served over https). */
  secure: boolean;
}

type SignerBase = ReturnType<typeof fastifyCookie.signerFactory>;

/**
 * Login sessions: a random id in a cookie signed with SESSION_SECRET (HMAC, by @fastify/cookie), kept
 * server-side as a hash with an expiry, so a session can be ended and dies with its user. @fastify/cookie's
 * signer is used directly rather than the plugin: nothing to boot (and time out on a busy machine) at start.
 */
export class Sessions {
  private readonly signer: SignerBase;

  constructor(private readonly o: SessionOptions) {
    this.signer = fastifyCookie.signerFactory(o.secret, 'sha256');
  }

  async create(reply: FastifyReply, userId: string): Promise<void> {
    const id = newSessionId();
    const now = this.o.clock();
    const ttlMs = this.o.ttlHours * 3600_000;
    await this.o.store.insertSession(sha256(id), userId, now, new Date(now.getTime() + ttlMs));
    this.setCookie(reply, this.signer.sign(id), Math.floor(ttlMs / 1000));
  }

  private setCookie(reply: FastifyReply, value: string, maxAge: number): void {
    const expires = new Date(maxAge === 0 ? 0 : this.o.clock().getTime() + maxAge * 1000);
    const cookie =
      `${SESSION_COOKIE}=${encodeURIComponent(value)}; Max-Age=${maxAge}; Path=/; Expires=${expires.toUTCString()}; HttpOnly; SameSite=Lax` +
      (this.o.secure ? '; Secure' : '');
    const existing = reply.getHeader('set-cookie');
    const list = existing === undefined ? [] : Array.isArray(existing) ? existing : [String(existing)];
    reply.header('set-cookie', [...list, cookie]);
  }

  /** The session id the request's Cookie header carries, if its signature is good. */
  private sessionId(request: FastifyRequest): string | null {
    const header = request.headers.cookie;
    const raw = header ? cookieValue(header, SESSION_COOKIE) : undefined;
    if (!raw) throw unauthorized('not logged in');
    const unsigned = this.signer.unsign(raw);
    if (!unsigned.valid || !unsigned.value) return null;
    return unsigned.value;
  }

  /** The logged-in user and their organisation, or a 401. */
  async require(request: FastifyRequest): Promise<SessionUser> {
    const id = this.sessionId(request);
    if (!id) throw unauthorized('the session cookie is invalid; log in again');
    const found = await this.o.store.findSession(sha256(id), this.o.clock());
    if (found.status !== 'ok') {
      throw unauthorized(found.status === 'expired' ? 'the session has expired; log in again' : 'the session has ended; log in again');
    }
    const { user } = found;
    if (!user.organization) throw unauthorized('the account has no organisation; log in again');
    return { ...user, organization: user.organization };
  }

  /** Ends the request's session, if any, and clears the cookie. */
  async destroy(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    let id: string | null = null;
    try {
      id = this.sessionId(request);
    } catch {
      // no cookie: nothing to end
    }
    if (id) await this.o.store.deleteSession(sha256(id));
    this.setCookie(reply, '', 0);
  }
}

/** The first value of a cookie in a Cookie header, URL-decoded (as browsers and the cookie package do). */
export function cookieValue(header: string, name: string): string | undefined {
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== name) continue;
    let value = part.slice(eq + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    try {
      return decodeURIComponent(value);
    } catch {
      return value;
    }
  }
  return undefined;
}
