import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadManifests, parseManifests } from '../../cluster/manifests/load.ts';
import { ManifestError, formatProblem } from '../../cluster/manifests/types.ts';

const deployment = (name: string, opts: { image?: string; env?: string; ports?: string; probe?: string; labels?: string } = {}) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
spec:
  selector:
    matchLabels: { app: ${name} }
  template:
    metadata:
      labels: ${opts.labels ?? `{ app: ${name} }`}
    spec:
      containers:
        - name: main
          image: ${opts.image ?? `scope-saas/${name}`}
${opts.env ?? ''}          ports:
${opts.ports ?? '            - { name: http, containerPort: 8080 }'}
${opts.probe ?? '          readinessProbe: { httpGet: { path: /readyz, port: http } }'}
`;
const service = (name: string, opts: { selector?: string; ports?: string } = {}) => `apiVersion: v1
kind: Service
metadata:
  name: ${name}
spec:
  selector: ${opts.selector ?? `{ app: ${name} }`}
  ports:
${opts.ports ?? '    - { name: http, port: 80, targetPort: http }'}
`;

/** The formatted problems loading these files gives. */
function problems(files: Record<string, string>): string[] {
  try {
    parseManifests('m', Object.entries(files).map(([file, text]) => ({ file, text })));
  } catch (err) {
    if (err instanceof ManifestError) return err.problems.map(formatProblem);
    throw err;
  }
  return [];
}

test('loads manifests/local: every component as a Deployment and a Service, each remembered with its file', async (t) => {
  const m = await loadManifests(path.resolve(import.meta.dirname, '../../manifests/local'));
  const names = ['app-mapper', 'app-mapper-db', 'frontend', 'mailcatcher', 'ui-server', 'users', 'users-db'];
  t.deepEqual(m.deployments.map((d) => d.metadata.name).sort(), names);
  t.deepEqual(m.services.map((s) => s.metadata.name).sort(), names);
  t.regex(m.sources['Deployment/users']!, /manifests\/local\/users\.yaml$/);
  const users = m.deployments.find((d) => d.metadata.name === 'users')!.spec.template.spec.containers[0]!;
  t.is(users.env?.find((e) => e.name === 'DATABASE_URL')?.value, 'postgresql://postgres:postgres@users-db.default.svc.cluster.local:5432/postgres');
  t.is(m.deployments.find((d) => d.metadata.name === 'users-db')!.spec.template.spec.containers[0]!.image, 'postgres:16-alpine');
  t.is(m.deployments.find((d) => d.metadata.name === 'mailcatcher')!.spec.template.spec.containers[0]!.image, 'maildev/maildev:2.2.1');
});

test('multi-document files and empty documents load', (t) => {
  const m = parseManifests('m', [{ file: 'a.yaml', text: `# leading comment\n---\n${deployment('a')}---\n${service('a')}---\n` }]);
  t.is(m.deployments.length, 1);
  t.is(m.services.length, 1);
  t.is(m.sources['Service/a'], 'a.yaml');
});

test('an out-of-range port names file, object and field path', (t) => {
  const p = problems({ 'manifests/local/users.yaml': deployment('users', { ports: '            - { name: http, containerPort: 0 }' }) + '---\n' + service('users') });
  t.true(p.includes('manifests/local/users.yaml: Deployment/users: spec.template.spec.containers[0].ports[0].containerPort: must be an integer 1-65535 (got 0)'), p.join('\n'));
});

const supported = 'Deployment (apps/v1), Service (v1), ServiceAccount (v1), Role (rbac.authorization.k8s.io/v1), RoleBinding (rbac.authorization.k8s.io/v1), ConfigMap (v1), Secret (v1)';

test('an unsupported kind is rejected with the supported list', (t) => {
  const p = problems({ 'x.yaml': 'apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: { name: web }\nspec: {}\n' });
  t.deepEqual(p, [`x.yaml: Ingress/web: kind: unsupported kind "Ingress" (supported: ${supported})`]);
});

test('YAML syntax errors carry the line and column', (t) => {
  const p = problems({ 'bad.yaml': 'apiVersion: v1\nkind: Service\nmetadata: { name: x\n' });
  t.is(p.length, 1);
  t.is(p[0], 'bad.yaml:4:1: document 1: YAML: Flow map in block collection must be sufficiently indented and end with a }');
});

test('missing fields, wrong types, bad names, unknown fields, wrong apiVersion: all reported at once', (t) => {
  const text = `apiVersion: apps/v2
kind: Deployment
metadata:
  name: Users_Service
spec:
  replicas: "one"
  selector:
    matchLabels: { app: u }
  template:
    metadata:
      labels: { app: u }
    spec:
      containers:
        - name: main
          imagee: scope-saas/users
          ports: { containerPort: 8080 }
`;
  const p = problems({ 'd.yaml': text });
  const expected = [
    'd.yaml: Deployment/Users_Service: apiVersion: must be one of apps/v1 (got "apps/v2")',
    'd.yaml: Deployment/Users_Service: metadata.name: must be a lowercase DNS label',
    'd.yaml: Deployment/Users_Service: spec.replicas: must be an integer 0-1 (got "one")',
    'd.yaml: Deployment/Users_Service: spec.template.spec.containers[0].image: is required',
    'd.yaml: Deployment/Users_Service: spec.template.spec.containers[0].ports: must be a list, not a mapping',
    'd.yaml: Deployment/Users_Service: spec.template.spec.containers[0].imagee: unknown field (supported here: name, image,',
  ];
  for (const e of expected) t.true(p.some((x) => x.startsWith(e)), `${e}\n  not in\n${p.join('\n')}`);
  t.is(p.length, expected.length);
});

