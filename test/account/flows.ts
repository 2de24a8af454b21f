/**
 * The account flows, run over real HTTP through the frontend. Each database kind runs in a test file of its
 * own: PGlite runs inside the test process and starting it stalls that process's event loop for seconds,
 * which would starve an in-process users service of the other kind (its SMTP greeting times out).
 */
import type { ExecutionContext } from 'ava';
import type { Maildev } from '@saas/kit/testing';
import { rawRequest } from '../helpers/http.ts';
import { startStack, uniqueEmail, type DatabaseKind, type Stack } from '../helpers/stack.ts';

interface Answer<T> {
  status: number;
  body: T;
  headers: Headers;
}

async function call<T = unknown>(url: string, init: RequestInit & { cookie?: string } = {}): Promise<Answer<T>> {
  const headers = new Headers(init.headers);
  if (init.cookie) headers.set('cookie', init.cookie);
  const res = await fetch(url, { ...init, headers, redirect: 'manual' });
  const text = await res.text();
  let body: unknown = text;
  if ((res.headers.get('content-type') ?? '').includes('application/json')) body = JSON.parse(text);
  return { status: res.status, body: body as T, headers: res.headers };
}

const postJson = <T>(url: string, body: unknown, cookie?: string) =>
  call<T>(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), cookie });

/** `name=value` of the session cookie a response set, with its attributes checked by the caller. */
function sessionCookie(headers: Headers): { pair: string; attributes: string } | undefined {
  const set = headers.getSetCookie().find((c) => c.startsWith('_weave_scope_session='));
  if (!set) return undefined;
  const [pair = '', ...attributes] = set.split(';');
  return { pair: pair.trim(), attributes: attributes.join(';') };
}

type ErrorAnswer = { errors: { message: string }[] };

export const accountFlowTitle = 'the whole account flow through the frontend: sign-up → mail → approval → login link → session → org → probe token';

export async function accountFlow(t: ExecutionContext, kind: DatabaseKind, mail: Maildev): Promise<void> {
  const stack: Stack = await startStack({ database: kind, mail });
  t.teardown(() => stack.close());
  const front = stack.frontendUrl;

  // The sign-up page comes from the ui-server, through the frontend.
  const home = await call<string>(`${front}/`, { headers: { accept: 'text/html' } });
  t.is(home.status, 200);
  t.regex(home.body, /<form id="signup-form"/);

  // 1. Sign up through the frontend → the welcome mail.
  const email = uniqueEmail('account');
  const signup = await postJson<{ message: string }>(`${front}/api/users/signup`, { email });
  t.is(signup.status, 200, JSON.stringify(signup.body));
  const welcome = await stack.mail.waitForMail(email, /on the list/i, 60_000);
  t.truthy(welcome.text);

  // A bad address is a 400 with the error body, through the frontend too.
  const bad = await postJson<ErrorAnswer>(`${front}/api/users/signup`, { email: 'not-an-address' });
  t.is(bad.status, 400);
  t.regex(bad.body.errors[0]!.message, /email/);

  // 2. Approval on the users port (its private API is not reachable through the frontend) → the login link.
  const approved = await stack.approve(email);
  t.regex(approved.organizationName, /\S/);
  const link = await stack.loginLink(email);
  t.is(link.origin, front, 'the mailed link points at the frontend');
  t.is(link.pathname, '/login');
  t.is(link.searchParams.get('email'), email);

  // 3. The link opens the ui-server's login page, whose script calls the users API with the same query.
  const loginPage = await call<string>(`${front}${link.pathname}${link.search}`, { headers: { accept: 'text/html' } });
  t.is(loginPage.status, 200);
  t.regex(loginPage.body, /data-page="login"/);
  t.is(loginPage.headers.get('referrer-policy'), 'no-referrer', 'the token never leaves in a Referer');

  const login = await call<{ email: string; organizationName: string }>(`${front}/api/users/login${link.search}`);
  t.is(login.status, 200, JSON.stringify(login.body));
  t.deepEqual(login.body, { email, organizationName: approved.organizationName });
  const cookie = sessionCookie(login.headers);
  t.truthy(cookie, 'the session cookie is set through the frontend');
  t.regex(cookie!.attributes, /HttpOnly/i);
  t.regex(cookie!.attributes, /SameSite=Lax/i);

  // The link is single use.
  const again = await call<ErrorAnswer>(`${front}/api/users/login${link.search}`);
  t.is(again.status, 401);
  t.regex(again.body.errors[0]!.message, /already been used/);

  // 4. The dashboard's calls: lookup, then the organisation with its probe token.
  const lookup = await call<{ email: string; organizationName: string; firstProbeUpdateAt: string | null }>(`${front}/api/users/lookup`, {
    cookie: cookie!.pair,
  });
  t.is(lookup.status, 200);
  t.is(lookup.body.email, email);
  t.is(lookup.body.organizationName, approved.organizationName);
  t.is(lookup.body.firstProbeUpdateAt, null);

  const org = await call<{ name: string; probeToken: string; firstProbeUpdateAt: string | null }>(
    `${front}/api/users/org/${encodeURIComponent(lookup.body.organizationName)}`,
    { cookie: cookie!.pair },
  );
  t.is(org.status, 200);
  t.is(org.body.name, approved.organizationName);
  t.regex(org.body.probeToken, /^\S{16,}$/);

  t.is((await call(`${front}/api/users/lookup`)).status, 401, 'no cookie, no lookup');
  t.is((await call(`${front}/api/users/org/someone-else`, { cookie: cookie!.pair })).status, 401, "another org's token is not shown");

  // 5. The probe token works where probes present it (app-mapper asks users this), and the handshake answers.
  const probeLookup = await call<{ organizationID: string; organizationName: string }>(`${stack.usersUrl}/private/api/users/lookup`, {
    headers: { authorization: `Scope-Probe token=${org.body.probeToken}` },
  });
  t.is(probeLookup.status, 200);
  t.is(probeLookup.body.organizationName, approved.organizationName);
  const handshake = await call<{ id: string }>(`${front}/api`);
  t.is(handshake.status, 200);
  t.truthy(handshake.body.id);

  // 6. Logout through the frontend ends the session.
  const logout = await postJson(`${front}/api/users/logout`, {}, cookie!.pair);
  t.is(logout.status, 200);
  t.is((await call(`${front}/api/users/lookup`, { cookie: cookie!.pair })).status, 401);
}

