/**
 * The local runtime for real: the whole system from manifests/local as supervised processes (users, frontend,
 * ui-server, app-mapper, PGlite stand-ins, maildev), one system-up shared by every assertion, in a temporary
 * dev folder and on a free frontend port so it never touches a developer's .dev or port 4046.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, waitFor } from '@saas/kit/testing';
import { acceptsConnections } from '../helpers/net.ts';
import { StepError, type EngineEvent } from '../../cluster/events.ts';
import { loadManifests } from '../../cluster/manifests/load.ts';
import type { Manifests } from '../../cluster/manifests/types.ts';
import type { SystemStatus } from '../../cluster/runtime.ts';
import { createRuntime } from '../../cluster/runtimes/index.ts';
import { LocalRuntime } from '../../cluster/runtimes/local/index.ts';
import { isAlive, markedProcesses } from '../../cluster/host/procfs.ts';
import type { LocalState } from '../../cluster/runtimes/local/types.ts';

const checkout = path.resolve(import.meta.dirname, '../..');
/**
 * A snapshot of the images and manifests, so edits made in the checkout while the test runs (a shared working
 * tree) cannot restart a service behind its back; node_modules is the checkout's.
 */
const projectDir = mkdtempSync(path.join(tmpdir(), 'dev-project-'));
for (const dir of ['images', 'manifests']) {
  cpSync(path.join(checkout, dir), path.join(projectDir, dir), { recursive: true, filter: (src) => !src.includes(`${path.sep}node_modules`) });
}
symlinkSync(path.join(checkout, 'node_modules'), path.join(projectDir, 'node_modules'));
const devDir = mkdtempSync(path.join(tmpdir(), 'dev-local-'));
const frontendPort = await freePort();
const runtime = createRuntime('local', { projectDir, devDir, frontendPort }) as LocalRuntime;
const manifests = await loadManifests(path.join(projectDir, 'manifests/local'));
const names = manifests.deployments.map((d) => d.metadata.name).sort();
const upTimeout = 240_000;

let first: { status: SystemStatus; events: EngineEvent[] };

async function up(m: Manifests = manifests, rt = runtime): Promise<{ status: SystemStatus; events: EngineEvent[] }> {
  const events: EngineEvent[] = [];
  const status = await rt.up({ manifests: m, emit: (e) => events.push(e), timeoutMs: upTimeout });
  return { status, events };
}

const readState = () => JSON.parse(readFileSync(path.join(devDir, 'state/local.json'), 'utf8')) as LocalState;
const pidOf = (s: SystemStatus, name: string) => s.services.find((x) => x.name === name)?.pid;
const started = (events: EngineEvent[]) => events.filter((e) => e.type === 'started' && e.kind === 'service').map((e) => (e as { step: string }).step);

test.before(async () => {
  first = await up();
});

test.after.always(async () => {
  await runtime.down({ emit: () => undefined, wipe: true }).catch(() => undefined);
  rmSync(devDir, { recursive: true, force: true });
  rmSync(projectDir, { recursive: true, force: true });
});

