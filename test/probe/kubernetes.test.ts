import test from 'ava';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { inCluster, SERVICE_ACCOUNT_TOKEN } from '../../images/scope/src/probe/kubernetes.ts';
import { captureLog, procScanner } from './helpers.ts';

// No Kubernetes API server can run on this machine: these tests stand up a small loopback mock of the
// one endpoint the probe calls (list pods), over TLS, with a mounted-style service account.

const hostName = os.hostname();
const TOKEN = 'sa-token-for-the-mock';

interface MockApi {
  port: number;
  /** when set, requests are held without an answer */
  hang: boolean;
  requests: { path: string; authorization?: string }[];
  status: number;
  pods: unknown[];
  close(): Promise<void>;
}

function makeServiceAccount(): { prefix: string; cert: string; key: string } {
  const prefix = fs.mkdtempSync(path.join(os.tmpdir(), 'probe-k8s-'));
  const dir = path.join(prefix, path.dirname(SERVICE_ACCOUNT_TOKEN));
  fs.mkdirSync(dir, { recursive: true });
  const key = path.join(prefix, 'key.pem');
  const cert = path.join(dir, 'ca.crt');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
  ], { stdio: 'ignore' });
  fs.writeFileSync(path.join(dir, 'token'), TOKEN);
  fs.writeFileSync(path.join(dir, 'namespace'), 'scope');
  return { prefix, cert: fs.readFileSync(cert, 'utf8'), key: fs.readFileSync(key, 'utf8') };
}

async function startMockApi(sa: { cert: string; key: string }): Promise<MockApi> {
  const api: MockApi = { port: 0, hang: false, requests: [], status: 200, pods: [], close: async () => undefined };
  const server = https.createServer({ cert: sa.cert, key: sa.key }, (req, res) => {
    api.requests.push({ path: req.url ?? '', authorization: req.headers.authorization });
    if (api.hang) return;
    res.setHeader('Content-Type', 'application/json');
    if (req.headers.authorization !== `Bearer ${TOKEN}`) {
      res.writeHead(401).end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Unauthorized', code: 401 }));
      return;
    }
    const url = new URL(req.url ?? '/', 'https://127.0.0.1');
    if (url.pathname !== '/api/v1/pods') {
      res.writeHead(404).end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404 }));
      return;
    }
    if (api.status !== 200) {
      res.writeHead(api.status).end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Forbidden', message: 'pods is forbidden', code: api.status }));
      return;
    }
    const selector = url.searchParams.get('fieldSelector') ?? '';
    const node = selector.startsWith('spec.nodeName=') ? selector.slice('spec.nodeName='.length) : undefined;
    const items = api.pods.filter((p) => !node || (p as { spec?: { nodeName?: string } }).spec?.nodeName === node);
    res.end(JSON.stringify({ kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: '1' }, items }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  api.port = (server.address() as AddressInfo).port;
  api.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return api;
}

const pod = (name: string, uid: string, nodeName: string, extra: Record<string, unknown> = {}) => ({
  metadata: { name, namespace: 'shop', uid, creationTimestamp: '2026-11-21T10:00:00Z', labels: { app: name }, ...extra },
  spec: { nodeName, containers: [{ name: 'main', image: 'shop:1' }] },
  status: { phase: 'Running', podIP: '10.244.0.7', hostIP: '192.0.2.2', containerStatuses: [{ name: 'main', restartCount: 2, ready: true, image: 'shop:1', imageID: '', containerID: 'containerd://abc' }] },
});

function scannerFor(prefix: string, log = captureLog(), sourceTimeoutMs?: number) {
  return procScanner({ log: log.log, kubernetes: { pathPrefix: prefix, nodeName: 'node-a' }, sourceTimeoutMs });
}

const sa = makeServiceAccount();
let api: MockApi;

test.before(async () => {
  api = await startMockApi(sa);
  process.env.KUBERNETES_SERVICE_HOST = '127.0.0.1';
  process.env.KUBERNETES_SERVICE_PORT = String(api.port);
});

test.after.always(async () => {
  await api?.close();
  fs.rmSync(sa.prefix, { recursive: true, force: true });
});

