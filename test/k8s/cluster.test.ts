import test from 'ava';
import type { V1Deployment } from '@kubernetes/client-node';
import { cluster, nodeScript, ourImage, runPod, testNamespace, waitFor } from './helpers.ts';


let ns: { name: string; remove: () => Promise<void> };
let image: string;
let clusterIP: string;
let nodePort: number;

const APP = 'ui-server';

test.before(async () => {
  ns = await testNamespace('k8s-cluster');
  image = await ourImage('ui-server');
});

test.after.always(async () => {
  await ns?.remove();
});

test.serial('the node becomes Ready', async (t) => {
  const { core } = await cluster();
  const nodes = await core.listNode();
  t.true(nodes.items.length > 0);
  const ready = await waitFor('a Ready node', async () => {
    const list = await core.listNode();
    return list.items.find((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
  });
  t.truthy(ready.status?.addresses?.find((a) => a.type === 'InternalIP')?.address);
});

test.serial('a Deployment of our ui-server image, imported into the node, becomes Ready behind a NodePort Service', async (t) => {
  const { apps, core } = await cluster();
  const labels = { app: APP };
  const deployment: V1Deployment = {
    metadata: { name: APP, labels },
    spec: {
      replicas: 1,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          containers: [
            {
              name: APP,
              image,
              imagePullPolicy: 'Never',
              ports: [{ containerPort: 8080 }],
              readinessProbe: { httpGet: { path: '/readyz', port: 8080 }, periodSeconds: 1 },
            },
          ],
        },
      },
    },
  };
  await apps.createNamespacedDeployment({ namespace: ns.name, body: deployment });
  const service = await core.createNamespacedService({
    namespace: ns.name,
    body: { metadata: { name: APP }, spec: { type: 'NodePort', selector: labels, ports: [{ port: 80, targetPort: 8080 }] } },
  });
  clusterIP = service.spec?.clusterIP ?? '';
  nodePort = service.spec?.ports?.[0]?.nodePort ?? 0;
  t.regex(clusterIP, /^\d+\.\d+\.\d+\.\d+$/);

  const ready = await waitFor('the Deployment Ready', async () => {
    const d = await apps.readNamespacedDeployment({ name: APP, namespace: ns.name });
    return (d.status?.readyReplicas ?? 0) >= 1 ? d : undefined;
  });
  t.is(ready.status?.readyReplicas, 1);
  const pods = await core.listNamespacedPod({ namespace: ns.name, labelSelector: `app=${APP}` });
  t.is(pods.items[0]?.spec?.containers[0]?.image, image);
});

test.serial('the NodePort answers on the node (127.0.0.1 on the test cluster)', async (t) => {
  const { core, isTestCluster } = await cluster();
  const nodes = await core.listNode();
  const host = isTestCluster ? '127.0.0.1' : nodes.items[0]?.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
  const res = await waitFor(`http://${host}:${nodePort}/healthz`, async () => {
    const r = await fetch(`http://${host}:${nodePort}/healthz`, { signal: AbortSignal.timeout(3000) });
    return r.status === 200 ? r : undefined;
  }, 30_000);
  t.is(res.status, 200);
});

test.serial('a pod resolves the Service by its short and full name, and reaches it', async (t) => {
  const script = `
const dns = require('dns'), http = require('http');
const full = 'ui-server.' + process.argv[1] + '.svc.cluster.local';
Promise.all(['ui-server', full].map((n) => dns.promises.lookup(n, { family: 4 }).then((a) => a.address)))
  .then(([short, long]) => http.get('http://ui-server/healthz', (res) => { res.resume(); console.log(JSON.stringify({ short, long, status: res.statusCode })); }))
  .catch((e) => { console.log(JSON.stringify({ error: e.code || e.message })); process.exit(1); });`;
  const run = await runPod(ns.name, 'resolver', image, [...nodeScript(script), ns.name]);
  t.is(run.phase, 'Succeeded', run.log);
  t.deepEqual(JSON.parse(run.log.trim()), { short: clusterIP, long: clusterIP, status: 200 });
});

const listPodsScript = `
const fs = require('fs'), https = require('https');
const dir = '/var/run/secrets/kubernetes.io/serviceaccount/';
const ns = fs.readFileSync(dir + 'namespace', 'utf8');
https.get({ host: 'kubernetes.default.svc', path: '/api/v1/namespaces/' + ns + '/pods', ca: fs.readFileSync(dir + 'ca.crt'),
  headers: { authorization: 'Bearer ' + fs.readFileSync(dir + 'token', 'utf8') } }, (res) => {
  let body = '';
  res.on('data', (c) => (body += c));
  res.on('end', () => console.log(JSON.stringify({ status: res.statusCode, pods: (JSON.parse(body).items || []).map((p) => p.metadata.name) })));
}).on('error', (e) => { console.log(JSON.stringify({ error: e.message })); process.exit(1); });`;

test.serial('a pod lists pods with its service account through the kubernetes Service; without a Role it is refused', async (t) => {
  const { core, rbac } = await cluster();
  await core.createNamespacedServiceAccount({ namespace: ns.name, body: { metadata: { name: 'pod-lister' } } });
  await rbac.createNamespacedRole({ namespace: ns.name, body: { metadata: { name: 'pod-lister' }, rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['list'] }] } });
  await rbac.createNamespacedRoleBinding({
    namespace: ns.name,
    body: {
      metadata: { name: 'pod-lister' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'pod-lister' },
      subjects: [{ kind: 'ServiceAccount', name: 'pod-lister', namespace: ns.name }],
    },
  });
  await waitFor('the pod-lister token', async () => ((await core.readNamespacedServiceAccount({ name: 'pod-lister', namespace: ns.name })).secrets?.length ? true : undefined));

  const allowed = await runPod(ns.name, 'lister', image, nodeScript(listPodsScript), 'pod-lister');
  t.is(allowed.phase, 'Succeeded', allowed.log);
  const listed = JSON.parse(allowed.log.trim()) as { status: number; pods: string[] };
  t.is(listed.status, 200);
  t.true(listed.pods.includes('lister'), allowed.log);

  const refused = await runPod(ns.name, 'not-a-lister', image, nodeScript(listPodsScript));
  t.is(JSON.parse(refused.log.trim()).status, 403, refused.log);
});
