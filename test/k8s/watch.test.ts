/**
 * watchList on the real test cluster: a watch from version 1 ends with the live set (relisting on 410 Gone),
 * and a stream the server ends (timeoutSeconds) is re-watched and keeps delivering changes.
 */
import test from 'ava';
import { CoordinationV1Api, type V1ConfigMap, type V1Lease } from '@kubernetes/client-node';
import { connect, type Kube } from '../../cluster/kubernetes/client.ts';
import { watchList, type ListWatcher, type Restart, type WatchSource } from '../../cluster/kubernetes/watch.ts';
import { KUBECONFIG_PATH } from '../../infra/test-cluster/layout.ts';
import { testNamespace, waitFor } from './helpers.ts';

let ns: { name: string; remove: () => Promise<void> };
let kube: Kube;

test.before(async () => {
  kube = await connect({ kubeconfig: process.env.KUBECONFIG || KUBECONFIG_PATH });
  ns = await testNamespace('h-watch-watch');
});

test.after.always(async () => {
  await ns?.remove();
});

function configMaps(label: string, timeoutSeconds?: number): WatchSource<V1ConfigMap> {
  return {
    path: `/api/v1/namespaces/${ns.name}/configmaps`,
    selectors: { labelSelector: `case=${label}` },
    list: (selectors) => kube.core.listNamespacedConfigMap({ namespace: ns.name, ...selectors }),
    ...(timeoutSeconds ? { timeoutSeconds } : {}),
  };
}

const create = (name: string, label: string) => kube.core.createNamespacedConfigMap({ namespace: ns.name, body: { metadata: { name, labels: { case: label } }, data: { a: '1' } } });
const names = (w: ListWatcher<V1ConfigMap>) => w.items().map((c) => c.metadata?.name).sort();
const until = (what: string, probe: () => boolean) => waitFor(what, async () => (probe() ? true : undefined), 20_000);

// Leases, not ConfigMaps: the node's and the controllers' leases change every few seconds, so the apiserver's
// watch cache of leases has long dropped version 1, while on a young, quiet cluster its ConfigMap cache still
// holds every change since version 1 and would replay them instead of answering 410.
function leases(): WatchSource<V1Lease> {
  const coordination = kube.kc.makeApiClient(CoordinationV1Api);
  return {
    path: `/apis/coordination.k8s.io/v1/namespaces/${ns.name}/leases`,
    list: (selectors) => coordination.listNamespacedLease({ namespace: ns.name, ...selectors }),
  };
}

// Whether the real apiserver answers a watch from version 1 with 410 depends on where its watch cache of
// leases began: on a fresh etcd (CI makes one every run) the cache can start at version 1 and replay from
// there instead. Either answer must end in the live set; a 410 must be a relist. The 410 path itself, made
// to happen on demand, is in test/cluster/watch-apiserver-stand-in.test.ts.
test('a watch from version 1 ends with the live set and follows changes, relisting if the server answers 410 Gone', async (t) => {
  const coordination = kube.kc.makeApiClient(CoordinationV1Api);
  const lease = (name: string) => coordination.createNamespacedLease({ namespace: ns.name, body: { metadata: { name }, spec: { holderIdentity: 'h-watch' } } });
  await lease('before');
  const restarts: Restart[] = [];
  const w = await watchList(kube, leases(), () => undefined, { resourceVersion: '1', onRestart: (r) => restarts.push(r) });
  const held = () => w.items().map((l) => l.metadata?.name).sort();
  try {
    await until('the Lease made before the watch', () => held().includes('before'));
    for (const r of restarts) {
      t.is(r.kind, 'relist', JSON.stringify(restarts));
      t.regex(r.reason, /410/);
    }
    t.log(restarts.length ? 'the server answered 410 Gone: relisted' : 'the server replayed from version 1');
    await lease('after');
    await until('the Lease made after', () => held().includes('after'));
    await coordination.deleteNamespacedLease({ name: 'before', namespace: ns.name });
    await until('the deletion', () => !held().includes('before'));
    t.deepEqual(held(), ['after']);
    t.true(restarts.length <= 1, JSON.stringify(restarts));
  } finally {
    w.stop();
  }
});

test('a stream the server closes after 1 s is re-watched from its version and keeps delivering changes', async (t) => {
  const restarts: Restart[] = [];
  const seen: string[][] = [];
  const w = await watchList(kube, configMaps('closing', 1), (items) => seen.push(items.map((c) => c.metadata?.name ?? '')), { onRestart: (r) => restarts.push(r) });
  try {
    t.deepEqual(names(w), []);
    await until('two server-side closes', () => restarts.length >= 2);
    await create('late', 'closing');
    await until('the ConfigMap made after the closes', () => names(w).includes('late'));
    await kube.core.deleteNamespacedConfigMap({ name: 'late', namespace: ns.name });
    await until('its deletion', () => names(w).length === 0);
    t.true(restarts.every((r) => r.kind === 'rewatch' && r.reason === 'watch closed by the server'), JSON.stringify(restarts));
    // the first list, then one change each: no relist replayed the set
    t.deepEqual(seen, [[], ['late'], []]);
  } finally {
    w.stop();
  }
  const after = restarts.length;
  await new Promise((r) => setTimeout(r, 2500));
  t.is(restarts.length, after, 'no re-watch after stop()');
});
