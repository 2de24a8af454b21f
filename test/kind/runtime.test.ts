/**
 * `dev up --runtime kind` end to end through the real `dev` binary, with a TEST DOUBLE of the kind CLI first on
 * PATH (test/kind/stand-in/kind: kind cannot run here), which maps kind's commands onto the real test cluster.
 * Everything past the kind CLI is real: images built with dockerode and imported into the node's containerd,
 * the objects applied to the cluster, the frontend reached through the NodePort the kind config publishes.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { parse } from 'yaml';
import { $ } from 'zx';
import { freePort } from '@saas/kit/testing';
import { canListen } from '../../cluster/host/ports.ts';
import { isAlive } from '../../cluster/host/procfs.ts';
import { clusterName, kindConfigProblems, loadImages, NODE_IMAGE } from '../../cluster/kind/index.ts';
import { frontendNodePort } from '../../cluster/runtimes/kind/provider.ts';
import { readState } from '../../cluster/runtimes/kubernetes/state.ts';
import { CONTAINERD_NAMESPACE, state as testCluster } from '../../infra/test-cluster/layout.ts';
import { nodeImages } from '../../infra/test-cluster/load.ts';
import { dev, devBin } from '../cli/helpers/dev.ts';
import { cluster, waitFor } from '../k8s/helpers.ts';

const standInBin = path.join(path.dirname(new URL(import.meta.url).pathname), 'stand-in');
let devDir: string;
let standInDir: string;
let frontendPort: number;
let env: Record<string, string>;
let name: string;

test.before(async () => {
  devDir = await mkdtemp(path.join(os.tmpdir(), 'kind-runtime-test-'));
  standInDir = await mkdtemp(path.join(os.tmpdir(), 'kind-stand-in-'));
  frontendPort = await freePort();
  name = clusterName(devDir);
  env = { DEV_DIR: devDir, KIND_STAND_IN_DIR: standInDir, PATH: `${standInBin}${path.delimiter}${process.env.PATH ?? ''}`, DEV_FRONTEND_PORT: String(frontendPort), CI: 'true' };
  // The stand-in's commands, as the kind runtime's own code calls them from this process (the 3795 test).
  process.env.PATH = env.PATH;
  process.env.KIND_STAND_IN_DIR = standInDir;
});

test.after.always(async () => {
  if (devDir) await dev(['down'], env).catch(() => undefined);
  for (const f of existsSync(standInDir ?? '') ? readdirSync(standInDir) : []) {
    if (f.endsWith('.json')) await $({ quiet: true, nothrow: true, env: { ...process.env, ...env } })`kind delete cluster --name ${f.slice(0, -5)}`;
  }
  if (devDir) await rm(devDir, { recursive: true, force: true });
  if (standInDir) await rm(standInDir, { recursive: true, force: true });
});

const kindClusters = async (): Promise<string[]> => (await $({ quiet: true, env: { ...process.env, ...env } })`kind get clusters`).stdout.split('\n').filter(Boolean);
const namespace = () => `kind-${name}`;

async function namespaceGone(): Promise<boolean> {
  const { core } = await cluster();
  return core.readNamespace({ name: namespace() }).then(() => false, () => true);
}

test.serial('dev up --runtime kind makes the checkout’s cluster from a valid kind config and brings everything up', async (t) => {
  t.timeout(600_000);
  const up = await dev(['up', '--runtime', 'kind'], env, 580_000);
  t.is(up.code, 0, up.stdout + up.stderr);
  t.regex(up.stdout, new RegExp(`created ${name}`));
  t.regex(up.stdout, /services ready in .* \(runtime kind\)/);

  const config = parse(readFileSync(path.join(devDir, `kind-${name}.yaml`), 'utf8')) as { nodes: { image: string; extraPortMappings: unknown[] }[] };
  t.deepEqual(kindConfigProblems(config), []);
  t.is(config.nodes[0]?.image, NODE_IMAGE);
  t.deepEqual(config.nodes[0]?.extraPortMappings, [{ containerPort: frontendNodePort(name), hostPort: frontendPort, listenAddress: '127.0.0.1', protocol: 'TCP' }]);
  t.deepEqual(await kindClusters(), [name]);

  const { core } = await cluster();
  const frontend = await core.readNamespacedService({ name: 'frontend', namespace: namespace() });
  t.is(frontend.spec?.type, 'NodePort');
  t.is(frontend.spec?.ports?.[0]?.nodePort, frontendNodePort(name));

  const status = await dev(['status', '--json'], env);
  t.is(status.code, 0, status.stderr);
  const s = JSON.parse(status.stdout) as { runtime: string; endpoints: Record<string, string>; services: { name: string; ready: boolean }[] };
  t.is(s.runtime, 'kind');
  t.is(s.endpoints.frontend, `http://127.0.0.1:${frontendPort}`);
  t.true(s.services.every((x) => x.ready), JSON.stringify(s.services));
  const ready = await fetch(`http://127.0.0.1:${frontendPort}/readyz`);
  t.is(ready.status, 200, 'the frontend answers through the port mapping');
});

test.serial('dev test passes: mails, login link and probe through the port mapping and the forwards', async (t) => {
  t.timeout(400_000);
  const run = await dev(['test'], env, 380_000);
  t.is(run.code, 0, run.stdout + run.stderr);
  t.regex(run.stdout, /smoke flow passed/);
});

/** GET url through an HTTP proxy on 127.0.0.1:port, as a browser set to use it does. */
function viaProxy(port: number, url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: url, headers: { host: new URL(url).host } }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test.serial('dev connect serves the in-cluster names through its browser proxy', async (t) => {
  t.timeout(120_000);
  const port = await freePort();
  const child = spawn(process.execPath, [devBin, 'connect', '--port', String(port)], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => void child.kill('SIGINT'));
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d));
  await waitFor('the proxy listening', async () => (out.includes('browser proxy on') ? true : undefined), 60_000);
  const admin = await viaProxy(port, 'http://users.default.svc.cluster.local/private/admin');
  t.is(admin.status, 200);
  const front = await viaProxy(port, 'http://frontend.default.svc.cluster.local/readyz');
  t.is(front.status, 200);
  t.is((await viaProxy(port, 'http://example.com/')).status >= 400, true, 'other hosts are refused');
});

