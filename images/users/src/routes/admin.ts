import type { FastifyInstance } from 'fastify';
import type { UsersContext } from '../context.ts';
import type { UserWithOrganization } from '../store.ts';
import { queryString } from '../input.ts';
import { ADMIN_PATH } from './private.ts';

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch] as string);

const when = (d: Date) => d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');

const CSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

function row(u: UserWithOrganization): string {
  const approvePath = `/private/api/users/${encodeURIComponent(u.id)}/approve`;
  const pending = u.approvedAt === null;
  const action = pending
    ? `<form method="post" action="${approvePath}"><button type="submit">Approve</button></form>`
    : `<form method="post" action="${approvePath}"><button type="submit" class="secondary">Resend login link</button></form>`;
  return `<tr class="${pending ? 'pending' : 'approved'}">
  <td>${escapeHtml(u.email)}</td>
  <td>${when(u.createdAt)}</td>
  <td>${pending ? '<strong>pending</strong>' : `approved ${when(u.approvedAt as Date)}`}</td>
  <td>${u.organization ? `<code>${escapeHtml(u.organization.name)}</code>` : ''}</td>
  <td>${u.organization?.firstProbeUpdateAt ? when(u.organization.firstProbeUpdateAt) : ''}</td>
  <td>${action}</td>
</tr>`;
}

/** The admin page on the users port (never routed through the frontend): who waits, and a button to let them in. */
export function adminRoutes(app: FastifyInstance, ctx: UsersContext): void {
  app.get('/', async (_request, reply) => reply.redirect(ADMIN_PATH, 302));

  app.get(ADMIN_PATH, async (request, reply) => {
    const users = await ctx.store.listUsers();
    const outbox = await ctx.store.unsentMailCount();
    const notices: string[] = [];
    for (const kind of ['approved', 'resent'] as const) {
      const id = queryString(request.query, kind);
      const user = id ? users.find((u) => u.id === id) : undefined;
      if (user) {
        notices.push(
          kind === 'approved'
            ? `Approved ${escapeHtml(user.email)}: organisation <code>${escapeHtml(user.organization?.name ?? '')}</code>; a login link is on its way.`
            : `${escapeHtml(user.email)} was already approved; a new login link is on its way.`,
        );
      }
    }
    const warnings: string[] = [];
    if (outbox.count > 0 && outbox.lastError) {
      warnings.push(
        `${outbox.count} mail${outbox.count === 1 ? '' : 's'} waiting to be sent: the mail server failed (${escapeHtml(outbox.lastError)}). ` +
          'Retrying; nothing is lost.',
      );
    }
    const pending = users.filter((u) => u.approvedAt === null).length;
    const body = users.length
      ? `<table>
<thead><tr><th>Email</th><th>Signed up</th><th>Status</th><th>Organisation</th><th>First probe</th><th></th></tr></thead>
<tbody>
${users.map(row).join('\n')}
</tbody>
</table>`
      : '<p>Nobody has signed up yet.</p>';
    reply
      .type('text/html; charset=utf-8')
      .header('content-security-policy', CSP)
      .header('cache-control', 'no-store');
    return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Users — Scope as a Service admin</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; }
h1 { font-size: 1.4rem; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .45rem .7rem; border-bottom: 1px solid #ddd; vertical-align: middle; }
tr.pending { background: #fff8e1; }
form { margin: 0; }
button { padding: .3rem .9rem; cursor: pointer; background: #3f51b5; color: #fff; border: 0; border-radius: 3px; }
button.secondary { background: #eee; color: #333; }
.notice { padding: .6rem .9rem; background: #e8f5e9; border-left: 4px solid #43a047; margin-bottom: 1rem; }
.notice.warning { background: #fff3e0; border-left-color: #ef6c00; }
td { white-space: nowrap; }
td:first-child { white-space: normal; word-break: break-all; }
</style>
</head>
<body>
<h1>Users</h1>
${notices.map((n) => `<p class="notice" role="status">${n}</p>`).join('\n')}
${warnings.map((w) => `<p class="notice warning" role="alert">${w}</p>`).join('\n')}
<p>${users.length} user${users.length === 1 ? '' : 's'}, ${pending} pending approval.</p>
${body}
</body>
</html>
`;
  });
}
