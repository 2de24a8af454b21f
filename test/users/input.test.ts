import test from 'ava';
import { createPostgresDatabase, freePort, type TestDatabase } from '@saas/kit/testing';
import { postJson, request, startUsers, type ErrorBody, type RunningUsers } from './helpers.ts';

let database: TestDatabase;
let users: RunningUsers;
test.before(async () => {
  database = await createPostgresDatabase();
  // no mail server: nothing here should get as far as mailing
  users = await startUsers({ databaseUrl: database.url, smtpUrl: `smtp://127.0.0.1:${await freePort()}` });
});
test.after.always(async () => {
  await users?.stop();
  await database?.close();
});

const post = (path: string, body: string, contentType = 'application/json') =>
  request<ErrorBody>(`${users.url}${path}`, { method: 'POST', headers: { 'content-type': contentType }, body });

function isError(t: import('ava').ExecutionContext, res: { status: number; body: ErrorBody }, status: number, message: RegExp) {
  t.is(res.status, status, JSON.stringify(res.body));
  t.true(Array.isArray(res.body.errors), JSON.stringify(res.body));
  t.regex(res.body.errors[0]?.message ?? '', message);
}

test.serial('malformed JSON is a 400 that says so', async (t) => {
  isError(t, await post('/api/users/signup', '{"email": "a@example.com"'), 400, /malformed JSON/);
  isError(t, await post('/api/users/signup', 'email=a@example.com'), 400, /malformed JSON/);
});

test.serial('a missing email, or no body, is a 400', async (t) => {
  isError(t, await post('/api/users/signup', '{}'), 400, /email is required/);
  isError(t, await post('/api/users/signup', '{"email": "   "}'), 400, /email is required/);
  isError(t, await post('/api/users/signup', ''), 400, /body .*required/);
  isError(t, await post('/api/users/signup', 'null'), 400, /body .*required/);
});

test.serial('an invalid email address is a 400 naming it', async (t) => {
  for (const email of ['not-an-email', 'a@', '@example.com', 'a b@example.com', 'a@exa mple.com', '<a>@example.com', 'a@-example.com', `${'a'.repeat(250)}@example.com`]) {
    isError(t, await postJson<ErrorBody>(`${users.url}/api/users/signup`, { email }), 400, /email is (not a valid email address|too long)/);
  }
  const count = await users.db.query('SELECT 1 FROM users');
  t.is(count.rowCount, 0);
});

test.serial('wrong types are a 400', async (t) => {
  isError(t, await postJson<ErrorBody>(`${users.url}/api/users/signup`, { email: 42 }), 400, /email must be a string/);
  isError(t, await postJson<ErrorBody>(`${users.url}/api/users/signup`, { email: ['a@example.com'] }), 400, /email must be a string/);
  isError(t, await postJson<ErrorBody>(`${users.url}/api/users/signup`, { email: { address: 'a@example.com' } }), 400, /email must be a string/);
  isError(t, await post('/api/users/signup', '["a@example.com"]'), 400, /JSON object/);
  isError(t, await post('/api/users/signup', '"a@example.com"'), 400, /JSON object/);
  isError(t, await post('/api/users/signup', '{"__proto__": {"admin": true}, "email": "a@example.com"}'), 400, /may not use the key __proto__/);
});

test.serial('an oversized body is a 413', async (t) => {
  const big = JSON.stringify({ email: 'a@example.com', padding: 'x'.repeat(100 * 1024) });
  isError(t, await post('/api/users/signup', big), 413, /too large/);
  isError(t, await post('/private/api/users/00000000-0000-4000-8000-000000000000/approve', `x=${'y'.repeat(100 * 1024)}`, 'application/x-www-form-urlencoded'), 413, /too large/);
});

test.serial('an unknown route is a 404, an unsupported body type a 415', async (t) => {
  isError(t, await request<ErrorBody>(`${users.url}/api/users/nope`), 404, /no route for GET \/api\/users\/nope/);
  isError(t, await post('/api/users/signupx', '{}'), 404, /no route/);
  isError(t, await request<ErrorBody>(`${users.url}/api/users/signup`), 404, /no route/);
  isError(t, await post('/api/users/signup', '<email>a@example.com</email>', 'application/xml'), 415, /Content-Type/);
  isError(t, await post('/api/users/signup', 'a@example.com', 'text/plain'), 400, /JSON object/);
});

test.serial('login links missing a part, or with a part twice, are a 400; a session-less lookup a 401', async (t) => {
  isError(t, await request<ErrorBody>(`${users.url}/api/users/login`), 400, /needs both email and token/);
  isError(t, await request<ErrorBody>(`${users.url}/api/users/login?email=a%40example.com`), 400, /needs both/);
  isError(t, await request<ErrorBody>(`${users.url}/api/users/login?token=abc`), 400, /needs both/);
  isError(t, await request<ErrorBody>(`${users.url}/api/users/login?email=a%40example.com&email=b%40example.com&token=${'a'.repeat(40)}`), 400, /given once/);
  isError(t, await request<ErrorBody>(`${users.url}/api/users/login?email=nope&token=${'a'.repeat(40)}`), 400, /not a valid email/);
  isError(t, await request<ErrorBody>(`${users.url}/api/users/lookup`), 401, /not logged in/);
  isError(t, await request<ErrorBody>(`${users.url}/api/users/org/x`), 401, /not logged in/);
});

test.serial('logout and approve take an empty JSON body; nothing above made the service fail', async (t) => {
  const logout = await post('/api/users/logout', '');
  t.is(logout.status, 200);
  isError(t, await post('/private/api/users/00000000-0000-4000-8000-000000000000/approve', ''), 404, /no user/);
  t.is((await request(`${users.url}/healthz`)).status, 200);
  t.falsy(users.logs.lines.find((l) => l.msg === 'request failed'), 'no request ended in a 5xx');
});

test.serial('the sign-up form without JavaScript gets pages back: 303 to "check your mail", or back to the form with the error', async (t) => {
  const form = (body: string) =>
    fetch(`${users.url}/api/users/signup`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
  const ok = await form('email=Form.User%40Example.com');
  t.is(ok.status, 303);
  t.is(ok.headers.get('location'), '/signup/done?email=form.user%40example.com');
  const bad = await form('email=not-an-email');
  t.is(bad.status, 303);
  const back = new URL(bad.headers.get('location') ?? '', 'http://x');
  t.is(back.pathname, '/');
  t.is(back.searchParams.get('email'), 'not-an-email');
  t.regex(back.searchParams.get('error') ?? '', /not a valid email address/);
  const stored = await users.db.query<{ email: string }>('SELECT email FROM users WHERE email = $1', ['form.user@example.com']);
  t.is(stored.rowCount, 1);
});