test('a document that is not an object, and one without a kind', (t) => {
  const p = problems({ 'odd.yaml': '- just\n- a list\n---\napiVersion: v1\nmetadata: { name: x }\n' });
  t.deepEqual(p, [
    'odd.yaml: document 1: must be a Kubernetes object (a mapping with apiVersion, kind, metadata), not a list',
    `odd.yaml: document 2: kind: is required (supported: ${supported})`,
  ]);
});

test('cross-checks: selector matching no Deployment, targetPort that is no containerPort, duplicate objects', (t) => {
  const p = problems({
    'a.yaml': deployment('a') + '---\n' + service('a', { selector: '{ app: nope }' }),
    'b.yaml': deployment('b') + '---\n' + service('b', { ports: '    - { name: http, port: 80, targetPort: 9090 }' }),
    'c.yaml': deployment('a'),
  });
  t.true(p.some((x) => x.startsWith("a.yaml: Service/a: spec.selector: (app=nope) matches no Deployment's pod labels")), p.join('\n'));
  t.true(p.includes('b.yaml: Service/b: spec.ports[0].targetPort: 9090 is not a containerPort of Deployment b (ports: http=8080)'), p.join('\n'));
  t.true(p.includes('c.yaml: Deployment/a: metadata.name: Deployment/a is already defined in a.yaml'), p.join('\n'));
});

test('cross-checks: env URLs must name an existing Service and one of its ports', (t) => {
  const env = `          env:
            - { name: USERS_URL, value: "http://userz.default.svc.cluster.local" }
            - { name: DATABASE_URL, value: "postgresql://u:p@db.default.svc.cluster.local:5433/x" }
            - { name: SMTP_URL, value: "smtp://db.default:25" }
            - { name: OK_URL, value: "http://b/path" }
            - { name: MAIL_FROM, value: "noreply@b" }
`;
  const p = problems({
    'a.yaml': deployment('a', { env }) + '---\n' + service('a'),
    'b.yaml': deployment('b') + '---\n' + service('b'),
    'db.yaml': deployment('db', { image: 'postgres:16', ports: '            - { name: pg, containerPort: 5432 }', probe: '          readinessProbe: { tcpSocket: { port: 5432 } }' }) + '---\n' + service('db', { ports: '    - { name: pg, port: 5432, targetPort: pg }' }),
  });
  t.deepEqual(p, [
    'a.yaml: Deployment/a: spec.template.spec.containers[0].env[0].value: USERS_URL refers to Service userz (userz.default.svc.cluster.local), which does not exist (Services: a, b, db)',
    'a.yaml: Deployment/a: spec.template.spec.containers[0].env[1].value: DATABASE_URL refers to port 5433 of Service db, which only has 5432',
    'a.yaml: Deployment/a: spec.template.spec.containers[0].env[2].value: SMTP_URL refers to port 25 of Service db, which only has 5432',
  ]);
});

test('cross-checks: probe ports, Deployment selector vs template labels, unnamed ports of a multi-port Service', (t) => {
  const p = problems({
    'a.yaml':
      deployment('a', { probe: '          readinessProbe: { httpGet: { path: /readyz, port: admin } }', labels: '{ app: other }' }) +
      '---\n' +
      service('a', { selector: '{ app: other }', ports: '    - { port: 80, targetPort: http }\n    - { port: 81, targetPort: http }' }),
  });
  t.true(p.includes('a.yaml: Deployment/a: spec.selector.matchLabels: (app=a) does not select the pod template\'s labels (app=other)'), p.join('\n'));
  t.true(p.includes('a.yaml: Deployment/a: spec.template.spec.containers[0].readinessProbe.httpGet.port: "admin" is not a port of this container (ports: http=8080)'), p.join('\n'));
  t.true(p.includes('a.yaml: Service/a: spec.ports[0].name: is required when a Service has more than one port'), p.join('\n'));
});

test('loadManifests reads every *.yaml under a folder and reports a missing folder clearly', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'manifests-'));
  writeFileSync(path.join(dir, 'a.yaml'), deployment('a') + '---\n' + service('a'));
  writeFileSync(path.join(dir, 'notes.txt'), 'not yaml');
  const m = await loadManifests(dir);
  t.is(m.deployments.length, 1);
  const err = await t.throwsAsync(loadManifests(path.join(dir, 'nope')), { instanceOf: ManifestError });
  t.regex(err!.message, /cannot read the manifests folder/);
});
