/**
 * The kubernetes runtime on the real test cluster: up → the whole account and probe flow → a service's pod
 * deleted → the flow again → a crashing image diagnosed → down leaving no object of ours.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { LABELS } from '@saas/kit/contracts';
import { freePort } from '@saas/kit/testing';
import { StepError, type EngineEvent } from '../../cluster/events.ts';
import { PROJECT_ROOT } from '../../cluster/images/paths.ts';
import { loadManifests } from '../../cluster/manifests/load.ts';
import type { Deployment, Manifests } from '../../cluster/manifests/types.ts';
import { KubernetesRuntime } from '../../cluster/runtimes/kubernetes/index.ts';
import { readState } from '../../cluster/runtimes/kubernetes/state.ts';
import { isAlive } from '../../cluster/host/procfs.ts';
import { runSmoke } from '../../cluster/smoke/flow.ts';
import { KUBECONFIG_PATH } from '../../infra/test-cluster/layout.ts';
import { cluster, waitFor } from './helpers.ts';

let devDir: string;
let runtime: KubernetesRuntime;
let manifests: Manifests;

const doneMessage = (events: EngineEvent[], id: string) => events.find((e): e is Extract<EngineEvent, { type: 'done' }> => e.type === 'done' && e.step === id)?.message ?? '';

test.before(async () => {
  devDir = await mkdtemp(path.join(os.tmpdir(), 'k8s-runtime-test-'));
  manifests = await loadManifests(path.join(PROJECT_ROOT, 'manifests/local'));
  runtime = new KubernetesRuntime({
    projectDir: PROJECT_ROOT,
    devDir,
    frontendPort: await freePort(),
    cluster: { kubeconfig: process.env.KUBECONFIG || KUBECONFIG_PATH },
  });
});

test.after.always(async () => {
  if (runtime) await runtime.down({ emit: () => undefined, wipe: true }).catch(() => undefined);
  if (devDir) await rm(devDir, { recursive: true, force: true });
});

async function ours(): Promise<string[]> {
  const { core, apps } = await cluster();
  const q = { namespace: 'default', labelSelector: `${LABELS.project}=${runtime.checkout}` };
  const [d, s, p, sa] = await Promise.all([apps.listNamespacedDeployment(q), core.listNamespacedService(q), core.listNamespacedPod(q), core.listNamespacedServiceAccount(q)]);
  return [...d.items.map((x) => `deployment/${x.metadata?.name}`), ...s.items.map((x) => `service/${x.metadata?.name}`), ...p.items.map((x) => `pod/${x.metadata?.name}`), ...sa.items.map((x) => `sa/${x.metadata?.name}`)];
}

test.serial('up applies the manifests with hash tags and the checkout label, every Deployment ready, the services forwarded', async (t) => {
  t.timeout(600_000);
  const events: EngineEvent[] = [];
  const status = await runtime.up({ manifests, emit: (e) => events.push(e), timeoutMs: 400_000 });
  t.is(status.runtime, 'kubernetes');
  t.deepEqual(status.services.map((s) => s.name).sort(), manifests.deployments.map((d) => d.metadata.name).sort());
  for (const s of status.services) t.true(s.ready, `${s.name}: ${s.state} ${s.message ?? ''}`);
  for (const url of Object.values(status.endpoints ?? {})) t.regex(url, /^http:\/\/127\.0\.0\.1:\d+$/);

  const { apps } = await cluster();
  const users = await apps.readNamespacedDeployment({ name: 'users', namespace: 'default' });
  const c = users.spec?.template.spec?.containers[0];
  t.regex(c?.image ?? '', /^scope-saas\/users:[0-9a-f]{16}$/);
  t.is(c?.imagePullPolicy, 'IfNotPresent');
  t.is(users.metadata?.labels?.[LABELS.project], runtime.checkout);
  t.is(c?.env?.find((e) => e.name === 'FRONTEND_URL')?.value, status.endpoints?.frontend, 'the login links point where a browser here reaches the frontend');
  // The test cluster has a default StorageClass (infra/test-cluster/volume-provisioner.ts): the data is claimed.
  const db = await apps.readNamespacedDeployment({ name: 'users-db', namespace: 'default' });
  t.is(db.spec?.template.spec?.volumes?.[0]?.persistentVolumeClaim?.claimName, 'users-db-data');
  t.is(db.spec?.strategy?.type, 'Recreate');
  const { core } = await cluster();
  const claim = await core.readNamespacedPersistentVolumeClaim({ name: 'users-db-data', namespace: 'default' });
  t.is(claim.status?.phase, 'Bound');
  t.is(claim.metadata?.labels?.[LABELS.project], runtime.checkout);
  const mapper = await apps.readNamespacedDeployment({ name: 'app-mapper', namespace: 'default' });
  const env = Object.fromEntries((mapper.spec?.template.spec?.containers[0]?.env ?? []).map((e) => [e.name, e.value]));
  t.is(env.PROVISIONER, 'kubernetes');
  t.regex(env.SCOPE_APP_IMAGE ?? '', /^scope-saas\/scope:[0-9a-f]{16}$/);
  t.deepEqual(JSON.parse(env.APP_LABELS ?? '{}'), { [LABELS.project]: runtime.checkout });
});

test.serial('up again with nothing changed loads no image and changes no object', async (t) => {
  t.timeout(120_000);
  const { apps } = await cluster();
  const before = (await apps.listNamespacedDeployment({ namespace: 'default', labelSelector: `${LABELS.project}=${runtime.checkout}` })).items.map((d) => `${d.metadata?.name}@${d.metadata?.resourceVersion}`).sort();
  const events: EngineEvent[] = [];
  await runtime.up({ manifests, emit: (e) => events.push(e), timeoutMs: 60_000 });
  t.is(doneMessage(events, 'cluster/load'), 'every image already on the node');
  t.regex(doneMessage(events, 'cluster/apply'), /^unchanged \(\d+ objects\)$/);
  const after = (await apps.listNamespacedDeployment({ namespace: 'default', labelSelector: `${LABELS.project}=${runtime.checkout}` })).items.map((d) => `${d.metadata?.name}@${d.metadata?.resourceVersion}`).sort();
  t.deepEqual(after, before);
});

test.serial('the account flow works through the forwards, and again after the users and users-db pods are deleted, the data kept', async (t) => {
  t.timeout(400_000);
  const endpoints = await runtime.endpoints();
  t.truthy(endpoints);
  const first = await runSmoke({ endpoints: endpoints!, emit: () => undefined, mapTimeoutMs: 180_000 });
  t.true(first.ok, `first run: ${JSON.stringify(first.failure, null, 2)}`);
  const appsOfOrgs = (await runtime.status()).apps;
  t.true(appsOfOrgs.length >= 1, 'the org app is found by label');

  const { core } = await cluster();
  // dev logs -f users, followed across the restart: the old pod's last lines, then the new pod's.
  const logLines: string[] = [];
  const following = new AbortController();
  const followed = runtime.logs('users', (line) => logLines.push(line), { follow: true, tail: 5, signal: following.signal });
  await waitFor('the first log lines', async () => (logLines.length > 0 ? true : undefined), 30_000);
  const pods = await core.listNamespacedPod({ namespace: 'default', labelSelector: `app=users,${LABELS.project}=${runtime.checkout}` });
  const dbPods = await core.listNamespacedPod({ namespace: 'default', labelSelector: `app=users-db,${LABELS.project}=${runtime.checkout}` });
  const deletedAt = Date.now();
  for (const p of [...pods.items, ...dbPods.items]) await core.deleteNamespacedPod({ name: p.metadata?.name ?? '', namespace: 'default' });
  await waitFor('a new users pod ready', async () => {
    const now = await core.listNamespacedPod({ namespace: 'default', labelSelector: `app=users,${LABELS.project}=${runtime.checkout}` });
    const fresh = now.items.filter((p) => !pods.items.some((old) => old.metadata?.uid === p.metadata?.uid));
    return fresh.some((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) ? true : undefined;
  }, 120_000);
  // The restart is over for a client once the frontend reaches the new pod (kube-proxy has followed the
  // Endpoints): until then a new connection to the Service can still be sent to the old pod's address.
  await waitFor('the frontend reaches users again', async () => {
    const res = await fetch(`${endpoints!.frontend}/api/users/me`, { signal: AbortSignal.timeout(3000) });
    await res.body?.cancel();
    return res.status !== 502 && res.status !== 504 ? true : undefined;
  }, 60_000);
  const second = await runSmoke({ endpoints: endpoints!, emit: () => undefined, mapTimeoutMs: 180_000 });
  t.true(second.ok, `after the pod delete: ${JSON.stringify(second.failure, null, 2)}`);
  const startedAfterDelete = (l: string) => {
    const entry = /Server listening/.test(l) ? (JSON.parse(l) as { time?: string | number }) : undefined;
    return entry?.time !== undefined && new Date(entry.time).getTime() > deletedAt;
  };
  await waitFor('the new pod’s start in the followed log', async () => (logLines.some(startedAfterDelete) ? true : undefined), 30_000).catch((err: Error) => t.fail(`${err.message}; lines: ${logLines.slice(-15).join('\n')}`));
  following.abort();
  await followed;
  t.deepEqual(await runtime.endpoints(), endpoints, 'the local ports stay the same');
  const listed = (await (await fetch(`${endpoints!.users}/private/api/users`)).json()) as { email: string }[];
  t.true(listed.some((u) => u.email === first.email), 'the account made before the database pod was deleted is still there');
});

test.serial('a crashing image ends the wait with its reason and its last log lines', async (t) => {
  t.timeout(240_000);
  const base = manifests.deployments.find((d) => d.metadata.name === 'ui-server') as Deployment;
  const container = base.spec.template.spec.containers[0]!;
  const crasher: Deployment = {
    ...base,
    metadata: { name: 'crasher', labels: { app: 'crasher' } },
    spec: {
      ...base.spec,
      selector: { matchLabels: { app: 'crasher' } },
      template: {
        metadata: { labels: { app: 'crasher' } },
        spec: { containers: [{ ...container, name: 'crasher', command: ['node', '-e', 'console.log("crasher: cannot go on"); process.exit(3)'] }] },
      },
    },
  };
  const t0 = Date.now();
  const err = await t.throwsAsync(runtime.up({ manifests: { ...manifests, deployments: [...manifests.deployments, crasher] }, emit: () => undefined, timeoutMs: 200_000 }));
  t.true(err instanceof StepError);
  const d = (err as StepError).diagnosis;
  t.regex(d.summary, /did not become ready \(crasher\): crasher: pod crasher-.* is CrashLoopBackOff/);
  t.true(d.logs?.some((l) => l.lines.some((line) => line.includes('crasher: cannot go on'))), JSON.stringify(d.logs));
  t.regex(d.hint ?? '', /dev logs crasher/);
  // The kubelet backs off 10 s after the first crash; the wait ends on the CrashLoopBackOff, not the timeout.
  t.true(Date.now() - t0 < 90_000, `${Date.now() - t0} ms`);
});

test.serial('down removes every object of the checkout and stops the forwarder', async (t) => {
  t.timeout(180_000);
  const forwarder = readState(runtime.stateFile)?.forwarder;
  t.truthy(forwarder);
  await runtime.down({ emit: () => undefined });
  t.deepEqual(await ours(), []);
  const { core } = await cluster();
  const claims = async () => (await core.listNamespacedPersistentVolumeClaim({ namespace: 'default', labelSelector: `${LABELS.project}=${runtime.checkout}` })).items.map((c) => c.metadata?.name).sort();
  t.deepEqual(await claims(), ['app-mapper-db-data', 'mailcatcher-data', 'users-db-data'], 'the data stays without --wipe');
  await runtime.down({ emit: () => undefined, wipe: true });
  t.deepEqual(await claims(), []);
  await waitFor('the forwarder gone', async () => (isAlive(forwarder!.pid) ? undefined : true), 10_000);
  t.is(await runtime.endpoints(), null);
  const { apps } = await cluster();
  const appDeployments = await apps.listNamespacedDeployment({ namespace: 'default', labelSelector: `${LABELS.role}=scope-app,${LABELS.project}=${runtime.checkout}` });
  t.is(appDeployments.items.length, 0);
});
