import test from 'ava';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadManifests } from '../../cluster/manifests/load.ts';
import { findServiceRefs } from '../../cluster/manifests/refs.ts';
import { acquireLock, LockedError } from '../../cluster/host/lock.ts';
import { devPaths } from '../../cluster/runtimes/local/paths.ts';
import { planDeployment } from '../../cluster/runtimes/local/plan.ts';
import { rewriteValue } from '../../cluster/plan/addressing.ts';
import { portRequests } from '../../cluster/plan/ports.ts';
import { imageRepository, runnerFor, standIns } from '../../cluster/plan/stand-ins.ts';
import { allocatePorts, PortTakenError } from '../../cluster/host/ports.ts';

const manifests = await loadManifests(path.resolve(import.meta.dirname, '../../manifests/local'));
const paths = devPaths('/work/project', '/work/project/.dev');
const ports = new Map<string, number>([
  ['frontend/8080', 4046],
  ['ui-server/8080', 41001],
  ['users/8080', 41002],
  ['users-db/5432', 41003],
  ['app-mapper/8080', 41004],
  ['app-mapper-db/5432', 41005],
  ['mailcatcher/1025', 41006],
  ['mailcatcher/1080', 41007],
]);

test('every Service DNS form, with or without a port, is rewritten to 127.0.0.1:<port>', (t) => {
  const cases: [string, string][] = [
    ['http://users.default.svc.cluster.local', 'http://127.0.0.1:41002'],
    ['http://users.default.svc.cluster.local:80/x', 'http://127.0.0.1:41002/x'],
    ['http://users.default.svc/x?y=1', 'http://127.0.0.1:41002/x?y=1'],
    ['http://users.default', 'http://127.0.0.1:41002'],
    ['http://users', 'http://127.0.0.1:41002'],
    ['users:80', '127.0.0.1:41002'],
    ['postgresql://postgres:postgres@users-db.default.svc.cluster.local:5432/postgres', 'postgresql://postgres:postgres@127.0.0.1:41003/postgres'],
    ['postgres://users-db/postgres', 'postgres://127.0.0.1:41003/postgres'],
    ['smtp://mailcatcher.default.svc.cluster.local:1025', 'smtp://127.0.0.1:41006'],
    ['http://mailcatcher:80', 'http://127.0.0.1:41007'],
    ['http://frontend.default.svc.cluster.local', 'http://127.0.0.1:4046'],
  ];
  for (const [from, to] of cases) t.is(rewriteValue(from, manifests, ports), to, from);
});

test('values that only look like service names are left alone', (t) => {
  for (const v of ['Scope as a Service <noreply@scope.local>', 'noreply@users', 'http://example.com/users', 'users and frontend', '72', 'http://127.0.0.1:9/users']) {
    t.is(rewriteValue(v, manifests, ports), v, v);
  }
  t.is(rewriteValue('users', manifests, ports), '127.0.0.1:41002', 'a value that is exactly a Service name is a reference');
});

test('findServiceRefs reports the scheme default port when none is written', (t) => {
  const refs = findServiceRefs('https://users.default.svc.cluster.local/x', new Map([['default', new Set(['users'])]]));
  t.like(refs[0], { service: 'users', namespace: 'default', port: 443, explicitPort: false, scheme: 'https' });
});

test('the stand-in table is explicit: postgres → pglite, maildev/maildev → mailcatcher; unknown images are refused', (t) => {
  t.deepEqual(standIns.map((s) => [s.upstream, s.runs]), [['postgres', 'pglite'], ['maildev/maildev', 'mailcatcher']]);
  t.is(imageRepository('docker.io/library/postgres:16-alpine'), 'postgres');
  t.is(imageRepository('maildev/maildev:2.2.1@sha256:' + 'a'.repeat(64)), 'maildev/maildev');
  t.like(runnerFor('postgres:16-alpine'), { runs: 'pglite' });
  t.like(runnerFor('scope-saas/users:abc'), { runs: 'users' });
  const r = runnerFor('redis:7');
  t.true('error' in r && /image redis:7 cannot run on the local runtime.*postgres → images\/pglite/.test(r.error));
});

test('our services listen where their Service points, with HOST, rewritten URLs, and the runtime settings', (t) => {
  const d = (n: string) => manifests.deployments.find((x) => x.metadata.name === n)!;
  const users = planDeployment(d('users'), manifests, ports, paths);
  t.like(users.env, {
    PORT: '41002',
    HOST: '127.0.0.1',
    DATABASE_URL: 'postgresql://postgres:postgres@127.0.0.1:41003/postgres',
    SMTP_URL: 'smtp://127.0.0.1:41006',
    FRONTEND_URL: 'http://127.0.0.1:4046',
    SAAS_DEV_DIR: '/work/project/.dev',
  });
  t.deepEqual(users.urls, { http: 'http://127.0.0.1:41002' });
  t.like(users.readiness, { type: 'http', port: 41002, path: '/readyz', periodMs: 2000, failureThreshold: 3 });
  t.is(users.logFile, '/work/project/.dev/logs/users.log');
  const mapper = planDeployment(d('app-mapper'), manifests, ports, paths);
  t.like(mapper.env, { PROVISIONER: 'process', STATE_DIR: '/work/project/.dev/state/apps', USERS_URL: 'http://127.0.0.1:41002', DATABASE_URL: 'postgresql://postgres:postgres@127.0.0.1:41005/postgres' });
  t.is(mapper.env.SCOPE_APP_COMMAND, `"${process.execPath}" "/work/project/.dev/build/scope-app.mjs"`, 'per-org apps run from the app-only bundle');
});

