/** manifests/local as the objects the Kubernetes runtimes apply (pure: no cluster needed). */
import path from 'node:path';
import test from 'ava';
import type { KubernetesObject } from '@kubernetes/client-node';
import { LABELS } from '@saas/kit/contracts';
import { PROJECT_ROOT } from '../../cluster/images/paths.ts';
import { imagesNeeded, kubeObjects, upstreamImages } from '../../cluster/kubernetes/objects.ts';
import { loadManifests } from '../../cluster/manifests/load.ts';

type Env = { name: string; value?: string }[];
interface Workload extends KubernetesObject {
  spec: { type?: string; ports?: { nodePort?: number; protocol?: string }[]; template: { spec: { containers: { image: string; imagePullPolicy?: string; env?: Env; ports?: { protocol?: string }[] }[]; volumes?: unknown[] } } };
}

const manifests = await loadManifests(path.join(PROJECT_ROOT, 'manifests/local'));
const tags = new Map(['frontend', 'ui-server', 'users', 'app-mapper', 'scope', 'pglite', 'mailcatcher'].map((n) => [n, `scope-saas/${n}:0123456789abcdef`]));
const standIn = new Set(['postgres', 'maildev/maildev']);
const objects = (extra: Partial<Parameters<typeof kubeObjects>[0]> = {}) =>
  kubeObjects({ manifests, namespace: 'default', checkout: 'c0ffee', tags, standIn, frontendUrl: 'http://127.0.0.1:4046', ...extra }) as Workload[];
const find = (list: Workload[], kind: string, name: string) => list.find((o) => o.kind === kind && o.metadata?.name === name)!;
const env = (o: Workload) => Object.fromEntries((o.spec.template.spec.containers[0]?.env ?? []).map((e) => [e.name, e.value]));

test('every object carries the checkout label; our images run by hash tag, IfNotPresent; stand-ins where asked', (t) => {
  const all = objects();
  for (const o of all) t.is(o.metadata?.labels?.[LABELS.project], 'c0ffee', `${o.kind}/${o.metadata?.name}`);
  const users = find(all, 'Deployment', 'users');
  t.is(users.spec.template.spec.containers[0]?.image, 'scope-saas/users:0123456789abcdef');
  t.is(users.spec.template.spec.containers[0]?.imagePullPolicy, 'IfNotPresent');
  const db = find(all, 'Deployment', 'users-db');
  t.is(db.spec.template.spec.containers[0]?.image, 'scope-saas/pglite:0123456789abcdef');
  t.truthy(db.spec.template.spec.volumes?.length);
  for (const o of all.filter((x) => x.kind === 'Deployment')) for (const c of o.spec.template.spec.containers) for (const p of c.ports ?? []) t.is(p.protocol, 'TCP');
  t.deepEqual(imagesNeeded(manifests, standIn), ['app-mapper', 'frontend', 'mailcatcher', 'pglite', 'scope', 'ui-server', 'users']);
  t.deepEqual(upstreamImages(manifests).map((i) => i.split(':')[0]), ['maildev/maildev', 'postgres']);
});

test('the login links name the URL a browser here reaches; app-mapper is bound to the kubernetes provisioner', (t) => {
  const all = objects();
  t.is(env(find(all, 'Deployment', 'users')).FRONTEND_URL, 'http://127.0.0.1:4046');
  const mapper = env(find(all, 'Deployment', 'app-mapper'));
  t.is(mapper.PROVISIONER, 'kubernetes');
  t.is(mapper.SCOPE_APP_IMAGE, 'scope-saas/scope:0123456789abcdef');
  t.deepEqual(JSON.parse(mapper.APP_LABELS ?? '{}'), { [LABELS.project]: 'c0ffee' });
});

test('applied to another namespace, the cluster names the manifests write name that namespace', (t) => {
  const all = objects({ namespace: 'kind-dev-1' });
  for (const o of all) t.is(o.metadata?.namespace, 'kind-dev-1');
  const frontend = env(find(all, 'Deployment', 'frontend'));
  t.is(frontend.USERS_URL, 'http://users.kind-dev-1.svc.cluster.local');
  t.is(env(find(all, 'Deployment', 'users')).DATABASE_URL, 'postgresql://postgres:postgres@users-db.kind-dev-1.svc.cluster.local:5432/postgres');
  t.is(env(find(objects(), 'Deployment', 'frontend')).USERS_URL, 'http://users.default.svc.cluster.local', 'unchanged in default');
});

test('with a frontend NodePort (kind), the frontend Service is a NodePort there and no other Service changes', (t) => {
  const all = objects({ frontendNodePort: 31234 });
  const svc = find(all, 'Service', 'frontend');
  t.is(svc.spec.type, 'NodePort');
  t.is(svc.spec.ports?.[0]?.nodePort, 31234);
  t.is(find(all, 'Service', 'users').spec.type, undefined);
  t.is(find(objects(), 'Service', 'frontend').spec.type, undefined);
});

test('with a StorageClass the stand-ins claim their data (Recreate, fsGroup of the image user); without one it lives in the pod', (t) => {
  const all = objects({ storageClass: 'standard' }) as (Workload & { spec: { strategy?: { type: string }; template: { spec: { securityContext?: { fsGroup?: number }; volumes?: { persistentVolumeClaim?: { claimName: string }; emptyDir?: object }[] } }; storageClassName?: string } })[];
  const claims = all.filter((o) => o.kind === 'PersistentVolumeClaim');
  t.deepEqual(claims.map((c) => c.metadata?.name).sort(), ['app-mapper-db-data', 'mailcatcher-data', 'users-db-data']);
  t.is(claims[0]?.spec.storageClassName, 'standard');
  const db = all.find((o) => o.kind === 'Deployment' && o.metadata?.name === 'users-db')!;
  t.deepEqual(db.spec.template.spec.volumes, [{ name: 'data', persistentVolumeClaim: { claimName: 'users-db-data' } }]);
  t.is(db.spec.strategy?.type, 'Recreate');
  t.is(db.spec.template.spec.securityContext?.fsGroup, 1000);
  t.is(all.find((o) => o.kind === 'Deployment' && o.metadata?.name === 'users')!.spec.strategy, undefined);
  const plain = objects() as typeof all;
  t.false(plain.some((o) => o.kind === 'PersistentVolumeClaim'));
  t.deepEqual(plain.find((o) => o.kind === 'Deployment' && o.metadata?.name === 'users-db')!.spec.template.spec.volumes, [{ name: 'data', emptyDir: {} }]);
});
