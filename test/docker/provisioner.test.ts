import test from 'ava';
import type Docker from 'dockerode';
import { createLogger } from '@saas/kit';
import { waitFor } from '@saas/kit/testing';
import { resolveBaseImage } from '../../cluster/images/base.ts';
import { buildImages } from '../../cluster/images/build.ts';
import { imageSpec } from '../../cluster/images/specs.ts';
import { ContainerProvisioner, containerProvisionerFromEnv } from '../../images/app-mapper/src/provisioners/container.ts';
import { daemon } from './helpers.ts';

const log = createLogger('provisioner-test', 'silent');
const suffix = Date.now().toString(36);
const network = `provisioner-test-${suffix}`;
const labels = { 'scope-saas.project': `provisioner-test-${suffix}` };
let docker: Docker;
let scopeImage: string;
let baseImage: string;

test.before(async () => {
  docker = await daemon();
  const base = await resolveBaseImage(docker, {});
  baseImage = base.ref;
  const built = await buildImages({ emit: () => undefined, docker, base, images: [imageSpec('scope')] });
  scopeImage = built.get('scope')!.tag;
  await docker.createNetwork({ Name: network, Labels: labels });
});

test.after.always(async () => {
  const left = await docker.listContainers({ all: true, filters: { label: [`scope-saas.project=${labels['scope-saas.project']}`] } });
  for (const c of left) await docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined);
  await docker.getNetwork(network).remove().catch(() => undefined);
});

const provisioner = (image = scopeImage) =>
  new ContainerProvisioner({ log, docker, network, image, namePrefix: `${network}-`, labels, reach: 'published', startTimeoutMs: 90_000, stopGraceSeconds: 2 });

test.serial('an organisation gets a labelled Scope app container on the network; a new provisioner adopts it; stop removes it', async (t) => {
  t.timeout(180_000);
  const p = provisioner();
  await p.init();
  const first = await p.ensure('org1');
  t.is(first.state, 'starting');
  t.is(first.retryAfterSeconds, 2);
  t.regex(first.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  const ready = await waitFor('app ready', async () => ((await p.status('org1'))?.state === 'ready' ? p.status('org1') : undefined), 90_000, 250);
  t.is(ready!.url, first.url);
  t.is((await p.ensure('org1')).ref, first.ref, 'a ready app is reused');
  const api = (await (await fetch(`${first.url}/api`)).json()) as { id: string; version: string };
  t.is(api.version, '1.13.2');

  const info = await docker.getContainer(`${network}-scope-app-org1`).inspect();
  t.is(info.Config.Labels['scope-saas.role'], 'scope-app');
  t.is(info.Config.Labels['scope-saas.org'], 'org1');
  t.is(info.Config.Labels['scope-saas.project'], labels['scope-saas.project']);
  t.true(info.Config.Env.includes('SCOPE_ROLE=app'));
  t.truthy(info.NetworkSettings.Networks[network]?.Aliases?.includes('scope-app-org1'));

  const next = provisioner();
  await next.init();
  const adopted = await next.status('org1');
  t.is(adopted?.state, 'ready');
  t.deepEqual((await next.list()).map((a) => a.org), ['org1']);

  await next.stop('org1');
  t.is((await next.status('org1'))?.state, 'stopped');
  await t.throwsAsync(docker.getContainer(`${network}-scope-app-org1`).inspect());
});

test.serial('an app that exits while starting is reported crashed with a back-off, and its container removed', async (t) => {
  t.timeout(120_000);
  // The bare base image runs `node` with no input: it exits at once, as a broken app would.
  const p = provisioner(baseImage);
  await p.ensure('org2');
  const crashed = await waitFor('crash noticed', async () => ((await p.status('org2'))?.state === 'crashed' ? p.status('org2') : undefined), 60_000, 250);
  t.regex(crashed!.reason ?? '', /exited with code \d+/);
  t.true((crashed!.retryAfterSeconds ?? 0) >= 1);
  t.is((await p.ensure('org2')).state, 'crashed', 'no restart before the back-off passes');
  await waitFor('container removed', async () => docker.getContainer(`${network}-scope-app-org2`).inspect().then(() => false, () => true), 30_000, 250);
  t.pass();
});

test('invalid organisation IDs never name a container', async (t) => {
  const p = provisioner();
  await t.throwsAsync(p.ensure('Org-1; rm'), { message: /invalid organisation ID/ });
});

test('PROVISIONER=docker without the runtime variables says what is missing', (t) => {
  t.throws(() => containerProvisionerFromEnv({ log, env: {} }), { message: /DOCKER_NETWORK and SCOPE_APP_IMAGE/ });
  t.throws(() => containerProvisionerFromEnv({ log, env: { DOCKER_NETWORK: 'n', SCOPE_APP_IMAGE: 'i', DOCKER_LABELS: '{' } }), { message: /DOCKER_LABELS/ });
  const p = containerProvisionerFromEnv({ log, env: { DOCKER_NETWORK: 'n', SCOPE_APP_IMAGE: 'i', DOCKER_NAME_PREFIX: 'x-', DOCKER_APP_REACH: 'network' } });
  t.is(p.containerName('abc'), 'x-scope-app-abc');
  t.is(p.kind, 'docker');
});