test.serial('up brings every Deployment up and ready, reports each step, and the endpoints answer', async (t) => {
  const { status, events } = first;
  t.true(status.up);
  t.deepEqual(status.services.map((s) => s.name), names);
  for (const s of status.services) {
    t.true(s.ready, `${s.name} ready`);
    t.is(s.state, 'running');
    t.true(isAlive(s.pid!), `${s.name} pid alive`);
  }
  for (const name of names) {
    t.true(events.some((e) => e.type === 'done' && e.step === `service/${name}` && /^ready on 127\.0\.0\.1:\d+/.test(e.message ?? '')), `${name} done`);
  }
  t.true(events.some((e) => e.type === 'done' && e.step === 'build/users'));
  t.false(events.some((e) => e.type === 'failed'));
  t.deepEqual(status.endpoints, {
    frontend: `http://127.0.0.1:${frontendPort}`,
    users: status.services.find((s) => s.name === 'users')!.urls!.http!,
    mail: status.services.find((s) => s.name === 'mailcatcher')!.urls!.http!,
  });
  const handshake = (await (await fetch(`${status.endpoints!.frontend}/api`)).json()) as { id?: string };
  t.truthy(handshake.id, 'the frontend answers the probe handshake');
  t.is((await fetch(`${status.endpoints!.mail}/email`)).status, 200, 'maildev REST answers');
  const admin = await fetch(`${status.endpoints!.users}/`, { redirect: 'manual' });
  t.true(admin.status >= 300 && admin.status < 400, 'the users admin page redirects');
  // Services reach each other through the rewritten Service names: a sign-up through the frontend makes users
  // store it (PGlite) and mail over SMTP (the maildev stand-in).
  const email = `local-runtime-${frontendPort}@example.com`;
  const signup = await fetch(`${status.endpoints!.frontend}/api/users/signup`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email }) });
  t.true(signup.ok, `sign-up answered ${signup.status}`);
  await waitFor('the welcome mail', async () => {
    const mails = (await (await fetch(`${status.endpoints!.mail}/email`)).json()) as { to: { address: string }[] }[];
    return mails.some((m) => m.to.some((x) => x.address === email));
  }, 60_000, 250);
  // Data and logs live under the dev folder.
  t.true(existsSync(path.join(devDir, 'data/users-db')));
  t.true(existsSync(path.join(devDir, 'data/mailcatcher')));
  t.true(existsSync(path.join(devDir, 'logs/users.log')));
});

test.serial('status and .dev/state/local.json agree on pids, ports and readiness', async (t) => {
  const status = await runtime.status();
  const state = readState();
  for (const s of status.services) {
    t.is(state.services[s.name]?.pid, s.pid);
    t.true(state.services[s.name]?.ready);
  }
  t.truthy(state.daemon?.pid);
  t.true(isAlive(state.daemon!.pid));
  t.deepEqual(await runtime.endpoints(), status.endpoints);
});

test.serial('a service killed with SIGKILL is restarted and becomes ready again; its restart is counted', async (t) => {
  const before = await runtime.status();
  const pid = pidOf(before, 'ui-server')!;
  process.kill(pid, 'SIGKILL');
  const after = await waitFor('ui-server back', async () => {
    const s = await runtime.status();
    const ui = s.services.find((x) => x.name === 'ui-server')!;
    return ui.ready && ui.pid !== pid ? ui : undefined;
  }, 60_000, 200);
  t.false(isAlive(pid));
  t.is(after.restarts, before.services.find((x) => x.name === 'ui-server')!.restarts + 1);
  t.regex(readFileSync(path.join(devDir, 'logs/ui-server.log'), 'utf8'), /killed by SIGKILL; restarting in/);
});

test.serial('a second up with nothing changed changes nothing and says so', async (t) => {
  const before = await runtime.status();
  const { status, events } = await up();
  t.deepEqual(started(events), []);
  t.true(events.some((e) => e.type === 'notice' && e.message === 'already up: nothing changed'));
  for (const s of status.services) t.is(s.pid, pidOf(before, s.name), `${s.name} untouched`);
});

test.serial('a changed manifest restarts just that service', async (t) => {
  const before = await runtime.status();
  const changed = structuredClone(manifests);
  const ui = changed.deployments.find((d) => d.metadata.name === 'ui-server')!.spec.template.spec.containers[0]!;
  ui.env = [...(ui.env ?? []), { name: 'LOG_LEVEL', value: 'warn' }];
  const { status, events } = await up(changed);
  t.deepEqual(started(events), ['service/ui-server']);
  t.true(events.some((e) => e.type === 'started' && e.step === 'service/ui-server' && e.title === 'restart ui-server (changed)'));
  for (const s of status.services) {
    if (s.name === 'ui-server') t.not(s.pid, pidOf(before, s.name));
    else t.is(s.pid, pidOf(before, s.name), `${s.name} untouched`);
  }
  await up(); // back to the manifests as they are
});

