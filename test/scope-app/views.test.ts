import test from 'ava';
import { WebSocket } from 'ws';
import { encodeReport } from '../../images/scope/src/report/index.ts';
import { syntheticReport } from '../../fixtures/reports/synthetic.ts';
import { postReport, startApp, weaveFixture, type RunningApp } from './helpers.ts';
import { HOST, kubeWorld } from './kube-world.ts';

interface Summary {
  id: string;
  label: string;
  labelMinor: string;
  shape: string;
  pseudo?: boolean;
  stack?: boolean;
  adjacency: string[];
  metadata: { id: string; value: string }[];
}
interface OptionGroup {
  id: string;
  defaultValue: string;
  options: { value: string; label: string }[];
  selectType?: string;
  noneLabel?: string;
}
interface Listing {
  id: string;
  name: string;
  rank: number;
  hide_if_empty: boolean;
  url: string;
  options: OptionGroup[];
  stats: { node_count: number; nonpseudo_node_count: number; edge_count: number; filtered_nodes: number };
  sub_topologies?: Listing[];
}

const get = async <T>(app: RunningApp, path: string): Promise<T> => {
  const res = await fetch(`${app.url}${path}`);
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
};
const nodesOf = async (app: RunningApp, path: string) => (await get<{ nodes: Record<string, Summary> }>(app, `/api/topology/${path}`)).nodes;
const labels = (nodes: Record<string, Summary>) => Object.values(nodes).map((n) => `${n.label} | ${n.labelMinor}`).sort();
const byLabel = (nodes: Record<string, Summary>, label: string) => Object.values(nodes).find((n) => n.label === label)!;

async function kubeApp(): Promise<RunningApp> {
  const app = await startApp();
  const res = await postReport(app.url, encodeReport(kubeWorld(), { gzip: false }).body, { 'Content-Type': 'application/msgpack', 'X-Scope-Probe-ID': 'kube-probe' });
  if (res.status !== 200) throw new Error(`report: ${res.status}`);
  return app;
}

test('GET /api/topology lists every view in Weave Scope 1.13\'s shape: sub-topologies, options, counts', async (t) => {
  const app = await kubeApp();
  t.teardown(() => app.stop());
  const list = await get<Listing[]>(app, '/api/topology');
  t.deepEqual(
    list.map((l) => [l.id, l.name, l.rank, l.hide_if_empty, (l.sub_topologies ?? []).map((s) => s.id)]),
    [
      ['processes', 'Processes', 1, false, ['processes-by-name']],
      ['containers', 'Containers', 2, false, ['containers-by-hostname', 'containers-by-image']],
      ['pods', 'Pods', 3, true, ['kube-controllers', 'services']],
      ['hosts', 'Hosts', 4, false, []],
    ],
  );
  const containers = list[1]!;
  t.deepEqual(
    containers.options.map((g) => [g.id, g.defaultValue, g.options.map((o) => o.value)]),
    [
      ['system', 'application', ['all', 'system', 'application']],
      ['stopped', 'running', ['stopped', 'running', 'both']],
      ['pseudo', 'hide', ['show', 'hide']],
    ],
  );
  t.deepEqual(list[0]!.options.map((g) => [g.id, g.defaultValue]), [['unconnected', 'hide']]);
  // the namespace filter is the report's namespaces, on every Kubernetes view, none chosen = all
  const namespace = list[2]!.options.find((g) => g.id === 'namespace')!;
  t.like(namespace, { defaultValue: '', selectType: 'union', noneLabel: 'All Namespaces' });
  t.deepEqual(namespace.options.map((o) => o.value), ['default', 'kube-system']);
  t.truthy(list[2]!.sub_topologies![0]!.options.find((g) => g.id === 'namespace'));
  t.falsy(containers.options.find((g) => g.id === 'namespace'));

  // counts as rendered with the default options: application containers that run (5 of 8); filtered, as
  // Scope counts them, are the 3 others, sshd's Uncontained node and the Internet it alone talked to
  t.like(containers.stats, { nonpseudo_node_count: 5, filtered_nodes: 5 });
  // and with the query's options, as Scope's UI asks for them
  const all = await get<Listing[]>(app, '/api/topology?system=all&stopped=both');
  t.like(all[1]!.stats, { nonpseudo_node_count: 8, filtered_nodes: 2 });
  t.like(all[1]!.sub_topologies!.find((s) => s.id === 'containers-by-image')!.stats, { nonpseudo_node_count: 6 });
});

