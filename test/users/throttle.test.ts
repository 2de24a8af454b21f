/**
 * Sign-up throttling, with two users replicas on one real PostgreSQL database (as prod runs two): an address gets
 * at most its share of mails however many sign-ups name it and whichever replica takes them, a caller cannot tell
 * from the answers whether the address exists, and one client address is held to its rate.
 */
import test from 'ava';
import { createPostgresDatabase, startMaildev, type Maildev, type TestDatabase } from '@saas/kit/testing';
import { postJson, startUsers, TestClock, uniqueEmail, userId, type ErrorBody, type RunningUsers } from './helpers.ts';

let mail: Maildev;
let db: TestDatabase;
let replicas: RunningUsers[];
const clock = new TestClock();

test.before(async () => {
  mail = await startMaildev();
  db = await createPostgresDatabase();
  const env = { SIGNUP_MAILS_PER_ADDRESS_PER_HOUR: '3', SIGNUPS_PER_CLIENT_PER_MINUTE: '5' };
  const first = await startUsers({ databaseUrl: db.url, smtpUrl: mail.smtpUrl, env, clock });
  // The second starts once the first has migrated the database.
  replicas = [first, await startUsers({ databaseUrl: db.url, smtpUrl: mail.smtpUrl, env, clock })];
});
test.after.always(async () => {
  for (const r of replicas ?? []) await r.stop();
  await db?.close();
  await mail?.stop();
});

const signup = (i: number, email: string, client: string) =>
  postJson<unknown>(`${replicas[i % 2]!.url}/api/users/signup`, { email }, { 'x-forwarded-for': client });

const mailsTo = async (email: string) =>
  (await replicas[0]!.db.query<{ kind: string }>('SELECT kind FROM mail_outbox WHERE to_address = $1 ORDER BY id', [email])).rows.map((r) => r.kind);

test.serial('30 sign-ups for an approved address send it 3 mails in the hour, across both replicas, answered alike', async (t) => {
  const bob = uniqueEmail('bob');
  t.is((await signup(0, bob, '10.0.0.1')).status, 200);
  const approve = await postJson(`${replicas[0]!.url}/private/api/users/${await userId(replicas[0]!.url, bob)}/approve`, {});
  t.is(approve.status, 200);

  const answers = [];
  for (let i = 1; i <= 30; i++) answers.push(await signup(i, bob, `10.0.1.${i}`));
  t.true(answers.every((a) => a.status === 200));
  // welcome, approval (not a sign-up), then login links until the address has had 3 sign-up mails this hour
  t.deepEqual(await mailsTo(bob), ['welcome', 'approved', 'login-link', 'login-link']);

  const stranger = uniqueEmail('nobody');
  const strangerAnswers = [];
  for (let i = 1; i <= 5; i++) strangerAnswers.push(await signup(i, stranger, `10.0.2.${i}`));
  t.deepEqual(
    strangerAnswers.map((a) => [a.status, a.body]),
    answers.slice(0, 5).map((a) => [a.status, a.body]),
    'an unknown address is answered exactly as a known, throttled one',
  );

  clock.advanceHours(1.01);
  t.is((await signup(0, bob, '10.0.3.1')).status, 200);
  t.deepEqual((await mailsTo(bob)).slice(-1), ['login-link'], 'a new hour, a new link');
});

test.serial('one client address gets 429 with Retry-After past 5 sign-ups a minute, on either replica; others are not held up', async (t) => {
  const client = '192.0.2.7';
  for (let i = 0; i < 5; i++) t.is((await signup(i, uniqueEmail('c'), client)).status, 200);
  const refused = await signup(5, uniqueEmail('c'), client);
  t.is(refused.status, 429);
  t.regex((refused.body as ErrorBody).errors[0]!.message, /too many sign-ups from your address; try again in \d+ s/);
  t.true(Number(refused.headers.get('retry-after')) >= 1);
  t.is((await signup(6, uniqueEmail('c'), '192.0.2.8')).status, 200);
  clock.offsetMs += 61_000;
  t.is((await signup(7, uniqueEmail('c'), client)).status, 200);
});
