import test from 'ava';
import { createPostgresDatabase, freePort, startMaildev, waitFor, type Maildev } from '@saas/kit/testing';
import { loginLinkOf, postJson, request, startUsers, uniqueEmail, userId, withDatabase, type RunningUsers } from './helpers.ts';

test('with the mail server down, sign-ups are kept and their mails go out once it is back, across a restart', async (t) => {
  await withDatabase(createPostgresDatabase, async (database) => {
    const smtpPort = await freePort(); // nothing listens there yet
    const smtpUrl = `smtp://127.0.0.1:${smtpPort}`;
    let maildev: Maildev | undefined;
    let users: RunningUsers | undefined;
    try {
      // 1. mail server down: the sign-up is stored and answered, the failure logged
      users = await startUsers({ databaseUrl: database.url, smtpUrl, mailRetrySeconds: 1 });
      const alice = uniqueEmail('alice');
      const signup = await postJson(`${users.url}/api/users/signup`, { email: alice });
      t.is(signup.status, 200);
      const stored = await users.db.query('SELECT 1 FROM users WHERE email = $1', [alice]);
      t.is(stored.rowCount, 1);
      const failure = await waitFor('the failure in the log', async () => users?.logs.find('mail delivery failed; will retry'));
      t.is(failure.to, alice);
      t.is(failure.kind, 'welcome');
      t.regex(String(failure.err), /ECONNREFUSED|connect/i);
      const admin = await request<string>(`${users.url}/private/admin`);
      t.regex(admin.body, /waiting to be sent/);

      // 2. a restart while it is still down loses nothing; an approval made meanwhile is queued too
      await users.stop();
      users = await startUsers({ databaseUrl: database.url, smtpUrl, mailRetrySeconds: 1 });
      const bob = uniqueEmail('bob');
      t.is((await postJson(`${users.url}/api/users/signup`, { email: bob })).status, 200);
      t.is((await postJson(`${users.url}/private/api/users/${await userId(users.url, alice)}/approve`, {})).status, 200);
      await waitFor('failed approval mail', async () =>
        users?.logs.lines.find((l) => l.msg === 'mail delivery failed; will retry' && l.kind === 'approved'),
      );
      await waitFor(
        'alice’s welcome retried by the new process',
        async () => users?.logs.lines.find((l) => l.msg === 'mail delivery failed; will retry' && l.kind === 'welcome' && l.to === alice),
        60_000,
      );
      // a login link that could not be sent leaves no usable token behind
      const tokens = await users.db.query('SELECT 1 FROM login_tokens');
      t.is(tokens.rowCount, 0);

      // 3. the mail server comes back on the same port: the retry loop delivers everything, once
      maildev = await startMaildev({ smtpPort });
      const welcomeAlice = await maildev.waitForMail(alice, /on the list/, 60_000);
      await maildev.waitForMail(bob, /on the list/, 60_000);
      const approval = await maildev.waitForMail(alice, /ready/, 60_000);
      t.truthy(welcomeAlice);
      const { token } = loginLinkOf(approval);
      const login = await request(`${users.url}/api/users/login?email=${encodeURIComponent(alice)}&token=${token}`);
      t.is(login.status, 200);

      const outbox = await users.db.query<{ kind: string; to_address: string; attempts: number; sent_at: Date | null }>(
        'SELECT kind, to_address, attempts, sent_at FROM mail_outbox ORDER BY id',
      );
      t.is(outbox.rows.length, 3);
      for (const row of outbox.rows) t.truthy(row.sent_at, `${row.kind} to ${row.to_address} sent`);
      t.true((outbox.rows[0]?.attempts ?? 0) >= 3, 'alice’s welcome was tried by both processes before it went out');
      const all = await maildev.list();
      t.is(all.filter((m) => m.to.some((to) => to.address === alice) && /on the list/.test(m.subject)).length, 1);
    } finally {
      await users?.stop();
      await maildev?.stop();
    }
  });
});
