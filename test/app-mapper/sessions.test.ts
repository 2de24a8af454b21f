/**
 * app-mapper's users client beside the real users service (real PostgreSQL, real maildev): a logout or a
 * deleted user ends a cookie's access at once, however recently the same cookie was let in. Probe tokens are
 * still reused for the cache period (they name an organisation, not a person).
 */
import test from 'ava';
import { createLogger, createPool, HttpError } from '@saas/kit';
import { createPostgresDatabase, startMaildev, type Maildev, type TestDatabase } from '@saas/kit/testing';
import { UsersClient } from '../../images/app-mapper/src/users.ts';
import { createOrg, startUsers, type RunningUsers } from './helpers.ts';

let mail: Maildev;
let db: TestDatabase;
let users: RunningUsers;
let client: UsersClient;

test.before(async () => {
  mail = await startMaildev();
  db = await createPostgresDatabase();
  users = await startUsers({ smtpUrl: mail.smtpUrl, databaseUrl: db.url });
  // The cache period app-mapper runs with: long enough that a cached cookie would still be let in.
  client = new UsersClient({ baseUrl: users.url, log: createLogger('app-mapper', 'silent'), cacheMs: 60_000 });
});
test.after.always(async () => {
  await users?.stop();
  await mail?.stop();
  await db?.close();
});

const refused = async (p: Promise<unknown>) => {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  return err instanceof HttpError ? err.statusCode : err;
};

test.serial('after a logout the same cookie is refused at once', async (t) => {
  const org = await createOrg(users.url, mail, 'logout');
  t.is((await client.lookupOrg(org.name, org.cookie)).organizationID, org.id);
  const logout = await fetch(`${users.url}/api/users/logout`, { method: 'POST', headers: { cookie: org.cookie } });
  t.is(logout.status, 200);
  t.is(await refused(client.lookupOrg(org.name, org.cookie)), 401);
});

test.serial("a deleted user's cookie is refused at once", async (t) => {
  const org = await createOrg(users.url, mail, 'deleted');
  t.is((await client.lookupOrg(org.name, org.cookie)).organizationID, org.id);
  const pool = createPool(db.url, createLogger('test', 'silent'));
  t.teardown(() => pool.end());
  const deleted = await pool.query("DELETE FROM users WHERE organization_id = $1", [org.id]);
  t.is(deleted.rowCount, 1);
  t.is(await refused(client.lookupOrg(org.name, org.cookie)), 401);
});

test.serial('a probe token is still answered from the cache', async (t) => {
  const org = await createOrg(users.url, mail, 'probe');
  const auth = `Scope-Probe token=${org.probeToken}`;
  t.is((await client.lookupProbe(auth)).organizationID, org.id);
  await users.stop();
  try {
    t.is((await client.lookupProbe(auth)).organizationID, org.id, 'answered without asking users');
  } finally {
    users = await startUsers({ smtpUrl: mail.smtpUrl, databaseUrl: db.url });
  }
});
