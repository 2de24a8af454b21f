import test from 'ava';
import { resolveEnv, type ResolvedEnvVar } from '../../cluster/manifests/env.ts';
import type { ConfigMap, Container, Secret } from '../../cluster/manifests/types.ts';

const settings: ConfigMap = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings' }, data: { LOG_LEVEL: 'debug', REGION: 'eu', 'not a name': 'x' } };
const credentials: Secret = {
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name: 'credentials' },
  data: { password: Buffer.from('s3cret').toString('base64'), token: Buffer.from('from data').toString('base64') },
  stringData: { token: 'from stringData' },
};
const elsewhere: ConfigMap = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings', namespace: 'other' }, data: { LOG_LEVEL: 'other namespace' } };
const manifests = { configMaps: [settings, elsewhere], secrets: [credentials] };
const assignments = (env: ResolvedEnvVar[]) => env.map(({ name, value }) => `${name}=${value}`);
const container = (c: Partial<Container>): Container => ({ name: 'main', image: 'scope-saas/users', ...c });

test('envFrom first (with its prefix, skipping keys that are no variable names), then env over it', (t) => {
  const c = container({
    envFrom: [{ configMapRef: { name: 'settings' } }, { secretRef: { name: 'credentials' }, prefix: 'DB_' }],
    env: [
      { name: 'REGION', value: 'us' },
      { name: 'LEVEL', valueFrom: { configMapKeyRef: { name: 'settings', key: 'LOG_LEVEL' } } },
      { name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 'credentials', key: 'password' } } },
    ],
  });
  t.deepEqual(assignments(resolveEnv(c, manifests)), ['LOG_LEVEL=debug', 'REGION=us', 'DB_password=s3cret', 'DB_token=from stringData', 'LEVEL=debug', 'PASSWORD=s3cret']);
});

test('references resolve in the namespace given', (t) => {
  const c = container({ env: [{ name: 'LEVEL', valueFrom: { configMapKeyRef: { name: 'settings', key: 'LOG_LEVEL' } } }] });
  t.deepEqual(assignments(resolveEnv(c, manifests, 'other')), ['LEVEL=other namespace']);
});

test('an optional reference to something missing leaves the variable out; a required one throws naming it', (t) => {
  const optional = container({
    env: [{ name: 'MAYBE', valueFrom: { secretKeyRef: { name: 'credentials', key: 'nope', optional: true } } }],
    envFrom: [{ configMapRef: { name: 'absent', optional: true } }],
  });
  t.deepEqual(resolveEnv(optional, manifests), []);
  const required = container({ env: [{ name: 'MUST', valueFrom: { secretKeyRef: { name: 'credentials', key: 'nope' } } }] });
  t.throws(() => resolveEnv(required, manifests), { message: 'container main: MUST names key nope of Secret default/credentials, which does not exist' });
  t.throws(() => resolveEnv(container({ envFrom: [{ secretRef: { name: 'absent' } }] }), manifests), { message: 'container main: envFrom names Secret default/absent, which does not exist' });
});

test('plain values stay as written', (t) => {
  t.deepEqual(assignments(resolveEnv(container({ env: [{ name: 'A', value: 'x' }, { name: 'EMPTY', value: '' }] }), manifests)), ['A=x', 'EMPTY=']);
});
