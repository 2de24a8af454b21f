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

const rbac = `apiVersion: v1
kind: ServiceAccount
metadata: { name: runner }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: { name: runner }
rules:
  - { apiGroups: ["apps"], resources: ["deployments"], verbs: ["get", "list"] }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: { name: runner }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: Role, name: runner }
subjects:
  - { kind: ServiceAccount, name: runner }
`;
const config = `apiVersion: v1
kind: ConfigMap
metadata: { name: settings }
data: { LOG_LEVEL: debug, REGION: eu }
---
apiVersion: v1
kind: Secret
metadata: { name: credentials }
type: Opaque
data: { password: c2VjcmV0 }
stringData: { token: plain }
`;
/** A Deployment whose pod runs as ServiceAccount `runner` and reads settings and credentials. */
const consumer = (env: string, account = 'runner') =>
  deployment('a', { env: `          env:\n${env}` }).replace('    spec:\n      containers:', `    spec:\n      serviceAccountName: ${account}\n      containers:`) + '---\n' + service('a');
const readsBoth = `            - { name: LOG_LEVEL, valueFrom: { configMapKeyRef: { name: settings, key: LOG_LEVEL } } }
            - { name: PASSWORD, valueFrom: { secretKeyRef: { name: credentials, key: password } } }
`;

test('manifests/local: app-mapper runs as its ServiceAccount, bound to a Role over deployments, services, pods and reading pod logs', async (t) => {
  const m = await loadManifests(path.resolve(import.meta.dirname, '../../manifests/local'));
  t.is(m.deployments.find((d) => d.metadata.name === 'app-mapper')!.spec.template.spec.serviceAccountName, 'app-mapper');
  t.deepEqual(m.serviceAccounts.map((s) => s.metadata.name), ['app-mapper']);
  const role = m.roles.find((r) => r.metadata.name === 'app-mapper')!;
  const verbsOf = Object.fromEntries(role.rules!.flatMap((r) => (r.resources ?? []).map((res) => [res, r.verbs])));
  const all = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'];
  // pods/log is read only: the backend's logTail of a failed app.
  t.deepEqual(verbsOf, { deployments: all, services: all, pods: all, 'pods/log': ['get'] });
  const binding = m.roleBindings.find((b) => b.metadata.name === 'app-mapper')!;
  t.deepEqual(binding.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'app-mapper' });
  t.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: 'app-mapper' }]);
  t.regex(m.sources['RoleBinding/app-mapper']!, /manifests\/local\/app-mapper\.yaml$/);
});

test('ServiceAccount, Role, RoleBinding, ConfigMap and Secret are accepted, each in its own list', (t) => {
  const m = parseManifests('m', [
    { file: 'rbac.yaml', text: rbac },
    { file: 'config.yaml', text: config },
    { file: 'a.yaml', text: consumer(readsBoth + '            - { name: PLAIN, value: "x" }\n          envFrom:\n            - { configMapRef: { name: settings }, prefix: CFG_ }\n') },
  ]);
  t.deepEqual(m.serviceAccounts.map((o) => o.kind), ['ServiceAccount']);
  t.deepEqual(m.roles.map((o) => o.kind), ['Role']);
  t.deepEqual(m.roleBindings.map((o) => o.kind), ['RoleBinding']);
  t.deepEqual(m.configMaps.map((o) => o.data), [{ LOG_LEVEL: 'debug', REGION: 'eu' }]);
  t.deepEqual(m.secrets.map((o) => o.metadata.name), ['credentials']);
  t.is(m.sources['Secret/credentials'], 'config.yaml');
  t.is(m.deployments.length, 1);
});

/** Each document alone, and the one problem it gives. */
const schemaCases: [file: string, text: string, problem: string][] = [
  [
    'manifests/local/users.yaml',
    deployment('users', { ports: '            - { name: http, containerPort: "8080" }' }),
    'Deployment/users: spec.template.spec.containers[0].ports[0].containerPort: must be an integer 1-65535 (got "8080")',
  ],
  ['cfg.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: cfg }\ndata: { replicas: 3 }\n', 'ConfigMap/cfg: data.replicas: must be a string, not a number'],
  ['secret.yaml', 'apiVersion: v1\nkind: Secret\nmetadata: { name: s }\ndata: { password: "not base64!" }\n', 'Secret/s: data.password: must be base64 (put plain text under stringData) (got "not base64!")'],
  ['sa.yaml', 'apiVersion: v1\nkind: ServiceAccount\nmetadata: { name: sa }\nautomountServiceAccountToken: "yes"\n', 'ServiceAccount/sa: automountServiceAccountToken: must be true or false, not a string'],
  ['role.yaml', 'apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: { name: r }\nrules:\n  - { apiGroups: [""], resources: [pods] }\n', 'Role/r: rules[0].verbs: is required'],
  ['binding.yaml', 'apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: { name: b }\nroleRef: { apiGroup: rbac.authorization.k8s.io, kind: Role, name: r, nam: r }\n', 'RoleBinding/b: roleRef.nam: unknown field (supported here: apiGroup, kind, name)'],
  ['binding.yaml', 'apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: { name: b }\nroleRef: { apiGroup: rbac.authorization.k8s.io, kind: Role }\n', 'RoleBinding/b: roleRef.name: is required'],
  ['a.yaml', deployment('a', { ports: '            - { name: http, containerPort: 8080, protocol: tcp }' }), 'Deployment/a: spec.template.spec.containers[0].ports[0].protocol: must be one of SCTP, TCP, UDP (got "tcp")'],
  [
    'a.yaml',
    deployment('a', { probe: '          readinessProbe: { httpGet: { path: /readyz, port: 1.5 } }' }),
    'Deployment/a: spec.template.spec.containers[0].readinessProbe.httpGet.port: must be an integer 1-65535 or a port name (lowercase letters, digits and "-", at most 15 characters, at least one letter) (got 1.5)',
  ],
  [
    'a.yaml',
    deployment('a', { probe: '          securityContext: { runAsUser: 1000, runAsGroop: 1000 }' }),
    'Deployment/a: spec.template.spec.containers[0].securityContext.runAsGroop: unknown field (supported here: allowPrivilegeEscalation, appArmorProfile, capabilities, privileged, procMount, readOnlyRootFilesystem, runAsGroup, runAsNonRoot, runAsUser, seLinuxOptions, seccompProfile, windowsOptions)',
  ],
];

