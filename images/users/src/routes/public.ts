import type { FastifyInstance, FastifyRequest } from 'fastify';
import { badRequest, HttpError, unauthorized } from '@saas/kit';
import type { UsersContext } from '../context.ts';
import { bodyObject, normaliseEmail, queryString } from '../input.ts';
import { LOGIN_TOKEN_PATTERN, sha256 } from '../tokens.ts';

const SIGNUP_ANSWER = {
  message: 'Thanks for signing up! Check your mail: we sent you a note, and will mail you a login link once your account is approved.',
};

const LOGIN_FAILURES = {
  invalid: 'this login link is not valid; use the latest link we mailed you',
  used: 'this login link has already been used; sign up again with the same address to get a new one',
  expired: 'this login link has expired; sign up again with the same address to get a new one',
} as const;

/**
 * The client's address: the last X-Forwarded-For entry is the one the frontend saw (it replaces whatever a client
 * sent unless a trusted proxy stands before it); without one, the peer.
 */
function clientAddress(request: FastifyRequest): string {
  const forwarded = request.headers['x-forwarded-for'];
  const last = (Array.isArray(forwarded) ? forwarded.join(',') : forwarded)?.split(',').pop()?.trim();
  return last || request.socket.remoteAddress || 'unknown';
}

/** The public API, reached through the frontend: sign-up, login, logout, and the dashboard's lookups. */
export function publicRoutes(app: FastifyInstance, ctx: UsersContext): void {
  const { store, sessions, outbox, clock, throttle, signupLimits } = ctx;

  app.post('/api/users/signup', async (request, reply) => {
    // The sign-up page's form posts here when JavaScript is off: answer it with pages, not JSON.
    const fromForm = request.headers['content-type']?.startsWith('application/x-www-form-urlencoded') ?? false;
    const raw = bodyObject(request.body).email;
    let email: string;
    try {
      email = normaliseEmail(raw);
    } catch (err) {
      if (!fromForm || !(err instanceof HttpError)) throw err;
      const back = new URLSearchParams({ email: typeof raw === 'string' ? raw : '', error: err.message });
      return reply.code(303).header('location', `/?${back}`).send();
    }
    const now = clock();
    const client = await throttle.attempt(`signup-client:${clientAddress(request)}`, signupLimits.perClient, now);
    if (!client.allowed) {
      const seconds = Math.max(1, Math.ceil((client.resetsAt.getTime() - now.getTime()) / 1000));
      throw new HttpError(429, `too many sign-ups from your address; try again in ${seconds} s`, { 'Retry-After': String(seconds) });
    }
    // Past its share of mails an address is still answered as always: the caller learns nothing about it.
    const address = await throttle.attempt(`signup-mail:${sha256(email)}`, signupLimits.mailsPerAddress, now);
    const outcome = await store.signup(email, now, { mail: address.allowed });
    if (outcome !== 'pending' && address.allowed) outbox.wake();
    request.log.info({ outcome, mailed: address.allowed }, 'sign-up');
    // The same answer whatever the outcome, so the endpoint does not tell who has an account.
    if (fromForm) return reply.code(303).header('location', `/signup/done?${new URLSearchParams({ email })}`).send();
    return SIGNUP_ANSWER;
  });

  app.get('/api/users/login', async (request, reply) => {
    const rawEmail = queryString(request.query, 'email');
    const token = queryString(request.query, 'token');
    if (!rawEmail || !token) throw badRequest('the login link is incomplete: it needs both email and token');
    const email = normaliseEmail(rawEmail);
    if (!LOGIN_TOKEN_PATTERN.test(token)) throw unauthorized(LOGIN_FAILURES.invalid);
    const result = await store.consumeLoginToken(email, sha256(token), clock());
    if (typeof result === 'string') throw new HttpError(401, LOGIN_FAILURES[result]);
    if (!result.organization) throw unauthorized(LOGIN_FAILURES.invalid);
    await sessions.create(reply, result.id);
    request.log.info({ userId: result.id }, 'logged in');
    return { email: result.email, organizationName: result.organization.name };
  });

  app.post('/api/users/logout', async (request, reply) => {
    await sessions.destroy(request, reply);
    return { message: 'logged out' };
  });

  app.get('/api/users/lookup', async (request) => {
    const user = await sessions.require(request);
    return {
      email: user.email,
      organizationName: user.organization.name,
      firstProbeUpdateAt: user.organization.firstProbeUpdateAt?.toISOString() ?? null,
    };
  });

  app.get<{ Params: { orgName: string } }>('/api/users/org/:orgName', async (request) => {
    const user = await sessions.require(request);
    // Any organisation but the caller's gets the same 401, so names of others cannot be probed.
    if (request.params.orgName !== user.organization.name) throw unauthorized(`no access to organisation ${request.params.orgName.slice(0, 100)}`);
    const org = user.organization;
    return { name: org.name, probeToken: org.probeToken, firstProbeUpdateAt: org.firstProbeUpdateAt?.toISOString() ?? null };
  });
}
