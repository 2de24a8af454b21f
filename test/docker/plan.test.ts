import path from 'node:path';
import test from 'ava';
import { PROJECT_ROOT } from '../../cluster/images/paths.ts';
import { loadManifests } from '../../cluster/manifests/load.ts';
import type { Manifests } from '../../cluster/manifests/types.ts';
import { planAll, type ContainerPlan } from '../../cluster/runtimes/docker/plan.ts';
import { rewriteForNetwork } from '../../cluster/plan/addressing.ts';

let manifests: Manifests;
let plans: Map<string, ContainerPlan>;
const ctx = { prefix: 'scope-saas-abc123', network: 'scope-saas-abc123', frontendPort: 4999 };

test.before(async () => {
  manifests = await loadManifests(path.join(PROJECT_ROOT, 'manifests/local'));
  plans = new Map(planAll(manifests, ctx).map((p) => [p.deployment, p]));
});

const plan = (name: string): ContainerPlan => {
  const p = plans.get(name);
  if (!p) throw new Error(`no plan for ${name}`);
  return p;
};

test('every Deployment of manifests/local gets a container named after the project', (t) => {
  t.deepEqual([...plans.keys()].sort(), manifests.deployments.map((d) => d.metadata.name).sort());
  for (const p of plans.values()) t.is(p.name, `scope-saas-abc123-${p.deployment}`);
});

test('Service references point at the alias with the target container port (no kube-proxy on a docker network)', (t) => {
  const env = plan('frontend').env;
  t.is(env.USERS_URL, 'http://users.default.svc.cluster.local:8080');
  t.is(env.UI_SERVER_URL, 'http://ui-server.default.svc.cluster.local:8080');
  t.is(env.APP_MAPPER_URL, 'http://app-mapper.default.svc.cluster.local:8080');
  t.is(env.PORT, '8080');
  t.is(env.HOST, '0.0.0.0');
  const users = plan('users').env;
  t.is(users.DATABASE_URL, 'postgresql://postgres:postgres@users-db.default.svc.cluster.local:5432/postgres');
  t.is(users.SMTP_URL, 'smtp://mailcatcher.default.svc.cluster.local:1025');
  t.is(users.SESSION_SECRET, 'dev-only-session-secret-0123456789abcdef');
});

test('the links in mails point at the frontend as published on this machine', (t) => {
  t.is(plan('users').env.FRONTEND_URL, 'http://127.0.0.1:4999');
  t.deepEqual(plan('frontend').publish, { 8080: 4999 });
  t.deepEqual(plan('users').publish, { 8080: 0 });
});

test('stand-ins: postgres runs our pglite image, maildev our mailcatcher image, each with a data volume', (t) => {
  const db = plan('users-db');
  t.is(db.runs, 'pglite');
  t.is(db.standsInFor, 'postgres');
  t.deepEqual(db.env, { PORT: '5432', DATA_DIR: '/data', HOST: '0.0.0.0' });
  t.is(db.dataVolume, 'scope-saas-abc123-users-db-data');
  t.deepEqual(db.readiness && { type: db.readiness.type, port: db.readiness.containerPort }, { type: 'tcp', port: 5432 });
  const mail = plan('mailcatcher');
  t.is(mail.runs, 'mailcatcher');
  t.deepEqual(mail.env, { SMTP_PORT: '1025', PORT: '1080', MAIL_DIR: '/data', HOST: '0.0.0.0' });
  t.deepEqual(
    mail.urls.map((u) => `${u.name} ${u.scheme} ${u.containerPort}`),
    ['smtp smtp 1025', 'http http 1080'],
  );
});

test('Service names in every DNS form are network aliases', (t) => {
  t.deepEqual(plan('users').aliases, ['users', 'users.default', 'users.default.svc', 'users.default.svc.cluster.local']);
});

test('app-mapper runs the container provisioner', (t) => {
  const p = plan('app-mapper');
  t.true(p.provisioner);
  t.is(p.env.PROVISIONER, 'docker');
  t.false(plan('users').provisioner);
});

test('values naming no Service are left alone; an image with no stand-in is a clear error', async (t) => {
  t.is(rewriteForNetwork('Scope as a Service <noreply@scope.local>', manifests), 'Scope as a Service <noreply@scope.local>');
  t.is(rewriteForNetwork('http://example.com/users', manifests), 'http://example.com/users');
  const broken: Manifests = structuredClone(manifests);
  broken.deployments[0]!.spec.template.spec.containers[0]!.image = 'redis:7';
  t.throws(() => planAll(broken, ctx), { message: /redis:7 cannot run on the docker runtime/ });
});