test.serial('a Deployment scaled to replicas: 0 is stopped, and started again when scaled back', async (t) => {
  const scaled = structuredClone(manifests);
  scaled.deployments.find((d) => d.metadata.name === 'ui-server')!.spec.replicas = 0;
  const before = await runtime.status();
  const { events } = await up(scaled);
  t.true(events.some((e) => e.type === 'notice' && e.message === 'stopped ui-server (no longer in the manifests, or scaled to replicas: 0)'));
  await waitFor('ui-server gone', async () => !isAlive(pidOf(before, 'ui-server')!), 15_000);
  const back = await up();
  t.deepEqual(started(back.events), ['service/ui-server']);
  t.true(back.status.services.find((s) => s.name === 'ui-server')!.ready);
});

test.serial("a change in a service's source rebuilds and restarts just that service", async (t) => {
  const before = await runtime.status();
  const main = path.join(projectDir, 'images/ui-server/src/main.ts');
  // A comment would not do: esbuild drops it, the bundle stays the same and nothing needs a restart.
  writeFileSync(main, `${readFileSync(main, 'utf8')}\nprocess.env.TOUCHED_BY_TEST ??= '1';\n`);
  const { status, events } = await up();
  t.true(events.some((e) => e.type === 'done' && e.step === 'build/ui-server' && /^built in/.test(e.message ?? '')));
  t.true(events.some((e) => e.type === 'done' && e.step === 'build/users' && e.message === 'unchanged'));
  t.deepEqual(started(events), ['service/ui-server']);
  for (const s of status.services) {
    if (s.name === 'ui-server') t.not(s.pid, pidOf(before, s.name));
    else t.is(s.pid, pidOf(before, s.name), `${s.name} untouched`);
  }
});

test.serial('before anything ran: status says nothing is up, down has nothing to stop', async (t) => {
  const rt = createRuntime('local', { projectDir, devDir: mkdtempSync(path.join(tmpdir(), 'dev-empty-')) });
  t.deepEqual(await rt.status(), { runtime: 'local', up: false, services: [], apps: [], endpoints: null });
  const events: EngineEvent[] = [];
  await rt.down({ emit: (e) => events.push(e) });
  t.true(events.some((e) => e.type === 'done' && e.step === 'stop/services' && e.message === 'nothing was running'));
});

test.serial('a failing service is reported as a failed step with a diagnosis and its last log lines', async (t) => {
  const broken = structuredClone(manifests);
  const users = broken.deployments.find((d) => d.metadata.name === 'users')!.spec.template.spec.containers[0]!;
  users.env = users.env!.filter((e) => e.name !== 'SESSION_SECRET');
  const events: EngineEvent[] = [];
  const err = await t.throwsAsync(runtime.up({ manifests: broken, emit: (e) => events.push(e), timeoutMs: upTimeout }), { instanceOf: StepError });
  const failed = events.find((e) => e.type === 'failed' && e.step === 'service/users');
  t.truthy(failed);
  if (failed?.type !== 'failed') return;
  t.regex(failed.diagnosis.summary, /users refuses its configuration \(exit code 78\)/);
  t.regex(failed.diagnosis.hint ?? '', /dev logs users/);
  t.true(failed.diagnosis.logs?.[0]?.lines.some((l) => l.includes('SESSION_SECRET is missing')), 'the log lines say why');
  t.is(err!.diagnosis.summary, failed.diagnosis.summary);
  // Fixing the manifest brings it back.
  const { status } = await up();
  t.true(status.services.every((s) => s.ready));
});

