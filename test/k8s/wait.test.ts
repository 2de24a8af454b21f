/**
 * waitDeployment on the real test cluster: a Deployment of our ui-server becomes ready with its progress;
 * a missing image and a crashing container end the wait fast with their diagnosis; a Deployment that
 * never gets ready ends at the deadline.
 */
import test from 'ava';
import type { V1Container, V1Deployment } from '@kubernetes/client-node';
import { StepError } from '../../cluster/events.ts';
import { connect, type Kube } from '../../cluster/kubernetes/client.ts';
import { waitDeployment } from '../../cluster/kubernetes/wait.ts';
import { KUBECONFIG_PATH } from '../../infra/test-cluster/layout.ts';
import { ourImage, testNamespace, waitFor } from './helpers.ts';

let ns: { name: string; remove: () => Promise<void> };
let image: string;
let kube: Kube;

test.before(async () => {
  kube = await connect({ kubeconfig: process.env.KUBECONFIG || KUBECONFIG_PATH });
  ns = await testNamespace('h-watch-wait');
  image = await ourImage('ui-server');
});

test.after.always(async () => {
  await ns?.remove();
});

function deployment(name: string, container: Partial<V1Container>): V1Deployment {
  return {
    metadata: { name },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { terminationGracePeriodSeconds: 0, containers: [{ name, image, imagePullPolicy: 'Never', ...container }] },
      },
    },
  };
}

const readyz = { ports: [{ containerPort: 8080 }], readinessProbe: { httpGet: { path: '/readyz', port: 8080 }, periodSeconds: 1 } };

async function podCreatedAt(app: string): Promise<number> {
  return waitFor(`pod of ${app}`, async () => {
    const pod = (await kube.core.listNamespacedPod({ namespace: ns.name, labelSelector: `app=${app}` })).items[0];
    return pod?.metadata?.creationTimestamp ? new Date(pod.metadata.creationTimestamp).getTime() : undefined;
  });
}

/** When the kubelet first reported reason for the app's pod (its event; whole seconds, rounded down). */
async function podEventAt(app: string, reason: string): Promise<number> {
  return waitFor(`event ${reason} of ${app}`, async () => {
    const events = (await kube.core.listNamespacedEvent({ namespace: ns.name })).items.filter((e) => e.reason === reason && e.involvedObject.name?.startsWith(`${app}-`));
    const times = events.map((e) => new Date(e.firstTimestamp ?? e.eventTime ?? e.metadata?.creationTimestamp ?? 0).getTime()).filter((x) => x > 0);
    return times.length ? Math.min(...times) : undefined;
  });
}

test('a Deployment of ui-server becomes ready, its progress ending in Ready', async (t) => {
  await kube.apps.createNamespacedDeployment({ namespace: ns.name, body: deployment('ready', readyz) });
  const progress: string[] = [];
  await waitDeployment(kube, 'ready', ns.name, { deadline: Date.now() + 90_000, progress: (m) => progress.push(m) });
  t.is(progress.at(-1), 'Ready');
  t.true(progress.length >= 2, `progress: ${progress.join(' → ')}`);
  const d = await kube.apps.readNamespacedDeployment({ name: 'ready', namespace: ns.name });
  t.is(d.status?.availableReplicas, 1);
});

test('an image that is not on the node ends the wait with ErrImageNeverPull within 5 s of the kubelet reporting it', async (t) => {
  await kube.apps.createNamespacedDeployment({ namespace: ns.name, body: deployment('absent', { image: 'h-watch-absent:none' }) });
  const err = await t.throwsAsync(waitDeployment(kube, 'absent', ns.name, { deadline: Date.now() + 60_000, progress: () => undefined }), { instanceOf: StepError });
  const failedAt = Date.now();
  t.regex(err?.diagnosis.summary ?? '', /ErrImageNeverPull/);
  t.regex(err?.diagnosis.hint ?? '', /dev up/);
  t.true(err?.diagnosis.logs?.some((l) => l.source.startsWith('events of absent-')) ?? false, JSON.stringify(err?.diagnosis.logs));
  // The bound is from the event, not from the pod's creation: how soon the kubelet tries the image is
  // its own (seconds on a loaded machine). Event times are whole seconds, rounded down: up to 1 s more.
  const created = await podCreatedAt('absent');
  const age = failedAt - (await podEventAt('absent', 'ErrImageNeverPull'));
  t.log(`failed ${age} ms after the kubelet's ErrImageNeverPull event, ${failedAt - created} ms after the pod was created`);
  t.true(age < 6000, `failed ${age} ms after the ErrImageNeverPull event`);
});

test('a crashing container ends the wait with CrashLoopBackOff and its last log lines', async (t) => {
  const command = ['node', '-e', "console.error('h-watch: about to exit 3'); process.exit(3)"];
  await kube.apps.createNamespacedDeployment({ namespace: ns.name, body: deployment('crashing', { ...readyz, command }) });
  const err = await t.throwsAsync(waitDeployment(kube, 'crashing', ns.name, { deadline: Date.now() + 90_000, progress: () => undefined }), { instanceOf: StepError });
  t.regex(err?.diagnosis.summary ?? '', /crashing: pod crashing-\S+ is CrashLoopBackOff/);
  const logs = err?.diagnosis.logs?.find((l) => l.source === 'crashing (before its last restart)');
  t.deepEqual(logs?.lines, ['h-watch: about to exit 3']);
  t.true(err?.diagnosis.logs?.some((l) => l.source.startsWith('events of crashing-') && l.lines.some((e) => /BackOff|Started/.test(e))) ?? false, JSON.stringify(err?.diagnosis.logs));
});

test('a Deployment that never gets ready ends at the deadline, naming its pods', async (t) => {
  const never = { ...readyz, readinessProbe: { httpGet: { path: '/h-watch-never', port: 8080 }, periodSeconds: 1 } };
  await kube.apps.createNamespacedDeployment({ namespace: ns.name, body: deployment('never', never) });
  const started = Date.now();
  const err = await t.throwsAsync(waitDeployment(kube, 'never', ns.name, { deadline: started + 4000, progress: () => undefined }), { instanceOf: StepError });
  t.regex(err?.diagnosis.summary ?? '', /^never was not ready in time \(pods: \w+\)$/);
  const took = Date.now() - started;
  t.true(took >= 4000 && took < 6000, `ended after ${took} ms`);
});

test('an aborted wait ends at once with the abort reason', async (t) => {
  const never = { ...readyz, readinessProbe: { httpGet: { path: '/h-watch-never', port: 8080 }, periodSeconds: 1 } };
  await kube.apps.createNamespacedDeployment({ namespace: ns.name, body: deployment('aborted', never) });
  const ac = new AbortController();
  const reason = new Error('h-watch: Ctrl-C');
  setTimeout(() => ac.abort(reason), 1500);
  const started = Date.now();
  const err = await t.throwsAsync(waitDeployment(kube, 'aborted', ns.name, { deadline: started + 60_000, progress: () => undefined, signal: ac.signal }));
  t.is(err, reason);
  t.true(Date.now() - started < 2500, `ended ${Date.now() - started} ms after the start`);
});

test('a Deployment that does not exist is a clear error', async (t) => {
  const err = await t.throwsAsync(waitDeployment(kube, 'missing', ns.name, { deadline: Date.now() + 10_000, progress: () => undefined }), { instanceOf: StepError });
  t.is(err?.diagnosis.summary, `there is no Deployment missing in namespace ${ns.name}`);
});