test('schema: a wrong type, an unknown field, a missing required field, an enum, an int-or-string: each names the file, the object and the field', (t) => {
  for (const [file, text, problem] of schemaCases) t.deepEqual(problems({ [file]: text }), [`${file}: ${problem}`]);
});

test('references: a RoleBinding names a Role and ServiceAccounts that exist, a Deployment its ServiceAccount', (t) => {
  const p = problems({
    'rbac.yaml': rbac.replace('kind: Role, name: runner', 'kind: Role, name: runnr').replace('{ kind: ServiceAccount, name: runner }', '{ kind: ServiceAccount, name: ghost }\n  - { kind: User, name: someone@example.com }'),
    'cluster-role.yaml': 'apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: { name: admin }\nroleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: admin }\n',
    'a.yaml': consumer('            - { name: X, value: "1" }\n', 'nobody'),
  });
  t.deepEqual(p, [
    'rbac.yaml: RoleBinding/runner: roleRef.name: names Role runnr, which does not exist in namespace default (Roles: runner)',
    'rbac.yaml: RoleBinding/runner: subjects[0].name: names ServiceAccount ghost, which does not exist in namespace default (ServiceAccounts: runner)',
    'cluster-role.yaml: RoleBinding/admin: roleRef.kind: must be Role: the manifests hold Roles, not "ClusterRole"',
    'a.yaml: Deployment/a: spec.template.spec.serviceAccountName: names ServiceAccount nobody, which does not exist in namespace default (ServiceAccounts: runner)',
  ]);
  t.deepEqual(problems({ 'a.yaml': consumer('            - { name: X, value: "1" }\n', 'default') }), [], 'every namespace has a default ServiceAccount');
});

test('references: env and envFrom name ConfigMaps, Secrets and keys that exist, unless optional', (t) => {
  const env = `            - { name: A, valueFrom: { configMapKeyRef: { name: setings, key: LOG_LEVEL } } }
            - { name: B, valueFrom: { configMapKeyRef: { name: settings, key: LEVEL } } }
            - { name: C, valueFrom: { secretKeyRef: { name: credentials, key: pasword } } }
            - { name: D, valueFrom: { secretKeyRef: { name: credentials, key: token } } }
            - { name: E, valueFrom: { secretKeyRef: { name: missing, key: x, optional: true } } }
            - { name: F, valueFrom: { fieldRef: { fieldPath: metadata.name } } }
            - { name: G, value: "1", valueFrom: { configMapKeyRef: { name: settings, key: REGION } } }
          envFrom:
            - { secretRef: { name: credentials }, prefix: DB_ }
            - { configMapRef: { name: other } }
            - { configMapRef: { name: other, optional: true } }
`;
  const p = problems({ 'rbac.yaml': rbac, 'config.yaml': config, 'a.yaml': consumer(env) });
  const at = 'a.yaml: Deployment/a: spec.template.spec.containers[0]';
  t.deepEqual(p, [
    `${at}.env[0].valueFrom.configMapKeyRef: names ConfigMap setings, which does not exist (ConfigMaps: settings; or set optional: true)`,
    `${at}.env[1].valueFrom.configMapKeyRef: names key LEVEL of ConfigMap settings, which only has LOG_LEVEL, REGION`,
    `${at}.env[2].valueFrom.secretKeyRef: names key pasword of Secret credentials, which only has password, token`,
    `${at}.env[5].valueFrom.fieldRef: is not something the runtimes can resolve (supported: configMapKeyRef, secretKeyRef)`,
    `${at}.env[6]: G has both value and valueFrom: keep one`,
    `${at}.envFrom[1].configMapRef.name: names ConfigMap other, which does not exist (ConfigMaps: settings; or set optional: true)`,
  ]);
});