export const privateTitle = '/private/* through the frontend never reaches users, however it is spelled';

export async function privateNeverReachesUsers(t: ExecutionContext, kind: DatabaseKind, mail: Maildev): Promise<void> {
  const stack = await startStack({ database: kind, mail });
  t.teardown(() => stack.close());

  const email = uniqueEmail('private');
  t.is((await postJson(`${stack.frontendUrl}/api/users/signup`, { email })).status, 200);
  const listed = await call<{ id: string; email: string; approved: boolean }[]>(`${stack.usersUrl}/private/api/users`, {
    headers: { accept: 'application/json' },
  });
  t.is(listed.status, 200, 'on its own port users answers the private API');
  const user = listed.body.find((u) => u.email === email);
  t.truthy(user);

  // fetch would resolve `..` and `//` before sending; these go out exactly as written.
  const reads = ['/private/api/users', '/%70rivate/api/users', '//private/api/users', '/api/../private/api/users', '/api/users/..%2f..%2fprivate/api/users'];
  for (const path of reads) {
    const res = await rawRequest(stack.frontendUrl, { path, headers: { accept: 'application/json' } });
    t.is(res.status, 404, `${path}: ${res.text}`);
    t.false(res.text.includes(email), `${path} leaked the user list`);
  }
  const approvals = [`/private/api/users/${user!.id}/approve`, `/%70rivate/api/users/${user!.id}/approve`, `/api/users/../../private/api/users/${user!.id}/approve`];
  for (const path of approvals) {
    const res = await rawRequest(stack.frontendUrl, { method: 'POST', path, headers: { accept: 'application/json' } });
    t.is(res.status, 404, `${path}: ${res.text}`);
  }
  const after = await call<{ email: string; approved: boolean }[]>(`${stack.usersUrl}/private/api/users`, { headers: { accept: 'application/json' } });
  t.false(after.body.find((u) => u.email === email)?.approved, 'nobody got approved through the frontend');
  t.is((await rawRequest(stack.frontendUrl, { path: '/private/admin', headers: { accept: 'text/html' } })).status, 404);
}
