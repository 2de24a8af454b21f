import test from 'ava';
import { maildevForFile } from '../helpers/maildev.ts';
import { secretsEqual, sha256 } from '../../images/users/src/tokens.ts';
import { databases, loggedInUser, loginLinkOf, postJson, request, sessionCookie, startUsers, uniqueEmail, userId, withDatabase, type ErrorBody } from './helpers.ts';

const mail = maildevForFile();

const loginUrl = (base: string, email: string, token: string) =>
  `${base}/api/users/login?email=${encodeURIComponent(email)}&token=${encodeURIComponent(token)}`;

/** Signs up and approves an address; returns the token of the link mailed. */
async function approvedToken(base: string, email: string): Promise<string> {
  const signup = await postJson(`${base}/api/users/signup`, { email });
  if (signup.status !== 200) throw new Error(`sign-up failed: ${signup.status} ${JSON.stringify(signup.body)}`);
  const approve = await postJson(`${base}/private/api/users/${await userId(base, email)}/approve`, {});
  if (approve.status !== 200) throw new Error(`approval failed: ${approve.status} ${JSON.stringify(approve.body)}`);
  return loginLinkOf(await mail().waitForMail(email, /ready/, 60_000)).token;
}

test('probe tokens and secrets are compared in constant time whatever their lengths', (t) => {
  t.true(secretsEqual('abc', 'abc'));
  t.false(secretsEqual('abc', 'abd'));
  // timingSafeEqual throws on buffers of different lengths; comparing digests never does
  t.false(secretsEqual('abc', 'abcdef'));
  t.false(secretsEqual('', 'x'));
  t.is(sha256('x'), '2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881');
});