test.serial('a concurrent up is refused clearly, and the running one is not disturbed', async (t) => {
  const other = createRuntime('local', { projectDir, devDir, frontendPort });
  const events: EngineEvent[] = [];
  const [a, b] = await Promise.allSettled([up(), other.up({ manifests, emit: (e) => events.push(e), timeoutMs: upTimeout })]);
  t.is(a.status, 'fulfilled');
  t.is(b.status, 'rejected');
  const reason = (b as PromiseRejectedResult).reason as StepError;
  t.true(reason instanceof StepError);
  t.regex(reason.diagnosis.summary, new RegExp(`another \`dev up\` is running \\(pid ${process.pid}, since .*\\); refusing to up at the same time`));
  t.true(events.some((e) => e.type === 'failed' && e.step === 'check/lock'));
  t.true((await runtime.status()).services.every((s) => s.ready));
});

test.serial('logs: the last lines, then new ones as they come when following', async (t) => {
  const lines: string[] = [];
  await runtime.logs('users', (l) => lines.push(l), { tail: 3 });
  t.is(lines.length, 3);
  const followed: string[] = [];
  const ac = new AbortController();
  const following = runtime.logs('frontend', (l) => followed.push(l), { tail: 0, follow: true, signal: ac.signal });
  const { endpoints } = await runtime.status();
  await fetch(`${endpoints!.frontend}/api/no-such-thing-${frontendPort}`);
  await waitFor('the request in the log', async () => followed.some((l) => l.includes(`no-such-thing-${frontendPort}`)), 20_000);
  ac.abort();
  await following;
  await t.throwsAsync(runtime.logs('nope', () => undefined), { message: /no logs for nope \(services with logs: .*users/ });
});

test.serial('restart(service) restarts one service', async (t) => {
  const before = await runtime.status();
  await runtime.restart('mailcatcher');
  const after = await waitFor('mailcatcher ready', async () => {
    const s = (await runtime.status()).services.find((x) => x.name === 'mailcatcher')!;
    return s.ready ? s : undefined;
  }, 60_000, 200);
  t.not(after.pid, pidOf(before, 'mailcatcher'));
  t.is(after.restarts, before.services.find((x) => x.name === 'mailcatcher')!.restarts + 1);
  await t.throwsAsync(runtime.restart('nope'), { message: /no service nope/ });
});

test.serial('an image the local runtime cannot run is a failed step naming the image and the stand-ins', async (t) => {
  const odd = structuredClone(manifests);
  odd.deployments.find((d) => d.metadata.name === 'mailcatcher')!.spec.template.spec.containers[0]!.image = 'redis:7';
  const events: EngineEvent[] = [];
  const before = await runtime.status();
  const err = await t.throwsAsync(runtime.up({ manifests: odd, emit: (e) => events.push(e) }), { instanceOf: StepError });
  t.regex(err!.diagnosis.summary, /^image redis:7 cannot run on the local runtime: .*postgres → images\/pglite, maildev\/maildev → images\/mailcatcher/);
  t.true(events.some((e) => e.type === 'failed' && e.step === 'check/plan'));
  const after = await runtime.status();
  for (const s of after.services) t.is(s.pid, pidOf(before, s.name), `${s.name} untouched`);
});

test.serial('a taken frontend port is reported naming the port, its holder and how to pick another; nothing starts', async (t) => {
  const blocker = net.createServer().listen(0, '127.0.0.1');
  await new Promise((r) => blocker.once('listening', r));
  const port = (blocker.address() as net.AddressInfo).port;
  const otherDir = mkdtempSync(path.join(tmpdir(), 'dev-port-'));
  try {
    const rt = createRuntime('local', { projectDir, devDir: otherDir, frontendPort: port });
    const events: EngineEvent[] = [];
    const err = await t.throwsAsync(rt.up({ manifests, emit: (e) => events.push(e) }), { instanceOf: StepError });
    t.regex(err!.diagnosis.summary, new RegExp(`^port ${port} \\(Service frontend\\) is already in use by pid ${process.pid} `));
    t.regex(err!.diagnosis.hint ?? '', /DEV_FRONTEND_PORT=<port>/);
    t.true(events.some((e) => e.type === 'failed' && e.step === 'check/ports'));
    t.false(existsSync(path.join(otherDir, 'state/daemon.json')), 'no supervisor was started');
  } finally {
    blocker.close();
  }
});

test.serial('after the supervisor itself crashes, up takes over: the orphans are replaced, nothing runs twice', async (t) => {
  const before = await runtime.status();
  const daemon = readState().daemon!.pid;
  process.kill(daemon, 'SIGKILL');
  await waitFor('daemon gone', async () => !isAlive(daemon), 10_000);
  const orphaned = await runtime.status();
  t.true(orphaned.services.every((s) => s.pid !== undefined && /not supervised/.test(s.message ?? '')), 'status says they run unsupervised');
  const { status } = await up();
  t.not(readState().daemon!.pid, daemon);
  for (const s of before.services) {
    t.false(isAlive(s.pid!), `old ${s.name} gone`);
    t.true(status.services.find((x) => x.name === s.name)!.ready);
  }
});

test.serial('down through the supervisor counts the Scope apps that were running', async (t) => {
  const appsDir = path.join(devDir, 'state/apps');
  mkdirSync(appsDir, { recursive: true });
  const app = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { detached: true, stdio: 'ignore', env: { ...process.env, SCOPE_APP_MAPPER_ORG: 'countorg' } });
  app.unref();
  writeFileSync(path.join(appsDir, 'countorg.json'), JSON.stringify({ pid: app.pid, port: 1, org: 'countorg', startedAt: new Date().toISOString() }));
  const services = (await runtime.status()).services.length;
  const events: EngineEvent[] = [];
  await runtime.down({ emit: (e) => events.push(e) });
  t.true(events.some((e) => e.type === 'progress' && e.message === `the supervisor stopped ${services} services and 1 Scope app`), JSON.stringify(events.filter((e) => e.type === 'progress')));
  t.true(events.some((e) => e.type === 'done' && e.step === 'stop/services' && e.message === `stopped ${services} services and 1 Scope app`));
  t.false(isAlive(app.pid!));
  await up();
});

