/**
 * The Kubernetes provisioner on the real test cluster: an org's app is a Deployment + Service, ready when its
 * replica is available, answering on its Service; a second app-mapper adopts it; idle reaping and a
 * bad image leave nothing behind.
 */
import test from 'ava';
import { createLogger } from '@saas/kit';
import { APP_ROLE, appName, LABELS } from '@saas/kit/contracts';
import { kubernetesProvisionerFromEnv } from '../../images/app-mapper/src/provisioners/kubernetes.ts';
import { cluster, ourImage, testNamespace, waitFor } from '../k8s/helpers.ts';

const log = createLogger('test', 'silent');
const checkout = { [LABELS.project]: 'k8s-backend-test' };
let ns: { name: string; remove: () => Promise<void> };
let image: string;

test.before(async () => {
  ns = await testNamespace('app-backend');
  image = await ourImage('scope');
});

test.after.always(async () => {
  await ns?.remove();
});

const provisioner = async (extra: Record<string, string> = {}) =>
  kubernetesProvisionerFromEnv({
    log,
    kubeConfig: (await cluster()).kc,
    env: { SCOPE_APP_IMAGE: image, POD_NAMESPACE: ns.name, APP_LABELS: JSON.stringify(checkout), ...extra },
  });

async function ours(org: string): Promise<string[]> {
  const { apps, core } = await cluster();
  const selector = `${LABELS.role}=${APP_ROLE},${LABELS.org}=${org}`;
  const ds = await apps.listNamespacedDeployment({ namespace: ns.name, labelSelector: selector });
  const ss = await core.listNamespacedService({ namespace: ns.name, labelSelector: selector });
  return [...ds.items.map((o) => `deployment/${o.metadata?.name ?? ''}`), ...ss.items.map((o) => `service/${o.metadata?.name ?? ''}`)];
}

test.serial('an org app is a labelled Deployment + Service, ready on its available replica, adopted by a new app-mapper, reaped when idle', async (t) => {
  t.timeout(240_000);
  const { apps, core } = await cluster();
  const first = await provisioner();
  await first.init();
  const org = 'k8sorg1';
  const started = await first.ensure(org);
  t.is(started.state, 'starting');
  const svc = await core.readNamespacedService({ name: appName(org), namespace: ns.name });
  t.is(started.url, `http://${svc.spec?.clusterIP}:8080`, 'the app is reached on its ClusterIP');
  // Ready means it answers there (a Deployment is available before kube-proxy routes its new Service).
  const ready = await waitFor('the app ready', async () => ((await first.ensure(org)).state === 'ready' ? first.ensure(org) : undefined), 120_000);
  t.is(ready.state, 'ready');

  const d = await apps.readNamespacedDeployment({ name: appName(org), namespace: ns.name });
  t.is(d.metadata?.labels?.[LABELS.project], 'k8s-backend-test');
  t.is(d.metadata?.labels?.[LABELS.org], org);
  t.is(d.spec?.template.spec?.containers[0]?.image, image);
  t.is(d.spec?.template.spec?.containers[0]?.imagePullPolicy, 'IfNotPresent');
  t.true((d.status?.availableReplicas ?? 0) >= 1);

  const res = await fetch(`http://${svc.spec?.clusterIP}:8080/readyz`, { signal: AbortSignal.timeout(2000) });
  await res.body?.cancel();
  t.is(res.status, 200, 'once ready it answers on its Service (the host reaches ClusterIPs through kube-proxy)');

  // A new app-mapper (a restart) adopts it instead of starting another.
  const second = await provisioner();
  await second.init();
  const adopted = await second.status(org);
  t.is(adopted?.state, 'ready');
  const again = await apps.readNamespacedDeployment({ name: appName(org), namespace: ns.name });
  t.is(again.metadata?.uid, d.metadata?.uid);

  // Idle reaping removes the Deployment and the Service.
  t.deepEqual(await second.stopIdle(0, Date.now() + 1), [org]);
  t.deepEqual(await ours(org), []);
  await first.stopAll();
});

test.serial('an image the node lacks fails the start with its reason and leaves nothing', async (t) => {
  t.timeout(120_000);
  const p = await provisioner({ SCOPE_APP_IMAGE: 'scope-saas/scope:does-not-exist' });
  const org = 'k8sorg2';
  await p.ensure(org);
  const crashed = await waitFor('the start failed', async () => {
    const s = await p.status(org);
    return s?.state === 'crashed' ? s : undefined;
  }, 90_000);
  t.regex(crashed.reason ?? '', /ErrImagePull|ImagePullBackOff|ErrImageNeverPull/);
  // The failed start's objects are removed right after it is marked crashed.
  await waitFor('the failed app removed', async () => ((await ours(org)).length === 0 ? true : undefined), 60_000);
  t.deepEqual(await ours(org), []);
  await p.stopAll();
});

test('without SCOPE_APP_IMAGE or with bad labels the provisioner says what is missing', (t) => {
  t.throws(() => kubernetesProvisionerFromEnv({ log, env: { POD_NAMESPACE: 'x' } }), { message: /needs SCOPE_APP_IMAGE/ });
  t.throws(() => kubernetesProvisionerFromEnv({ log, env: { POD_NAMESPACE: 'x', SCOPE_APP_IMAGE: 'i', APP_LABELS: '[1]' } }), { message: /APP_LABELS must be a JSON object/ });
});