test('without Kubernetes the pods views are not listed, and the Weave Scope 1.13.2 fixture fills processes by name', async (t) => {
  const app = await startApp();
  t.teardown(() => app.stop());
  await postReport(app.url, weaveFixture('report-1.msgpack.gz'));
  const list = await get<Listing[]>(app, '/api/topology');
  t.deepEqual(list.map((l) => l.id), ['processes', 'containers', 'hosts']);
  const byName = await nodesOf(app, 'processes-by-name?unconnected=show');
  t.deepEqual(labels(byName), ['node | 1 process', 'scope | 1 process']);
  t.true(byName.node!.stack);
  t.is(byName.node!.shape, 'square');
});

test('containers: system or application, running or stopped, as Scope decides them', async (t) => {
  const app = await kubeApp();
  t.teardown(() => app.stop());
  const names = async (q: string) => Object.values(await nodesOf(app, `containers${q}`)).map((n) => n.label).sort();
  t.deepEqual(await names(''), ['k8s_backup_backup-1', 'k8s_fluentd_log-agent', 'k8s_nginx_web-1', 'k8s_nginx_web-2', 'k8s_redis_cache-0']);
  // the pause container and kube-system's coredns are the system's
  t.deepEqual(await names('?system=system'), ['k8s_POD_web-1', 'k8s_coredns']);
  t.deepEqual(await names('?stopped=stopped&system=all'), ['old-tool']);
  t.is((await names('?system=all&stopped=both')).length, 8);
  // every container's minor label is its image
  t.is(byLabel(await nodesOf(app, 'containers'), 'k8s_redis_cache-0').labelMinor, 'redis:7');
  // web-1's nginx calls cache-0's redis
  const c = await nodesOf(app, 'containers');
  t.deepEqual(byLabel(c, 'k8s_nginx_web-1').adjacency, [byLabel(c, 'k8s_redis_cache-0').id]);
});

test('containers by image and by DNS name, and processes by name: one node per group, saying how many it stands for', async (t) => {
  const app = await kubeApp();
  t.teardown(() => app.stop());
  const images = await nodesOf(app, 'containers-by-image');
  // nginx:1.25 and docker.io/nginx:1.25 are one image
  t.deepEqual(labels(images), ['busybox | 1 container', 'fluent/fluentd | 1 container', 'nginx | 2 containers', 'redis | 1 container']);
  t.like(images.nginx, { stack: true, shape: 'hexagon', adjacency: ['redis'] });
  t.deepEqual(labels(await nodesOf(app, 'containers-by-image?system=all&stopped=both')), [
    'busybox | 2 containers',
    'coredns/coredns | 1 container',
    'fluent/fluentd | 1 container',
    'k8s.gcr.io/pause | 1 container',
    'nginx | 2 containers',
    'redis | 1 container',
  ]);
  const hostnames = await nodesOf(app, 'containers-by-hostname');
  t.is(byLabel(hostnames, 'web-1').labelMinor, '1 container'); // its pause container is the system's
  t.is(byLabel(await nodesOf(app, 'containers-by-hostname?system=all'), 'web-1').labelMinor, '2 containers');
  t.deepEqual(byLabel(hostnames, 'web-1').adjacency, ['cache-0']);
  const procs = await nodesOf(app, 'processes-by-name?unconnected=show');
  t.is(byLabel(procs, 'nginx').labelMinor, '2 processes');
  t.is(byLabel(procs, 'busybox').labelMinor, '2 processes');
  // connected ones only by default
  t.deepEqual(labels(await nodesOf(app, 'processes-by-name')), ['The Internet | Outbound connections', 'nginx | 2 processes', 'redis | 1 process', 'sshd | 1 process']);
});