for (const [label, startDatabase] of databases) {
  test.serial(`login tokens are single use, bound to the address, expire after 72 h and are stored only hashed on ${label}`, async (t) => {
    await withDatabase(startDatabase, async (database) => {
      const users = await startUsers({ databaseUrl: database.url, smtpUrl: mail().smtpUrl });
      try {
        const base = users.url;

        // hashed at rest: the raw token is nowhere in the database, its SHA-256 is
        const alice = uniqueEmail('alice');
        const token = await approvedToken(base, alice);
        const stored = await users.db.query<{ token_hash: string }>('SELECT token_hash FROM login_tokens');
        t.deepEqual(
          stored.rows.map((r) => r.token_hash),
          [sha256(token)],
        );
        for (const table of ['login_tokens', 'mail_outbox', 'users', 'sessions']) {
          const dump = await users.db.query(`SELECT * FROM ${table}`);
          t.false(JSON.stringify(dump.rows).includes(token), `${table} holds the raw token`);
        }

        // a valid token with another address does not log in, nor use the token up
        const bob = uniqueEmail('bob');
        await postJson(`${base}/api/users/signup`, { email: bob });
        const wrongEmail = await request<ErrorBody>(loginUrl(base, bob, token));
        t.is(wrongEmail.status, 401);
        t.regex(wrongEmail.body.errors[0]?.message ?? '', /not valid/);

        // single use
        const first = await request(loginUrl(base, alice.toUpperCase(), token));
        t.is(first.status, 200);
        const second = await request<ErrorBody>(loginUrl(base, alice, token));
        t.is(second.status, 401);
        t.regex(second.body.errors[0]?.message ?? '', /already been used/);
        t.is(second.headers.getSetCookie().length, 0);

        // a token nobody issued, a malformed one
        const forged = await request<ErrorBody>(loginUrl(base, alice, 'a'.repeat(40)));
        t.is(forged.status, 401);
        t.regex(forged.body.errors[0]?.message ?? '', /not valid/);
        t.is((await request(loginUrl(base, alice, 'not-a-token'))).status, 401);

        // expiry: still good at 71 h, gone at 73 h (the service's clock is moved, nobody sleeps)
        const carol = uniqueEmail('carol');
        const carolToken = await approvedToken(base, carol);
        const dave = uniqueEmail('dave');
        const daveToken = await approvedToken(base, dave);
        users.clock.advanceHours(71);
        t.is((await request(loginUrl(base, carol, carolToken))).status, 200);
        users.clock.advanceHours(2);
        const expired = await request<ErrorBody>(loginUrl(base, dave, daveToken));
        t.is(expired.status, 401);
        t.regex(expired.body.errors[0]?.message ?? '', /expired/);

        // signing up again when approved mails a fresh link, which works
        await postJson(`${base}/api/users/signup`, { email: dave });
        const fresh = loginLinkOf(await mail().waitForMail(dave, /login link/, 60_000));
        t.not(fresh.token, daveToken);
        t.is((await request(loginUrl(base, dave, fresh.token))).status, 200);
      } finally {
        await users.stop();
      }
    });
  });

  test.serial(`LOGIN_TOKEN_TTL_HOURS sets how long a login link lasts on ${label}`, async (t) => {
    await withDatabase(startDatabase, async (database) => {
      const users = await startUsers({ databaseUrl: database.url, smtpUrl: mail().smtpUrl, env: { LOGIN_TOKEN_TTL_HOURS: '2' } });
      try {
        const email = uniqueEmail('ttl');
        const token = await approvedToken(users.url, email);
        users.clock.advanceHours(2.01);
        const res = await request<ErrorBody>(loginUrl(users.url, email, token));
        t.is(res.status, 401);
        t.regex(res.body.errors[0]?.message ?? '', /expired/);
      } finally {
        await users.stop();
      }
    });
  });

  test.serial(`session cookies: flags, tampering, expiry, deleted user, logout on ${label}`, async (t) => {
    await withDatabase(startDatabase, async (database) => {
      const users = await startUsers({ databaseUrl: database.url, smtpUrl: mail().smtpUrl, env: { SESSION_TTL_HOURS: '24' } });
      try {
        const base = users.url;
        const email = uniqueEmail('session');
        const token = await approvedToken(base, email);
        const login = await request(loginUrl(base, email, token));
        t.is(login.status, 200);
        const setCookie = login.headers.getSetCookie().find((c) => c.startsWith('_weave_scope_session=')) ?? '';
        t.regex(setCookie, /; HttpOnly/i);
        t.regex(setCookie, /; SameSite=Lax/i);
        t.regex(setCookie, /; Path=\/(;|$)/);
        t.regex(setCookie, /; Max-Age=86400/);
        t.notRegex(setCookie, /; Secure/i); // FRONTEND_URL is http here
        const cookie = sessionCookie(login);
        t.is((await request(`${base}/api/users/lookup`, { headers: { cookie } })).status, 200);

        // the session id is stored only as a hash
        const value = decodeURIComponent(cookie.slice('_weave_scope_session='.length));
        const sessionId = value.slice(0, value.lastIndexOf('.'));
        const rows = await users.db.query<{ id_hash: string }>('SELECT id_hash FROM sessions');
        t.deepEqual(
          rows.rows.map((r) => r.id_hash),
          [sha256(sessionId)],
        );

        // tampering: a changed signature, a changed id under the old signature, an unsigned id, garbage
        const signature = value.slice(value.lastIndexOf('.') + 1);
        const flipped = signature.startsWith('A') ? `B${signature.slice(1)}` : `A${signature.slice(1)}`;
        for (const bad of [`${sessionId}.${flipped}`, `${sessionId.startsWith('x') ? 'y' : 'x'}${sessionId.slice(1)}.${signature}`, sessionId, 'garbage', '']) {
          const res = await request<ErrorBody>(`${base}/api/users/lookup`, {
            headers: { cookie: `_weave_scope_session=${encodeURIComponent(bad)}` },
          });
          t.is(res.status, 401, `cookie ${bad}`);
          t.truthy(res.body.errors[0]?.message);
        }
        t.is((await request(`${base}/api/users/lookup`)).status, 401);

        // expiry
        users.clock.advanceHours(23);
        t.is((await request(`${base}/api/users/lookup`, { headers: { cookie } })).status, 200);
        users.clock.advanceHours(2);
        const expired = await request<ErrorBody>(`${base}/api/users/lookup`, { headers: { cookie } });
        t.is(expired.status, 401);
        t.regex(expired.body.errors[0]?.message ?? '', /expired/);

        // a deleted user's session dies with them
        const other = await loggedInUser(base, mail(), 'deleted');
        t.is((await request(`${base}/api/users/lookup`, { headers: { cookie: other.cookie } })).status, 200);
        await users.db.query('DELETE FROM users WHERE id = $1', [other.id]);
        t.is((await request(`${base}/api/users/lookup`, { headers: { cookie: other.cookie } })).status, 401);
        t.is((await request(`${base}/api/users/org/${other.organizationName}`, { headers: { cookie: other.cookie } })).status, 401);
        t.is(
          (await request(`${base}/private/api/users/lookup/${other.organizationName}`, { headers: { cookie: other.cookie } })).status,
          401,
        );

        // logout without a session is harmless; with one, it ends it
        t.is((await request(`${base}/api/users/logout`, { method: 'POST' })).status, 200);
      } finally {
        await users.stop();
      }
    });
  });

  test.serial(`nobody reaches another organisation, and probe tokens are checked on ${label}`, async (t) => {
    await withDatabase(startDatabase, async (database) => {
      const users = await startUsers({ databaseUrl: database.url, smtpUrl: mail().smtpUrl });
      try {
        const base = users.url;
        const [a, b] = await Promise.all([loggedInUser(base, mail(), 'orga'), loggedInUser(base, mail(), 'orgb')]);
        t.not(a.organizationName, b.organizationName);

        const mine = await request<{ probeToken: string }>(`${base}/api/users/org/${a.organizationName}`, { headers: { cookie: a.cookie } });
        t.is(mine.status, 200);
        const theirs = await request<ErrorBody>(`${base}/api/users/org/${b.organizationName}`, { headers: { cookie: a.cookie } });
        const nobodys = await request<ErrorBody>(`${base}/api/users/org/no-such-org-1`, { headers: { cookie: a.cookie } });
        t.is(theirs.status, 401);
        t.is(nobodys.status, 401);
        t.false(JSON.stringify(theirs.body).includes('probe'));
        // an existing and a nonexistent name are refused alike
        t.is(theirs.body.errors[0]?.message.replace(b.organizationName, 'X'), nobodys.body.errors[0]?.message.replace('no-such-org-1', 'X'));
        t.is((await request(`${base}/api/users/org/${a.organizationName}`)).status, 401);

        t.is((await request(`${base}/private/api/users/lookup/${b.organizationName}`, { headers: { cookie: a.cookie } })).status, 401);
        t.is((await request(`${base}/private/api/users/lookup/no-such-org-1`, { headers: { cookie: a.cookie } })).status, 401);
        t.is((await request(`${base}/private/api/users/lookup/${a.organizationName}`)).status, 401);
        t.is((await request(`${base}/private/api/users/lookup/${a.organizationName}`, { headers: { cookie: b.cookie } })).status, 401);
        t.is((await request(`${base}/private/api/users/lookup/${a.organizationName}`, { headers: { cookie: a.cookie } })).status, 200);

        // probe lookups: only the exact token in the exact header form
        const probeToken = mine.body.probeToken;
        const last = probeToken.at(-1) === 'a' ? 'b' : 'a';
        for (const authorization of [
          undefined,
          '',
          `Bearer ${probeToken}`,
          `Scope-Probe ${probeToken}`,
          'Scope-Probe token=',
          `Scope-Probe token=${probeToken.slice(0, -1)}${last}`,
          `Scope-Probe token=${probeToken}x`,
          `Scope-Probe token=${probeToken.slice(0, 8)}`,
        ]) {
          const res = await request<ErrorBody>(`${base}/private/api/users/lookup`, {
            headers: authorization === undefined ? {} : { authorization },
          });
          t.is(res.status, 401, `Authorization: ${authorization}`);
          t.truthy(res.body.errors[0]?.message);
        }
        const firstProbe = await users.db.query<{ n: string }>('SELECT count(*) AS n FROM organizations WHERE first_probe_update_at IS NOT NULL');
        t.is(Number(firstProbe.rows[0]?.n), 0, 'refused lookups record no probe');
        const ok = await request(`${base}/private/api/users/lookup`, { headers: { authorization: `scope-probe token=${probeToken}` } });
        t.is(ok.status, 200);
      } finally {
        await users.stop();
      }
    });
  });

  test.serial(`sign-up answers the same for a new, a pending and an approved address on ${label}`, async (t) => {
    await withDatabase(startDatabase, async (database) => {
      const users = await startUsers({ databaseUrl: database.url, smtpUrl: mail().smtpUrl });
      try {
        const base = users.url;
        const email = uniqueEmail('same');
        const asNew = await postJson(`${base}/api/users/signup`, { email });
        const asPending = await postJson(`${base}/api/users/signup`, { email: email.toUpperCase() });
        await postJson(`${base}/private/api/users/${await userId(base, email)}/approve`, {});
        const asApproved = await postJson(`${base}/api/users/signup`, { email });
        for (const res of [asNew, asPending, asApproved]) t.is(res.status, 200);
        t.deepEqual(asPending.body, asNew.body);
        t.deepEqual(asApproved.body, asNew.body);
        const count = await users.db.query<{ n: string }>('SELECT count(*) AS n FROM users WHERE email = $1', [email]);
        t.is(Number(count.rows[0]?.n), 1);
        // one welcome mail, however often the address signs up while pending
        await mail().waitForMail(email, /login link/, 60_000);
        const welcomes = (await mail().list()).filter((m) => m.to.some((to) => to.address === email) && /on the list/.test(m.subject));
        t.is(welcomes.length, 1);
      } finally {
        await users.stop();
      }
    });
  });
}
