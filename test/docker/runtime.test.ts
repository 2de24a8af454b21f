import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import type Docker from 'dockerode';
import type { EngineEvent } from '../../cluster/events.ts';
import { resolveBaseImage } from '../../cluster/images/base.ts';
import { PROJECT_ROOT } from '../../cluster/images/paths.ts';
import { loadManifests } from '../../cluster/manifests/load.ts';
import type { Manifests } from '../../cluster/manifests/types.ts';
import { DockerRuntime, LABELS } from '../../cluster/runtimes/docker/index.ts';
import { runSmoke } from '../../cluster/smoke/flow.ts';
import { freePort, waitFor } from '@saas/kit/testing';
import { daemon } from './helpers.ts';

let docker: Docker;
let devDir: string;
let runtime: DockerRuntime;
let manifests: Manifests;
const unrelated = { container: '', network: '' };
const containerIds = new Map<string, string>();

const projectFilter = () => ({ label: [`${LABELS.project}=${runtime.projectId}`] });

test.before(async () => {
  docker = await daemon();
  devDir = await mkdtemp(path.join(os.tmpdir(), 'docker-runtime-test-'));
  manifests = await loadManifests(path.join(PROJECT_ROOT, 'manifests/local'));
  runtime = new DockerRuntime({ projectDir: PROJECT_ROOT, devDir, frontendPort: await freePort() }, docker);

  // Things this project did not make, which down must leave alone.
  const suffix = Date.now().toString(36);
  const base = await resolveBaseImage(docker, {});
  unrelated.network = `unrelated-${suffix}`;
  await docker.createNetwork({ Name: unrelated.network, Labels: { 'scope-saas.project': 'someone-else' } });
  const c = await docker.createContainer({
    name: `unrelated-${suffix}`,
    Image: base.ref,
    Cmd: ['node', '-e', 'setInterval(() => {}, 1000); process.on("SIGTERM", () => process.exit(0))'],
    Labels: { 'scope-saas.project': 'someone-else' },
    HostConfig: { NetworkMode: unrelated.network },
  });
  await c.start();
  unrelated.container = c.id;
});

test.after.always(async () => {
  if (runtime) await runtime.down({ emit: () => undefined, wipe: true }).catch(() => undefined);
  if (unrelated.container) await docker.getContainer(unrelated.container).remove({ force: true }).catch(() => undefined);
  if (unrelated.network) await docker.getNetwork(unrelated.network).remove().catch(() => undefined);
  if (devDir) await rm(devDir, { recursive: true, force: true });
});

test.serial('up runs every Deployment as a ready container on the project network, its HEALTHCHECK passing', async (t) => {
  t.timeout(480_000);
  const events: EngineEvent[] = [];
  const status = await runtime.up({ manifests, emit: (e) => events.push(e), timeoutMs: 300_000 });
  t.is(status.runtime, 'docker');
  t.true(status.up);
  t.deepEqual(status.services.map((s) => s.name).sort(), manifests.deployments.map((d) => d.metadata.name).sort());
  for (const s of status.services) t.true(s.ready, `${s.name}: ${s.state} ${s.message ?? ''}`);
  t.truthy(status.endpoints);
  for (const url of Object.values(status.endpoints ?? {})) t.regex(url, /^http:\/\/127\.0\.0\.1:\d+$/);

  // A build step per image and a service step per Deployment, all done.
  for (const d of manifests.deployments) t.true(events.some((e) => e.type === 'done' && e.step === `service/${d.metadata.name}`), d.metadata.name);
  t.true(events.some((e) => e.type === 'done' && e.step === 'build/scope'), 'the Scope app image is built for the container provisioner');

  const containers = await docker.listContainers({ all: true, filters: projectFilter() });
  for (const c of containers) containerIds.set(c.Labels[LABELS.deployment] ?? c.Id, c.Id);
  const users = await docker.getContainer(containerIds.get('users')!).inspect();
  t.deepEqual(users.NetworkSettings.Networks[runtime.network]?.Aliases?.filter((a: string) => a.startsWith('users')).sort(), [
    'users',
    'users.default',
    'users.default.svc',
    'users.default.svc.cluster.local',
  ]);
  t.not(users.Config.User, '');
  t.true(users.HostConfig.Init);
  t.true(users.Config.Env.includes('DATABASE_URL=postgresql://postgres:postgres@users-db.default.svc.cluster.local:5432/postgres'));
  const appMapper = await docker.getContainer(containerIds.get('app-mapper')!).inspect();
  t.true(appMapper.Config.Env.includes('PROVISIONER=docker'));
  t.true(appMapper.HostConfig.Binds?.some((b) => b.endsWith(':/var/run/docker.sock')));

  // Each image's own HEALTHCHECK (exec form, node) passes in the running system.
  await waitFor(
    'every container healthy',
    async () => {
      const states = await Promise.all([...containerIds.values()].map(async (id) => (await docker.getContainer(id).inspect()).State.Health?.Status));
      return states.every((s) => s === 'healthy');
    },
    120_000,
    1000,
  );
  t.pass();
});

