import type { FastifyInstance, FastifyRequest } from 'fastify';
import { forbidden, notFound, unauthorized } from '@saas/kit';
import { parseProbeAuthorization, PROBE_AUTH_EXPECTED } from '@saas/kit/contracts';
import type { UsersContext } from '../context.ts';
import type { UserWithOrganization } from '../store.ts';
import { secretsEqual, sha256 } from '../tokens.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const ADMIN_PATH = '/private/admin';

const userJson = (u: UserWithOrganization) => ({
  id: u.id,
  email: u.email,
  approved: u.approvedAt !== null,
  createdAt: u.createdAt.toISOString(),
});

/** A browser's form post (answered with a redirect) rather than a script's call (answered with JSON). */
function isFormPost(request: FastifyRequest): boolean {
  const type = request.headers['content-type'] ?? '';
  if (/^(application\/x-www-form-urlencoded|multipart\/form-data)/i.test(type)) return true;
  const accept = request.headers.accept ?? '';
  return accept.includes('text/html') && !accept.includes('application/json');
}

/** A form post from a page of another site must not approve anyone (the admin page has no login of its own). */
function refuseCrossSite(request: FastifyRequest): void {
  const origin = request.headers.origin;
  if (!origin || origin === 'null') return;
  let host: string;
  try {
    host = new URL(origin).host;
  } catch {
    throw forbidden('bad Origin header');
  }
  if (host !== request.headers.host) throw forbidden('cross-site requests are refused');
}

/** The private API, reached only from inside: the admin's list and approval, and the other services' lookups. */
export function privateRoutes(app: FastifyInstance, ctx: UsersContext): void {
  const { store, sessions, outbox, clock } = ctx;

  app.get('/private/api/users', async () => (await store.listUsers()).map(userJson));

  app.post<{ Params: { id: string } }>('/private/api/users/:id/approve', async (request, reply) => {
    refuseCrossSite(request);
    const { id } = request.params;
    const result = UUID.test(id) ? await store.approveUser(id.toLowerCase(), clock()) : null;
    if (!result) throw notFound(`no user with id ${id.slice(0, 100)}`);
    outbox.wake();
    const { user, alreadyApproved } = result;
    request.log.info({ userId: user.id, organization: user.organization?.name, alreadyApproved }, 'user approved');
    if (isFormPost(request)) {
      const flash = alreadyApproved ? 'resent' : 'approved';
      return reply.redirect(`${ADMIN_PATH}?${flash}=${encodeURIComponent(user.id)}`, 303);
    }
    return {
      ...userJson(user),
      organizationID: user.organization?.id ?? null,
      organizationName: user.organization?.name ?? null,
      // Approving again creates nothing: it mails a fresh login link.
      alreadyApproved,
      loginLinkMailed: true,
    };
  });

  app.get('/private/api/users/lookup', async (request) => {
    const header = request.headers.authorization;
    if (!header) throw unauthorized(`missing Authorization header: ${PROBE_AUTH_EXPECTED}`);
    const token = parseProbeAuthorization(header);
    if (!token) throw unauthorized(`malformed Authorization header: expected ${PROBE_AUTH_EXPECTED}`);
    const org = await store.findOrganizationByProbeTokenHash(sha256(token));
    if (!org || !secretsEqual(org.probeToken, token)) throw unauthorized('unknown probe token');
    if (!org.firstProbeUpdateAt) await store.recordProbeUpdate(org.id, clock());
    return { organizationID: org.id, organizationName: org.name };
  });

  app.get<{ Params: { orgName: string } }>('/private/api/users/lookup/:orgName', async (request) => {
    const user = await sessions.require(request);
    if (request.params.orgName !== user.organization.name) {
      throw unauthorized(`no access to organisation ${request.params.orgName.slice(0, 100)}`);
    }
    return { organizationID: user.organization.id, organizationName: user.organization.name };
  });
}
