import test from 'ava';
import { createLogger, createPool, migrate } from '@saas/kit';
import { createPostgresDatabase, startPgliteServer, waitFor } from '@saas/kit/testing';
import { migrations, Store } from '../../images/app-mapper/src/store.ts';

const log = createLogger('test', 'silent');

for (const [label, start] of [
  ['PostgreSQL', createPostgresDatabase],
  ['PGlite', startPgliteServer],
] as const) {
  test(`org → app and probes seen, with throttled last-seen writes, on ${label}`, async (t) => {
    const db = await start();
    const pool = createPool(db.url, log);
    try {
      t.deepEqual(await migrate(pool, migrations, log), ['app_mapper_001_apps_probes']);
      const store = new Store(pool, log, 5000);
      await store.ping();

      const startedAt = new Date('2026-01-01T00:00:00Z');
      await store.recordApp('process', { org: 'org1', state: 'starting', url: 'http://127.0.0.1:1', startedAt, ref: 'pid 10' });
      await store.recordApp('process', { org: 'org1', state: 'ready', url: 'http://127.0.0.1:1', startedAt, ref: 'pid 10' });
      const row = await store.getApp('org1');
      t.is(row?.state, 'ready');
      t.is(row?.provisioner, 'process');
      t.is(row?.startedAt.toISOString(), startedAt.toISOString());
      t.is(await store.getApp('org2'), undefined);

      const t0 = Date.parse('2026-01-01T00:00:10Z');
      store.seeProbe('org1', 'p1', t0);
      store.seeProbe('org1', 'p1', t0 + 1000); // within the interval: not written
      store.seeProbe('org1', 'p2', t0 + 2000);
      store.seeProbe('org2', 'p1', t0 + 3000); // same probe id, other org: its own row
      await store.flush();
      let probes = await store.listProbes('org1');
      t.deepEqual(probes.map((p) => [p.id, p.lastSeen.getTime()]), [
        ['p2', t0 + 2000],
        ['p1', t0],
      ]);
      t.deepEqual((await store.listProbes('org2')).map((p) => p.id), ['p1']);

      store.seeProbe('org1', 'p1', t0 + 6000); // interval passed: written
      await store.flush();
      probes = await store.listProbes('org1');
      t.deepEqual(probes.map((p) => [p.id, p.lastSeen.getTime()]), [
        ['p1', t0 + 6000],
        ['p2', t0 + 2000],
      ]);

      await store.setHostnames('org1', [{ id: 'p1', hostname: 'vm' }]);
      await waitFor('hostname', async () => (await store.listProbes('org1')).find((p) => p.id === 'p1')?.hostname === 'vm');
      t.is((await store.listProbes('org2'))[0]?.hostname, null, "another org's probe of the same id keeps its own hostname");
    } finally {
      await pool.end();
      await db.close();
    }
  });
}