test.serial('up again with nothing changed builds nothing and replaces no container', async (t) => {
  t.timeout(120_000);
  const events: EngineEvent[] = [];
  await runtime.up({ manifests, emit: (e) => events.push(e), timeoutMs: 60_000 });
  const builds = events.filter((e): e is Extract<EngineEvent, { type: 'done' }> => e.type === 'done' && e.step.startsWith('build/') && e.step !== 'build/base');
  t.true(builds.length > 0);
  for (const b of builds) t.regex(b.message ?? '', /^unchanged /, b.step);
  for (const e of events.filter((x) => x.type === 'done' && x.step.startsWith('service/'))) t.regex((e as { message?: string }).message ?? '', /^unchanged, ready/);
  const containers = await docker.listContainers({ all: true, filters: { label: [`${LABELS.project}=${runtime.projectId}`, `${LABELS.role}=service`] } });
  for (const c of containers) t.is(containerIds.get(c.Labels[LABELS.deployment] ?? ''), c.Id, c.Labels[LABELS.deployment] ?? c.Id);
});

test.serial('the account flow and the probe path work through the containers; the org app is a labelled container', async (t) => {
  t.timeout(300_000);
  const endpoints = await runtime.endpoints();
  t.truthy(endpoints);
  const tail = async (service: string, n: number) => {
    const lines: string[] = [];
    await runtime.logs(service, (l) => lines.push(l), { tail: n }).catch(() => undefined);
    return lines;
  };
  const result = await runSmoke({ endpoints: endpoints!, emit: () => undefined, logs: tail, mapTimeoutMs: 180_000 });
  t.true(result.ok, JSON.stringify(result.failure, null, 2));
  const status = await runtime.status();
  t.is(status.apps.length, 1);
  t.is(status.apps[0]!.state, 'running');
  const apps = await docker.listContainers({ filters: { label: [`${LABELS.project}=${runtime.projectId}`, `${LABELS.role}=scope-app`] } });
  t.is(apps.length, 1);
});

test.serial("logs come from a service's container; restart brings it back ready", async (t) => {
  t.timeout(120_000);
  const lines: string[] = [];
  await runtime.logs('users', (l) => lines.push(l), { tail: 5 });
  t.true(lines.length > 0 && lines.length <= 5);
  t.true(lines.every((l) => (JSON.parse(l) as { service?: string }).service === 'users'));
  await t.throwsAsync(runtime.logs('no-such-service', () => undefined), { message: /no container for "no-such-service"/ });

  // Following ends when aborted (the HEALTHCHECK's requests keep the log moving).
  const followed: string[] = [];
  const controller = new AbortController();
  await runtime.logs(
    'users',
    (l) => {
      followed.push(l);
      if (followed.length >= 2) controller.abort();
    },
    { follow: true, tail: 1, signal: controller.signal },
  );
  t.true(followed.length >= 2);

  const before = (await docker.getContainer(containerIds.get('ui-server')!).inspect()).State.StartedAt;
  await runtime.restart('ui-server');
  await waitFor('ui-server ready after restart', async () => (await runtime.status()).services.find((s) => s.name === 'ui-server')?.ready, 60_000, 500);
  t.not((await docker.getContainer(containerIds.get('ui-server')!).inspect()).State.StartedAt, before);
});

test.serial('down removes every container, network and volume it made, and nothing else', async (t) => {
  t.timeout(120_000);
  t.true((await docker.listVolumes({ filters: projectFilter() })).Volumes.length > 0, 'the stand-ins keep data in volumes');
  await runtime.down({ emit: () => undefined, wipe: true });
  t.deepEqual(await docker.listContainers({ all: true, filters: projectFilter() }), []);
  t.deepEqual(await docker.listNetworks({ filters: projectFilter() }), []);
  t.deepEqual((await docker.listVolumes({ filters: projectFilter() })).Volumes ?? [], []);
  t.true((await docker.getContainer(unrelated.container).inspect()).State.Running);
  t.is((await docker.getNetwork(unrelated.network).inspect()).Name, unrelated.network);
  t.false((await runtime.status()).up);
});