test('pods, controllers and services from a Weave Scope 1.13 probe\'s Kubernetes topologies, with the namespace filter', async (t) => {
  const app = await kubeApp();
  t.teardown(() => app.stop());
  const pods = await nodesOf(app, 'pods');
  t.deepEqual(labels(pods), [
    'backup-1-abcde | default',
    'cache-0 | default',
    'coredns-7c9 | kube-system',
    'log-agent-x1 | default',
    'web-1 | default',
    'web-2 | default',
  ]);
  t.deepEqual(byLabel(pods, 'web-1').adjacency, [byLabel(pods, 'cache-0').id]);
  // sshd runs in no pod: its host's Unmanaged node, hidden unless asked for (and with it the Internet it calls)
  const shown = await nodesOf(app, 'pods?pseudo=show');
  t.like(shown[`pseudo:unmanaged:${HOST}`], { label: 'Unmanaged', labelMinor: HOST, pseudo: true, adjacency: ['out-theinternet'] });
  t.deepEqual(labels(await nodesOf(app, 'pods?namespace=kube-system')), ['coredns-7c9 | kube-system']);
  t.is(labels(await nodesOf(app, 'pods?namespace=kube-system,default')).length, 6);

  const controllers = await nodesOf(app, 'kube-controllers');
  t.deepEqual(labels(controllers), ['backup | 1 pod', 'cache | 1 pod', 'coredns | 1 pod', 'log-agent | 1 pod', 'web | 2 pods']);
  t.like(byLabel(controllers, 'web'), { shape: 'heptagon', stack: true, adjacency: [byLabel(controllers, 'cache').id] });
  t.is(byLabel(controllers, 'cache').shape, 'octagon');
  t.is(byLabel(controllers, 'log-agent').shape, 'pentagon');
  t.deepEqual(labels(await nodesOf(app, 'kube-controllers?namespace=kube-system')), ['coredns | 1 pod']);

  const services = await nodesOf(app, 'services');
  t.deepEqual(labels(services), ['cache | 1 pod', 'web | 2 pods']);
  t.deepEqual(byLabel(services, 'web').adjacency, [byLabel(services, 'cache').id]);
  // a pod's details link to its controller and services in their views
  const web1 = (await get<{ node: { parents: { label: string; topologyId: string }[] } }>(app, `/api/topology/pods/${encodeURIComponent(byLabel(pods, 'web-1').id)}`)).node;
  t.deepEqual(
    web1.parents.filter((p) => p.topologyId !== 'hosts').map((p) => [p.topologyId, p.label]),
    [
      ['kube-controllers', 'web'],
      ['services', 'web'],
    ],
  );
});

test('the containers view with no containers is empty (no lone Uncontained node), and shows Uncontained on request', async (t) => {
  const app = await startApp();
  t.teardown(() => app.stop());
  await postReport(app.url, encodeReport(syntheticReport({ containersPerHost: 0 }), { gzip: false }).body, { 'Content-Type': 'application/msgpack' });
  t.deepEqual(await nodesOf(app, 'containers'), {});
  const list = await get<Listing[]>(app, '/api/topology');
  t.like(list.find((l) => l.id === 'containers')!.stats, { node_count: 0, nonpseudo_node_count: 0 });
  const shown = await nodesOf(app, 'containers?pseudo=show');
  t.deepEqual(Object.keys(shown).sort(), ['out-theinternet', 'pseudo:uncontained:host-1', 'pseudo:uncontained:host-2', 'pseudo:uncontained:host-3']);
  t.deepEqual(shown['pseudo:uncontained:host-1']!.adjacency, ['out-theinternet', 'pseudo:uncontained:host-2']);
});

test('bad options are refused with 400 saying which values there are; the websocket closes with 4400', async (t) => {
  const app = await kubeApp();
  t.teardown(() => app.stop());
  for (const path of ['/api/topology/containers?system=some', '/api/topology?stopped=maybe', '/api/topology/processes?unconnected=x']) {
    const res = await fetch(`${app.url}${path}`);
    t.is(res.status, 400, path);
    t.regex(((await res.json()) as { errors: { message: string }[] }).errors[0]!.message, /is not an option of \w+ \(/);
  }
  const unknown = await fetch(`${app.url}/api/topology/planets`);
  t.is(unknown.status, 404);
  t.regex(((await unknown.json()) as { errors: { message: string }[] }).errors[0]!.message, /kube-controllers/);

  const closed = await new Promise<{ code: number; reason: string }>((resolve, reject) => {
    const ws = new WebSocket(`${app.url.replace('http', 'ws')}/api/topology/containers/ws?stopped=maybe`);
    ws.once('close', (code, reason) => resolve({ code, reason: String(reason) }));
    ws.once('error', reject);
  });
  t.is(closed.code, 4400);
  t.regex(closed.reason, /stopped="maybe"/);

  // good options reach the websocket's render
  const first = await new Promise<{ add: Summary[] }>((resolve, reject) => {
    const ws = new WebSocket(`${app.url.replace('http', 'ws')}/api/topology/containers/ws?system=all&stopped=both`);
    ws.once('message', (data) => {
      ws.close();
      resolve(JSON.parse(String(data)) as { add: Summary[] });
    });
    ws.once('error', reject);
  });
  t.is(first.add.filter((n) => !n.pseudo).length, 8);
});
