import test from 'ava';
import { createPostgresDatabase, type TestDatabase } from '@saas/kit/testing';
import { maildevForFile } from '../helpers/maildev.ts';
import { postJson, request, startUsers, uniqueEmail, userId, type ListedUser, type RunningUsers } from './helpers.ts';

const mail = maildevForFile();
let database: TestDatabase;
let users: RunningUsers;
test.before(async () => {
  database = await createPostgresDatabase();
  users = await startUsers({ databaseUrl: database.url, smtpUrl: (await mail.ready()).smtpUrl });
});
test.after.always(async () => {
  await users?.stop();
  await database?.close();
});

const page = async () => (await request<string>(`${users.url}/private/admin`)).body;

test.serial('GET / redirects to the admin page', async (t) => {
  const res = await request(`${users.url}/`);
  t.is(res.status, 302);
  t.is(res.headers.get('location'), '/private/admin');
});

test.serial('the admin page lists users, pending first, each pending one with an Approve form', async (t) => {
  const approved = uniqueEmail('early');
  await postJson(`${users.url}/api/users/signup`, { email: approved });
  await postJson(`${users.url}/private/api/users/${await userId(users.url, approved)}/approve`, {});
  const pending = `o'brien+${uniqueEmail('pending')}`;
  t.is((await postJson(`${users.url}/api/users/signup`, { email: pending })).status, 200);
  const id = await userId(users.url, pending);

  const res = await request<string>(`${users.url}/private/admin`);
  t.is(res.status, 200);
  t.regex(res.headers.get('content-type') ?? '', /^text\/html/);
  t.regex(res.headers.get('content-security-policy') ?? '', /form-action 'self'/);
  const html = res.body;
  const escaped = pending.replace("'", '&#39;');
  t.true(html.includes(escaped), 'the pending address, escaped');
  t.false(html.includes(pending), 'never raw');
  t.true(html.includes(`<form method="post" action="/private/api/users/${id}/approve"><button type="submit">Approve</button></form>`));
  t.true(html.indexOf(escaped) < html.indexOf(approved), 'pending before approved');
  t.regex(html, /1 pending approval/);
});

test.serial('posting the Approve form approves and redirects back with 303; the approval mail goes out', async (t) => {
  const email = uniqueEmail('form');
  await postJson(`${users.url}/api/users/signup`, { email });
  const id = await userId(users.url, email);
  const res = await request(`${users.url}/private/api/users/${id}/approve`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: '',
  });
  t.is(res.status, 303);
  t.is(res.headers.get('location'), `/private/admin?approved=${id}`);
  const after = await request<string>(`${users.url}${res.headers.get('location')}`);
  t.regex(after.body, new RegExp(`Approved ${email.replace(/[.+]/g, '\\$&')}: organisation <code>[a-z]+-[a-z]+-\\d+</code>`));
  const list = await request<ListedUser[]>(`${users.url}/private/api/users`, { headers: { accept: 'application/json' } });
  t.true(list.body.find((u) => u.id === id)?.approved);
  t.truthy(await mail().waitForMail(email, /ready/, 60_000));

  // the page now offers to resend, which answers with another 303
  t.true((await page()).includes(`action="/private/api/users/${id}/approve"><button type="submit" class="secondary">Resend login link</button>`));
  const again = await request(`${users.url}/private/api/users/${id}/approve`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'resend=1',
  });
  t.is(again.status, 303);
  t.is(again.headers.get('location'), `/private/admin?resent=${id}`);
});

test.serial('a form post from another site is refused', async (t) => {
  const email = uniqueEmail('csrf');
  await postJson(`${users.url}/api/users/signup`, { email });
  const id = await userId(users.url, email);
  const res = await request<{ errors: { message: string }[] }>(`${users.url}/private/api/users/${id}/approve`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'http://evil.example' },
    body: '',
  });
  t.is(res.status, 403);
  t.regex(res.body.errors[0]?.message ?? '', /cross-site/);
  const list = await request<ListedUser[]>(`${users.url}/private/api/users`);
  t.false(list.body.find((u) => u.id === id)?.approved);
  // the admin page's own origin is fine
  const own = await request(`${users.url}/private/api/users/${id}/approve`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: users.url },
    body: '',
  });
  t.is(own.status, 303);
});