test.serial('dev up again reuses the cluster, loads no image and changes no object', async (t) => {
  t.timeout(180_000);
  const up = await dev(['up'], env);
  t.is(up.code, 0, up.stdout + up.stderr);
  t.regex(up.stdout, new RegExp(`reused ${name}`));
  t.regex(up.stdout, /every image already on the node/);
  t.regex(up.stdout, /unchanged \(\d+ objects\)/);
});

test.serial('kind load docker-image failing as in kind issue 3795 falls back to docker save + kind load image-archive', async (t) => {
  t.timeout(120_000);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'kind-3795-'));
  const tag = `kind-3795-check:${Date.now().toString(16)}`;
  t.teardown(async () => {
    await $({ quiet: true, nothrow: true })`docker rmi ${tag}`;
    await $({ quiet: true, nothrow: true })`ctr --address ${testCluster.containerdSocket} --namespace ${CONTAINERD_NAMESPACE} images rm docker.io/library/${tag}`;
    await rm(dir, { recursive: true, force: true });
  });
  await $({ quiet: true, cwd: dir })`printf 'FROM scratch\nCOPY marker /marker\n' > Dockerfile && echo 3795 > marker && docker build -q -t ${tag} .`;
  process.env.KIND_STAND_IN_FAIL_LOAD = '3795';
  try {
    const report = await loadImages([tag], { cluster: name, kubeconfig: path.join(devDir, `kind-${name}.kubeconfig`) });
    t.deepEqual(report.loaded, [{ image: tag, by: 'image-archive' }]);
  } finally {
    delete process.env.KIND_STAND_IN_FAIL_LOAD;
  }
  t.true((await nodeImages()).includes(`docker.io/library/${tag}`));
});

test.serial('dev down deletes the cluster, and nothing of it is left', async (t) => {
  t.timeout(300_000);
  const forwarder = readState(path.join(devDir, 'state', 'kind.json'))?.forwarder;
  t.truthy(forwarder);
  const down = await dev(['down'], env, 280_000);
  t.is(down.code, 0, down.stdout + down.stderr);
  t.regex(down.stdout, new RegExp(`deleted ${name}`));
  t.deepEqual(await kindClusters(), []);
  t.true(await namespaceGone(), 'the cluster’s objects went with it');
  t.false(existsSync(path.join(devDir, `kind-${name}.kubeconfig`)));
  await waitFor('the forwarder gone', async () => (isAlive(forwarder!.pid) ? undefined : true), 10_000);
  t.true(await canListen(frontendPort), 'the frontend port is free again');
});

test.serial('an up interrupted by Ctrl-C while the cluster is made leaves nothing once dev down has run', async (t) => {
  t.timeout(300_000);
  const child = spawn(process.execPath, [devBin, 'up', '--runtime', 'kind'], { env: { ...process.env, ...env, KIND_STAND_IN_CREATE_DELAY_MS: '20000' }, stdio: 'ignore', detached: true });
  await waitFor('kind create cluster under way', async () => (existsSync(path.join(standInDir, `${name}.json`)) ? true : undefined), 120_000);
  // Ctrl-C in a terminal signals the whole foreground process group: dev and the kind it runs.
  process.kill(-child.pid!, 'SIGINT');
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  t.not(code, 0);
  const down = await dev(['down'], env, 280_000);
  t.is(down.code, 0, down.stdout + down.stderr);
  t.deepEqual(await kindClusters(), []);
  t.true(await namespaceGone());
});
