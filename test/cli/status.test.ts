import test from 'ava';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { SystemStatus } from '../../cluster/runtime.ts';
import { formatStatus, statusJson } from '../../cli/render/status.ts';
import { pickRuntime, readState, writeState } from '../../cli/context.ts';
import { dev } from './helpers/dev.ts';

async function tempDevDir(t: { teardown: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'dev-status-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const running: SystemStatus = {
  runtime: 'local',
  up: true,
  services: [
    { name: 'frontend', ready: true, state: 'running', restarts: 0, startedAt: 1_000_000 - 75_000, urls: { http: 'http://127.0.0.1:4046' }, pid: 10 },
    { name: 'mailcatcher', ready: true, state: 'running', restarts: 1, startedAt: 1_000_000 - 5_000, urls: { smtp: 'smtp://127.0.0.1:40001', http: 'http://127.0.0.1:40002' }, pid: 11 },
    { name: 'users', ready: false, state: 'backoff', restarts: 3, message: 'exit code 1' },
  ],
  apps: [{ org: 'wild-bush-92', state: 'running', url: 'http://127.0.0.1:39725', pid: 26819 }],
  endpoints: { frontend: 'http://127.0.0.1:4046', users: 'http://127.0.0.1:4047', mail: 'http://127.0.0.1:40002' },
};

test('status --json with nothing running: exactly {runtime, services, endpoints, apps}', async (t) => {
  const r = await dev(['status', '--json'], { DEV_DIR: await tempDevDir(t) });
  t.is(r.code, 0);
  t.deepEqual(JSON.parse(r.stdout), { runtime: 'local', services: [], endpoints: null, apps: [] });
});

test('statusJson keeps the runtime, services, endpoints and apps, and nothing else', (t) => {
  const json = statusJson(running);
  t.deepEqual(Object.keys(json), ['runtime', 'services', 'endpoints', 'apps']);
  t.deepEqual(json.services.map((s) => [s.name, s.ready]), [['frontend', true], ['mailcatcher', true], ['users', false]]);
  t.deepEqual(Object.keys(json.endpoints!), ['frontend', 'users', 'mail']);
});

test('status table: service, ready, state, restarts, age, url; the Scope apps; what to open', (t) => {
  t.is(
    formatStatus(running, 1_000_000),
    [
      'runtime local: 2/3 services ready',
      '',
      'SERVICE      READY  STATE                  RESTARTS  AGE    URL',
      'frontend     yes    running                0         1m15s  http://127.0.0.1:4046',
      'mailcatcher  yes    running                1         5s     http://127.0.0.1:40002',
      'users        no     backoff (exit code 1)  3         -      -',
      '',
      'Scope apps (one per organisation):',
      '',
      'ORG           STATE    URL                     PID/CONTAINER',
      'wild-bush-92  running  http://127.0.0.1:39725  26819',
      '',
      'open:',
      '  frontend      http://127.0.0.1:4046',
      '  users admin   http://127.0.0.1:4047/private/admin',
      '  mail          http://127.0.0.1:40002',
    ].join('\n'),
  );
});

test('test, connect and probe with nothing running fail with exit 1 and say to run dev up', async (t) => {
  const env = { DEV_DIR: await tempDevDir(t) };
  const plain = await dev(['test'], env);
  t.is(plain.code, 1);
  t.regex(plain.stderr, /nothing is running \(runtime local\); start it first: dev up/);
  const json = await dev(['test', '--json'], env);
  t.is(json.code, 1);
  t.like(JSON.parse(json.stdout), { ok: false, runtime: 'local' });
  const connect = await dev(['connect', '--port', '0'], env);
  t.is(connect.code, 1);
  t.regex(connect.stderr, /dev up/);
  const probe = await dev(['probe', '--token', 'x'], env);
  t.is(probe.code, 1);
  t.regex(probe.stderr, /give the URL/);
});

test('the last runtime used is remembered in .dev/state; a flag overrides it', async (t) => {
  const devDir = await tempDevDir(t);
  t.is(pickRuntime({ devDir }, undefined), 'local');
  writeState(devDir, { runtime: 'kind' });
  t.is(readState(devDir).runtime, 'kind');
  t.is(pickRuntime({ devDir }, undefined), 'kind');
  t.is(pickRuntime({ devDir }, 'docker'), 'docker');
});

test('dev up --runtime kind without kind on PATH says how to install it, and later commands still follow the local runtime', async (t) => {
  const dir = await tempDevDir(t);
  const up = await dev(['up', '--runtime', 'kind'], { DEV_DIR: dir, PATH: [path.dirname(process.execPath), '/usr/sbin', '/usr/bin', '/sbin', '/bin'].join(path.delimiter) });
  t.is(up.code, 1);
  t.regex(up.stderr, /kind is not on PATH: install kind .*go install sigs\.k8s\.io\/kind@v\d+\.\d+\.\d+.*dev up/);
  t.is(pickRuntime({ devDir: dir }, undefined), 'local', 'the unusable runtime is not remembered');
  const status = await dev(['status', '--json'], { DEV_DIR: dir });
  t.is(status.code, 0);
  t.is((JSON.parse(status.stdout) as { runtime: string }).runtime, 'local');
});

test('dev up --runtime kubernetes with an unknown context names the contexts there are, and nothing is remembered', async (t) => {
  const dir = await tempDevDir(t);
  const kubeconfig = path.join(dir, 'kubeconfig');
  await writeFile(kubeconfig, ['apiVersion: v1', 'kind: Config', 'clusters: [{name: c1, cluster: {server: "https://127.0.0.1:1"}}]', 'users: [{name: u1, user: {}}]', 'contexts: [{name: ctx-one, context: {cluster: c1, user: u1}}]', 'current-context: ctx-one', ''].join('\n'));
  const up = await dev(['up', '--runtime', 'kubernetes', '--context', 'nope', '--kubeconfig', kubeconfig], { DEV_DIR: dir });
  t.is(up.code, 1);
  t.regex(up.stderr, /has no context nope; pick one of: ctx-one/);
  t.is(pickRuntime({ devDir: dir }, undefined), 'local', 'the unusable cluster is not remembered');
  // A context whose API does not answer is a failed step that says what to run.
  const silent = await dev(['up', '--runtime', 'kubernetes', '--context', 'ctx-one', '--kubeconfig', kubeconfig], { DEV_DIR: dir });
  t.is(silent.code, 1);
  t.regex(silent.stdout + silent.stderr, /the cluster of context ctx-one \(https:\/\/127\.0\.0\.1:1\) does not answer/);
});