test('stand-ins get their own settings: ports, data under .dev/data/<deployment>', (t) => {
  const d = (n: string) => manifests.deployments.find((x) => x.metadata.name === n)!;
  const db = planDeployment(d('users-db'), manifests, ports, paths);
  t.is(db.runs, 'pglite');
  t.deepEqual(db.env, { PORT: '41003', DATA_DIR: '/work/project/.dev/data/users-db', TEMPLATE_DIR: '/work/project/.dev/build/pglite-template', HOST: '127.0.0.1', SAAS_DEV_DIR: '/work/project/.dev' });
  t.like(db.readiness, { type: 'tcp', port: 41003 });
  const mail = planDeployment(d('mailcatcher'), manifests, ports, paths);
  t.deepEqual(mail.env, { SMTP_PORT: '41006', PORT: '41007', MAIL_DIR: '/work/project/.dev/data/mailcatcher', HOST: '127.0.0.1', SAAS_DEV_DIR: '/work/project/.dev' });
  t.deepEqual(mail.urls, { smtp: 'smtp://127.0.0.1:41006', http: 'http://127.0.0.1:41007' });
  t.like(mail.readiness, { type: 'http', port: 41007, path: '/healthz' });
});

test('ports are remembered across runs; a taken preferred port moves with a notice naming its holder; a required one fails', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ports-'));
  const file = path.join(dir, 'ports.json');
  const blocker = net.createServer().listen(0, '127.0.0.1');
  await new Promise((r) => blocker.once('listening', r));
  const taken = (blocker.address() as net.AddressInfo).port;
  try {
    const first = await allocatePorts(file, [{ key: 'frontend/8080', preferred: taken, label: 'Service frontend', howToChange: 'set DEV_FRONTEND_PORT=<port> to choose another' }, { key: 'users/8080', label: 'users' }], new Set());
    const got = first.ports.get('frontend/8080')!;
    t.not(got, taken);
    t.is(first.notices.length, 1);
    t.is(first.notices[0]!.message, `port ${taken} for Service frontend is taken by pid ${process.pid} (${(await import('../../cluster/host/procfs.ts')).cmdline(process.pid)}); using ${got} instead (set DEV_FRONTEND_PORT=<port> to choose another)`);
    const again = await allocatePorts(file, [{ key: 'frontend/8080', preferred: taken, label: 'Service frontend' }, { key: 'users/8080', label: 'users' }], new Set());
    t.deepEqual([...again.ports], [...first.ports], 'stable across runs');
    t.deepEqual(again.notices, []);
    const err = await t.throwsAsync(allocatePorts(file, [{ key: 'frontend/8080', required: taken, label: 'Service frontend', howToChange: 'set DEV_FRONTEND_PORT=<port> to choose another' }], new Set()), { instanceOf: PortTakenError });
    t.is(err!.holder?.pid, process.pid);
    t.regex(err!.message, new RegExp(`^port ${taken} \\(Service frontend\\) is already in use by pid ${process.pid} `));
  } finally {
    blocker.close();
  }
});

test('portRequests asks for the frontend first: 4046 preferred, or exactly what DEV_FRONTEND_PORT / the option says', (t) => {
  t.like(portRequests(manifests, { env: {} })[0], { key: 'frontend/8080', preferred: 4046 });
  t.like(portRequests(manifests, { env: { DEV_FRONTEND_PORT: '5000' } })[0], { key: 'frontend/8080', required: 5000 });
  t.like(portRequests(manifests, { env: {}, frontendPort: 5001 })[0], { key: 'frontend/8080', required: 5001 });
  t.is(portRequests(manifests, { env: {} }).length, 8);
});

test('the lock refuses a second holder while the first lives, and takes over a stale one', (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'lock-'));
  const file = path.join(dir, 'up.lock');
  const release = acquireLock(file, 'up');
  const err = t.throws(() => acquireLock(file, 'up'), { instanceOf: LockedError });
  t.regex(err!.message, new RegExp(`another \`dev up\` is running \\(pid ${process.pid}, since `));
  release();
  // A lock left by a process that is gone (pid 2^22 + 1 cannot exist: above pid_max's maximum).
  writeFileSync(file, JSON.stringify({ pid: 4194305, startTime: 1, operation: 'up', command: 'dev up', since: Date.now() }));
  const again = acquireLock(file, 'up');
  t.is((JSON.parse(readFileSync(file, 'utf8')) as { pid: number }).pid, process.pid);
  again();
  t.false(existsSync(file), 'released');
});