test.serial('mock Kubernetes API: in a cluster the probe lists the pods of its node over TLS with the service account token', async (t) => {
  api.pods = [
    pod('checkout', 'uid-checkout', 'node-a'),
    pod('cart', 'uid-cart', 'node-a', { deletionTimestamp: '2026-11-21T11:00:00Z' }),
    pod('elsewhere', 'uid-elsewhere', 'node-b'),
  ];
  api.requests = [];
  const s = scannerFor(sa.prefix);
  t.true(s.kubernetesEnabled);
  const { report, stats } = await s.scan();
  t.is(stats.pods, 2);

  const req = api.requests.find((r) => r.path.startsWith('/api/v1/pods'));
  t.truthy(req);
  t.is(req!.authorization, `Bearer ${TOKEN}`);
  t.is(new URL(req!.path, 'https://x').searchParams.get('fieldSelector'), 'spec.nodeName=node-a');

  const nodes = report.topologies.Pod!.nodes;
  t.deepEqual(Object.keys(nodes).sort(), ['uid-cart;<pod>', 'uid-checkout;<pod>']);
  const checkout = nodes['uid-checkout;<pod>']!;
  t.is(checkout.topology, 'pod');
  t.is(checkout.latest.kubernetes_name?.value, 'checkout');
  t.is(checkout.latest.kubernetes_namespace?.value, 'shop');
  t.is(checkout.latest.kubernetes_state?.value, 'Running');
  t.is(checkout.latest.kubernetes_ip?.value, '10.244.0.7');
  t.is(checkout.latest.kubernetes_restart_count?.value, '2');
  t.is(checkout.latest.kubernetes_created?.value, '2026-11-21T10:00:00.000Z');
  t.is(checkout.latest.kubernetes_labels_app?.value, 'checkout');
  t.deepEqual(checkout.parents.host, [`${hostName};<host>`]);
  t.is(nodes['uid-cart;<pod>']!.latest.kubernetes_state?.value, 'Terminating');
});

test.serial('mock Kubernetes API: a forbidden pod list is reported once with the RBAC hint, and the scan goes on', async (t) => {
  api.status = 403;
  t.teardown(() => {
    api.status = 200;
  });
  const log = captureLog();
  const s = scannerFor(sa.prefix, log);
  const first = await s.scan();
  const second = await s.scan();
  t.deepEqual(Object.keys(first.report.topologies.Pod!.nodes), []);
  t.deepEqual(Object.keys(second.report.topologies.Pod!.nodes), []);
  t.truthy(second.report.topologies.Process!.nodes[`${hostName};${process.pid}`]);
  const warnings = log.lines.filter((l) => l.level === 'warn');
  t.is(warnings.length, 1, 'warned once, not at every scan');
  t.regex(warnings[0]!.msg, /service account needs "list pods"/);

  api.status = 200;
  api.pods = [pod('checkout', 'uid-checkout', 'node-a')];
  const third = await s.scan();
  t.deepEqual(Object.keys(third.report.topologies.Pod!.nodes), ['uid-checkout;<pod>']);
  t.true(log.messages().some((m) => /reachable again/.test(m)));
});

test.serial('mock Kubernetes API that stops answering: the report goes out without pods instead of waiting', async (t) => {
  api.hang = true;
  t.teardown(() => {
    api.hang = false;
  });
  const log = captureLog();
  const s = scannerFor(sa.prefix, log, 1500);
  const { report, stats } = await s.scan();
  t.is(stats.pods, 0);
  t.truthy(report.topologies.Process!.nodes[`${hostName};${process.pid}`]);
  t.true(log.lines.some((l) => l.level === 'warn' && /Kubernetes did not answer within 1.5 s/.test(l.msg)));
  const asked = api.requests.length;
  await s.scan();
  t.is(api.requests.length, asked, 'the unanswered listing is waited on, not asked again: requests never pile up');
  t.is(log.lines.filter((l) => l.level === 'warn').length, 1, 'said once');
});

test.serial('outside a cluster (no service host, or no token) the probe does not look for Kubernetes', (t) => {
  t.false(inCluster({ pathPrefix: sa.prefix }, {}));
  t.false(inCluster({ pathPrefix: '/nonexistent' }, { KUBERNETES_SERVICE_HOST: '127.0.0.1' }));
  t.true(inCluster({ pathPrefix: sa.prefix }, { KUBERNETES_SERVICE_HOST: '127.0.0.1' }));
});
