import test from 'ava';
import { waitFor } from '@saas/kit/testing';
import { maildevForFile } from '../helpers/maildev.ts';
import { databases, FRONTEND_URL, loginLinkOf, postJson, request, sessionCookie, startUsers, uniqueEmail, withDatabase, type ListedUser } from './helpers.ts';

const mail = maildevForFile();

for (const [label, startDatabase] of databases) {
  test.serial(`the whole account flow over HTTP on ${label}: sign-up, welcome mail, approval, login link, session, org, probe lookup`, async (t) => {
    await withDatabase(startDatabase, async (database) => {
      const users = await startUsers({ databaseUrl: database.url, smtpUrl: mail().smtpUrl });
      try {
        const base = users.url;
        // ready once its database answers (a busy machine may need a moment for the first connection)
        const ready = await waitFor('readiness', async () => {
          const res = await request<{ ready: boolean }>(`${base}/readyz`);
          if (res.status !== 200) t.log(`readyz: ${res.status} ${JSON.stringify(res.body)}`);
          return res.status === 200 ? res : null;
        }, 30_000, 500);
        t.true(ready.body.ready);

        // 1. sign-up (the address is normalised)
        const email = uniqueEmail('flow');
        const signup = await postJson<{ message: string }>(`${base}/api/users/signup`, { email: `  ${email.toUpperCase()} ` });
        t.is(signup.status, 200);
        t.regex(signup.body.message, /sign/i);
        const welcome = await mail().waitForMail(email, /on the list/i, 60_000);
        t.regex(welcome.text ?? '', /you are on the list/);
        t.is(welcome.from[0]?.address, 'noreply@scope.local');

        // 2. the admin's list shows them pending
        const list = await request<ListedUser[]>(`${base}/private/api/users`, { headers: { accept: 'application/json' } });
        t.is(list.status, 200);
        const listed = list.body.find((u) => u.email === email);
        t.truthy(listed);
        t.deepEqual(Object.keys(listed ?? {}).sort(), ['approved', 'createdAt', 'email', 'id']);
        t.false(listed?.approved);
        t.false(Number.isNaN(Date.parse(listed?.createdAt ?? '')));
        const id = listed?.id ?? '';

        // 3. approval creates the organisation and mails the login link
        const approve = await postJson<{ organizationID: string; organizationName: string; approved: boolean }>(
          `${base}/private/api/users/${id}/approve`,
          {},
        );
        t.is(approve.status, 200);
        t.true(approve.body.approved);
        t.regex(approve.body.organizationID, /^[a-z0-9]+$/);
        t.regex(approve.body.organizationName, /^[a-z]+-[a-z]+-\d+$/);
        const approvedMail = await mail().waitForMail(email, /ready/i, 60_000);
        t.true((approvedMail.text ?? '').includes(approve.body.organizationName));
        const { link, email: linkEmail, token } = loginLinkOf(approvedMail);
        t.is(`${link.origin}${link.pathname}`, `${FRONTEND_URL}/login`);
        t.is(linkEmail, email);
        t.regex(token, /^[0-9a-f]{40}$/);
        t.true((approvedMail.html ?? '').includes(`email=${encodeURIComponent(email)}`));
        const relisted = await request<ListedUser[]>(`${base}/private/api/users`, { headers: { accept: 'application/json' } });
        t.true(relisted.body.find((u) => u.id === id)?.approved);

        // 4. login with the link's parameters
        const login = await request<{ email: string; organizationName: string }>(
          `${base}/api/users/login?email=${encodeURIComponent(linkEmail)}&token=${encodeURIComponent(token)}`,
        );
        t.is(login.status, 200);
        t.deepEqual(login.body, { email, organizationName: approve.body.organizationName });
        const cookie = sessionCookie(login);

        // 5. dashboard lookups with the cookie
        const lookup = await request(`${base}/api/users/lookup`, { headers: { cookie } });
        t.is(lookup.status, 200);
        t.deepEqual(lookup.body, { email, organizationName: approve.body.organizationName, firstProbeUpdateAt: null });
        const org = await request<{ name: string; probeToken: string; firstProbeUpdateAt: string | null }>(
          `${base}/api/users/org/${approve.body.organizationName}`,
          { headers: { cookie } },
        );
        t.is(org.status, 200);
        t.is(org.body.name, approve.body.organizationName);
        t.regex(org.body.probeToken, /^[a-z0-9]{32}$/);
        t.is(org.body.firstProbeUpdateAt, null);

        // 6. the app-mapper's lookups: by probe token, then by the browser's cookie
        const probe = await request(`${base}/private/api/users/lookup`, {
          headers: { authorization: `Scope-Probe token=${org.body.probeToken}` },
        });
        t.is(probe.status, 200);
        t.deepEqual(probe.body, { organizationID: approve.body.organizationID, organizationName: approve.body.organizationName });
        const afterProbe = await request<{ firstProbeUpdateAt: string | null }>(`${base}/api/users/lookup`, { headers: { cookie } });
        const firstProbe = afterProbe.body.firstProbeUpdateAt;
        t.false(Number.isNaN(Date.parse(firstProbe ?? '')));
        // a second report leaves the first probe time alone
        await request(`${base}/private/api/users/lookup`, { headers: { authorization: `Scope-Probe token=${org.body.probeToken}` } });
        const again = await request<{ firstProbeUpdateAt: string | null }>(`${base}/api/users/org/${approve.body.organizationName}`, {
          headers: { cookie },
        });
        t.is(again.body.firstProbeUpdateAt, firstProbe);

        const byCookie = await request(`${base}/private/api/users/lookup/${approve.body.organizationName}`, { headers: { cookie } });
        t.is(byCookie.status, 200);
        t.deepEqual(byCookie.body, { organizationID: approve.body.organizationID, organizationName: approve.body.organizationName });

        // 7. logout ends the session
        const logout = await request(`${base}/api/users/logout`, { method: 'POST', headers: { cookie } });
        t.is(logout.status, 200);
        t.true(logout.headers.getSetCookie().some((c) => c.startsWith('_weave_scope_session=;')));
        t.is((await request(`${base}/api/users/lookup`, { headers: { cookie } })).status, 401);
      } finally {
        await users.stop();
      }
    });
  });

  test.serial(`approving twice re-sends the login link and never makes a second organisation on ${label}`, async (t) => {
    await withDatabase(startDatabase, async (database) => {
      const users = await startUsers({ databaseUrl: database.url, smtpUrl: mail().smtpUrl });
      try {
        const email = uniqueEmail('twice');
        const signup = await postJson(`${users.url}/api/users/signup`, { email });
        t.is(signup.status, 200, JSON.stringify(signup.body));
        const list = await request<ListedUser[]>(`${users.url}/private/api/users`);
        const id = list.body.find((u) => u.email === email)?.id ?? '';
        t.truthy(id, JSON.stringify(list.body));
        const [a, b] = await Promise.all([
          postJson<{ organizationID: string; alreadyApproved: boolean }>(`${users.url}/private/api/users/${id}/approve`, {}),
          postJson<{ organizationID: string; alreadyApproved: boolean }>(`${users.url}/private/api/users/${id}/approve`, {}),
        ]);
        t.is(a.status, 200, JSON.stringify(a.body));
        t.is(b.status, 200, JSON.stringify(b.body));
        t.is(a.body.organizationID, b.body.organizationID);
        t.deepEqual([a.body.alreadyApproved, b.body.alreadyApproved].sort(), [false, true]);
        const orgs = await users.db.query<{ n: string }>('SELECT count(*) AS n FROM organizations');
        t.is(Number(orgs.rows[0]?.n), 1);
        // both approvals mailed a link, and each link works on its own
        const mails = await waitFor(
          'two approval mails',
          async () => {
            const all = (await mail().list()).filter((m) => m.to.some((to) => to.address === email) && /ready/.test(m.subject));
            return all.length >= 2 ? all : null;
          },
          60_000,
          200,
        );
        const tokens = mails.map((m) => loginLinkOf(m).token);
        t.not(tokens[0], tokens[1]);
        for (const token of tokens) {
          const login = await request(`${users.url}/api/users/login?email=${encodeURIComponent(email)}&token=${token}`);
          t.is(login.status, 200);
        }

        const unknown = await postJson<{ errors: { message: string }[] }>(
          `${users.url}/private/api/users/00000000-0000-4000-8000-000000000000/approve`,
          {},
        );
        t.is(unknown.status, 404);
        t.regex(unknown.body.errors[0]?.message ?? '', /no user/);
        const garbage = await postJson(`${users.url}/private/api/users/not-an-id/approve`, {});
        t.is(garbage.status, 404);
      } finally {
        await users.stop();
      }
    });
  });
}