test.serial('down stops everything, Scope apps too, even with the supervisor dead; no process or port is left; data stays unless wiped', async (t) => {
  const status = await runtime.status();
  // A Scope app as app-mapper's process provisioner records it (its own process group, the org marker).
  const appsDir = path.join(devDir, 'state/apps');
  mkdirSync(appsDir, { recursive: true });
  const app = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { detached: true, stdio: 'ignore', env: { ...process.env, SCOPE_APP_MAPPER_ORG: 'testorg1' } });
  app.unref();
  writeFileSync(path.join(appsDir, 'testorg1.json'), JSON.stringify({ pid: app.pid, port: 1, org: 'testorg1', startedAt: new Date().toISOString() }));
  t.deepEqual((await runtime.status()).apps.map((a) => [a.org, a.state]), [['testorg1', 'running']]);

  const daemon = readState().daemon!.pid;
  process.kill(daemon, 'SIGKILL'); // the worst case: nobody supervises, down must find everything itself
  await waitFor('daemon gone', async () => !isAlive(daemon), 10_000);
  const events: EngineEvent[] = [];
  await runtime.down({ emit: (e) => events.push(e) });
  t.true(events.some((e) => e.type === 'done' && e.step === 'stop/services'));

  const pids = [...status.services.map((s) => s.pid!), daemon, app.pid!];
  await waitFor('every process gone', async () => pids.every((p) => !isAlive(p)), 10_000);
  t.deepEqual(markedProcesses(devDir), []);
  for (const s of status.services) {
    for (const url of Object.values(s.urls ?? {})) {
      const port = Number(new URL(url).port);
      t.false(await acceptsConnections(port), `${s.name} ${url} closed`);
    }
  }
  const after = await runtime.status();
  t.false(after.up);
  t.true(after.services.every((s) => s.state === 'stopped' && s.pid === undefined));
  t.deepEqual(after.apps, []);
  t.true(existsSync(path.join(devDir, 'data/users-db')), 'data survives down');

  await runtime.down({ emit: () => undefined, wipe: true });
  t.false(existsSync(path.join(devDir, 'data')), 'wiped');
});
