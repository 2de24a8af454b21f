import test from 'ava';
import { gzipSync } from 'node:zlib';
import { request } from 'node:http';
import { pino } from 'pino';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { NodeSummary as Summary } from '../../images/scope/src/app/summary.ts';
import { buildWebAssets } from '../../images/scope/src/app/web.ts';
import { decodeReport, encodeReport } from '../../images/scope/src/report/index.ts';
import { syntheticReport } from '../../fixtures/reports/synthetic.ts';
import { postReport, reportFixture, startApp, weaveFixture, type RunningApp } from './helpers.ts';

const get = async <T>(app: RunningApp, path: string): Promise<T> => {
  const res = await fetch(`${app.url}${path}`);
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
};
const nodesOf = async (app: RunningApp, topology: string) => (await get<{ nodes: Record<string, Summary> }>(app, `/api/topology/${topology}`)).nodes;

test('a Weave Scope 1.13.2 probe\'s report, sent with its own headers, shows host vm and its processes', async (t) => {
  const app = await startApp();
  t.teardown(() => app.stop());
  const headers = JSON.parse(weaveFixture('headers.json').toString()) as Record<string, string>;
  const res = await postReport(app.url, weaveFixture('report-1.msgpack.gz'), {
    'Content-Type': headers['content-type']!,
    'Content-Encoding': headers['content-encoding']!,
    'X-Scope-Probe-ID': headers['x-scope-probe-id']!,
    'X-Scope-Probe-Version': headers['x-scope-probe-version']!,
    Authorization: headers.authorization!,
    'User-Agent': headers['user-agent']!,
  });
  t.is(res.status, 200);
  t.is((await postReport(app.url, weaveFixture('report-2.msgpack.gz'), { 'Content-Encoding': 'gzip', 'X-Scope-Probe-ID': headers['x-scope-probe-id']! })).status, 200);

  const hosts = await nodesOf(app, 'hosts');
  t.deepEqual(Object.keys(hosts), ['vm;<host>']);
  const vm = hosts['vm;<host>']!;
  t.is(vm.label, 'vm');
  t.is(vm.shape, 'circle');
  t.deepEqual(vm.adjacency, []); // loopback connections stay inside the host
  t.is(vm.metadata.find((m) => m.id === 'uptime')?.value, '955');
  t.truthy(vm.metrics.find((m) => m.id === 'host_cpu_usage_percent'));

  // its processes talk only over loopback: unconnected, hidden by default as in Scope, shown on request
  t.deepEqual(Object.keys(await nodesOf(app, 'processes')), []);
  const procs = await nodesOf(app, 'processes?unconnected=show');
  t.deepEqual(Object.keys(procs).sort(), ['vm;1', 'vm;2']);
  t.like(procs['vm;1'], { label: 'scope', labelMinor: 'vm (1)', rank: '/home/weave/scope', shape: 'square' });
  t.like(procs['vm;2'], { label: 'node', labelMinor: 'vm (2)' });
  t.deepEqual(procs['vm;2']!.parents, [{ id: 'vm;<host>', label: 'vm', topologyId: 'hosts' }]);
  t.deepEqual(
    procs['vm;2']!.metadata.map((m) => [m.label, m.value]),
    [
      ['PID', '2'],
      ['Command', 'node app.mjs '],
      ['Parent PID', '1'],
      ['# Threads', '11'],
    ],
  );

  const probes = await get<{ id: string; hostname: string; version: string; lastSeen: string }[]>(app, '/api/probes');
  t.is(probes.length, 1);
  t.like(probes[0], { id: '7e512193219ff971', hostname: 'vm', version: '1.13.2' });
  t.true(Date.now() - Date.parse(probes[0]!.lastSeen) < 60_000);
});

test('GET /api answers the probe handshake', async (t) => {
  const app = await startApp({ hostname: 'scope-app-test' });
  t.teardown(() => app.stop());
  const api = await get<{ id: string; version: string; hostname: string }>(app, '/api');
  t.regex(api.id, /^[0-9a-f]{16}$/);
  t.is(api.version, '1.13.2');
  t.is(api.hostname, 'scope-app-test');
});

test('three probes: hosts, processes and containers connected across hosts, with pseudo nodes', async (t) => {
  const app = await startApp();
  t.teardown(() => app.stop());
  for (const h of [1, 2, 3]) {
    t.is((await postReport(app.url, reportFixture(`world-host-${h}.msgpack.gz`), { 'X-Scope-Probe-ID': `probe-${h}` })).status, 200);
  }
  interface Listing {
    name: string;
    id: string;
    url: string;
    stats: { node_count: number; nonpseudo_node_count: number; edge_count: number; filtered_nodes: number };
    sub_topologies?: Listing[];
  }
  const list = await get<Listing[]>(app, '/api/topology');
  const flat = list.flatMap((l) => [l, ...(l.sub_topologies ?? [])]);
  t.deepEqual(
    flat.map((l) => [l.id, l.name, l.url, l.stats.nonpseudo_node_count]),
    [
      ['processes', 'Processes', '/api/topology/processes', 12],
      ['processes-by-name', 'by name', '/api/topology/processes-by-name', 6],
      ['containers', 'Containers', '/api/topology/containers', 3],
      ['containers-by-hostname', 'by DNS name', '/api/topology/containers-by-hostname', 0],
      ['containers-by-image', 'by image', '/api/topology/containers-by-image', 3],
      ['hosts', 'Hosts', '/api/topology/hosts', 3],
    ],
  );

  const hosts = await nodesOf(app, 'hosts');
  t.deepEqual(hosts['host-1;<host>']!.adjacency, ['host-2;<host>', 'out-theinternet']);
  t.deepEqual(hosts['host-3;<host>']!.adjacency, ['host-1;<host>', 'out-theinternet']);
  t.like(hosts['out-theinternet'], { label: 'The Internet', pseudo: true });

  const procs = await nodesOf(app, 'processes');
  // process p of host h calls process p+1 of host h+1, derived from endpoint adjacency via pid + host
  t.deepEqual(procs['host-1;100']!.adjacency, ['host-2;101', 'out-theinternet']);
  t.deepEqual(procs['host-1;103']!.adjacency, ['host-2;100']);
  t.deepEqual(procs['host-3;102']!.adjacency, ['host-1;103']);
  t.like(procs['host-1;100'], { label: 'nginx', labelMinor: 'host-1 (100)' });
  t.deepEqual(
    procs['host-1;100']!.parents.map((p) => [p.topologyId, p.label]),
    [
      ['containers', 'nginx-1'],
      ['hosts', 'host-1'],
    ],
  );

  const containers = await nodesOf(app, 'containers?pseudo=show');
  const nginx = Object.values(containers).find((c) => c.label === 'nginx-1')!;
  t.is(nginx.labelMinor, 'library/nginx');
  t.is(nginx.shape, 'hexagon');
  // its process calls host-2's process 101, which runs in no container
  t.deepEqual(nginx.adjacency, ['out-theinternet', 'pseudo:uncontained:host-2']);
  t.like(containers['pseudo:uncontained:host-2'], { label: 'Uncontained', labelMinor: 'host-2', pseudo: true });

  const node = await get<{ node: Summary }>(app, `/api/topology/processes/${encodeURIComponent('host-2;101')}`);
  t.deepEqual(node.node, procs['host-2;101']);
  t.is((await fetch(`${app.url}/api/topology/processes/nope`)).status, 404);
  const unknown = await fetch(`${app.url}/api/topology/planets`);
  t.is(unknown.status, 404);
  t.regex(((await unknown.json()) as { errors: { message: string }[] }).errors[0]!.message, /no topology "planets"/);
});

test('GET /api/report is the merged report as JSON, and posting it back gives the same view', async (t) => {
  const app = await startApp();
  t.teardown(() => app.stop());
  await postReport(app.url, reportFixture('world.msgpack.gz'), { 'Content-Encoding': 'gzip' });
  await postReport(app.url, weaveFixture('report-1.msgpack.gz'), { 'X-Scope-Probe-ID': 'other' });
  const res = await fetch(`${app.url}/api/report`);
  t.is(res.headers.get('content-type'), 'application/json; charset=utf-8');
  const text = await res.text();
  const merged = decodeReport(Buffer.from(text), { contentType: 'application/json' });
  t.is(Object.keys(merged.topologies.Host!.nodes).length, 4);
  t.regex(text, /"timestamp":"2026-11-21T20:41:07\.497/);

  const other = await startApp();
  t.teardown(() => other.stop());
  t.is((await postReport(other.url, Buffer.from(text), { 'Content-Type': 'application/json' })).status, 200);
  t.deepEqual(await nodesOf(other, 'processes'), await nodesOf(app, 'processes'));
});

test('JSON reports, gzip\'d or not, with or without a Content-Type, are accepted', async (t) => {
  const app = await startApp();
  t.teardown(() => app.stop());
  const json = reportFixture('world.json');
  t.is((await postReport(app.url, json, { 'Content-Type': 'application/json' })).status, 200);
  t.is((await postReport(app.url, gzipSync(json), { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' })).status, 200);
  t.is((await postReport(app.url, json)).status, 200);
  t.is((await postReport(app.url, encodeReport(syntheticReport(), { gzip: false }).body, { 'Content-Type': 'application/msgpack' })).status, 200);
  t.is((await postReport(app.url, reportFixture('empty.json'), { 'Content-Type': 'application/json' })).status, 200);
  t.is(app.store.received, 5);
  t.is(Object.values(await nodesOf(app, 'hosts')).filter((n) => !n.pseudo).length, 3);
});

const badBodies: [string, () => Buffer, Record<string, string>, number, RegExp][] = [
  ['truncated gzip', () => reportFixture('truncated.msgpack.gz'), { 'Content-Encoding': 'gzip', 'Content-Type': 'application/msgpack' }, 400, /bad report: bad gzip data/],
  ['JSON that is not a report', () => reportFixture('not-a-report.json'), { 'Content-Type': 'application/json' }, 400, /not a Weave Scope report/],
  ['cut-off JSON', () => reportFixture('not-json.json'), { 'Content-Type': 'application/json' }, 400, /malformed JSON/],
  ['wrong field types', () => reportFixture('wrong-types.json'), { 'Content-Type': 'application/json' }, 400, /latest\.pid\.timestamp: expected a time/],
  ['adjacency of the wrong type', () => reportFixture('wrong-types-adjacency.msgpack.gz'), { 'Content-Encoding': 'gzip' }, 400, /adjacency: expected a list of strings/],
  ['a msgpack list', () => reportFixture('array.msgpack'), { 'Content-Type': 'application/msgpack' }, 400, /not a Weave Scope report/],
  ['plain text', () => Buffer.from('hello'), { 'Content-Type': 'text/plain' }, 400, /not a Weave Scope report/],
  ['an empty body', () => Buffer.alloc(0), { 'Content-Type': 'application/msgpack' }, 400, /empty report body/],
  ['a gzip bomb', () => reportFixture('gzip-bomb.msgpack.gz'), { 'Content-Encoding': 'gzip' }, 413, /inflates to more than/],
  ['a bad probe id', () => reportFixture('empty.json'), { 'X-Scope-Probe-ID': 'has space' }, 400, /X-Scope-Probe-ID/],
];

test('every bad body gets a clear 4xx, and the app keeps serving the others', async (t) => {
  const app = await startApp();
  t.teardown(() => app.stop());
  t.is((await postReport(app.url, weaveFixture('report-1.msgpack.gz'), { 'X-Scope-Probe-ID': 'good' })).status, 200);
  const before = JSON.stringify(await nodesOf(app, 'processes'));
  for (const [name, body, headers, status, message] of badBodies) {
    const res = await postReport(app.url, body(), { 'X-Scope-Probe-ID': 'bad', ...headers });
    t.is(res.status, status, name);
    const err = (await res.json()) as { errors: { message: string }[] };
    t.regex(err.errors[0]!.message, message, name);
    // the merged state is untouched and the app still answers
    t.is(JSON.stringify(await nodesOf(app, 'processes')), before, name);
  }
  t.false((await get<{ id: string }[]>(app, '/api/probes')).some((p) => p.id === 'bad'));
  t.is((await postReport(app.url, weaveFixture('report-2.msgpack.gz'), { 'X-Scope-Probe-ID': 'good' })).status, 200);
});

test('a 50 MB body is refused with 413 and the app keeps serving', async (t) => {
  const app = await startApp();
  t.teardown(() => app.stop());
  const port = Number(new URL(app.url).port);
  /**
   * Streams `mib` MiB and resolves with the status the app answers. The app answers 413 and closes while
   * the body is still being sent, so the write errors that follow (EPIPE, ECONNRESET) are expected.
   */
  const streamBody = (mib: number, contentLength: boolean) =>
    new Promise<number>((resolve, reject) => {
      const headers: Record<string, string> = { 'Content-Type': 'application/msgpack' };
      if (contentLength) headers['Content-Length'] = String(mib * 1024 * 1024);
      const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/api/report', headers }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', (err) => (err.message.includes('EPIPE') || err.message.includes('ECONNRESET') ? undefined : reject(err)));
      req.on('close', () => reject(new Error('the connection closed without an answer')));
      const chunk = Buffer.alloc(1024 * 1024, 0x61);
      let sent = 0;
      const write = () => {
        while (sent < mib) {
          sent++;
          if (!req.write(chunk)) return void req.once('drain', write);
        }
        req.end();
      };
      write();
    });
  t.is(await streamBody(50, true), 413);
  // a chunked body (no Content-Length) past the limit too
  t.is(await streamBody(25, false), 413);
  t.is((await postReport(app.url, weaveFixture('report-1.msgpack.gz'))).status, 200);
  t.is(Object.keys(await nodesOf(app, 'hosts')).length, 1);
});

test('the map page and its assets are served with relative URLs', async (t) => {
  const app = await startApp();
  t.teardown(() => app.stop());
  const html = await (await fetch(`${app.url}/`)).text();
  t.regex(html, /static\/app\.js/);
  t.notRegex(html, /(src|href)="\//);
  const js = await fetch(`${app.url}/static/app.js`);
  t.is(js.status, 200);
  t.regex(js.headers.get('content-type')!, /javascript/);
  t.true((await js.text()).length > 100_000); // cytoscape is bundled in
  const css = await fetch(`${app.url}/static/style.css`);
  t.regex(css.headers.get('content-type')!, /text\/css/);
});

test('an image can ship the page script prebuilt', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'scope-web-'));
  const bundle = path.join(dir, 'app.js');
  await writeFile(bundle, 'window.prebuilt = true;\n');
  const app = await startApp({ web: () => buildWebAssets({ bundle }) });
  t.teardown(async () => {
    await app.stop();
    await rm(dir, { recursive: true, force: true });
  });
  t.is(await (await fetch(`${app.url}/static/app.js`)).text(), 'window.prebuilt = true;\n');
  t.regex(await (await fetch(`${app.url}/`)).text(), /static\/style\.css/);
});

test('accepted reports are not logged line by line at info; refused ones are, with the reason', async (t) => {
  const lines: { msg?: string; level?: number; reason?: string; probeID?: string; req?: { url?: string } }[] = [];
  const logger = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s)) });
  const app = await startApp({ logger });
  t.teardown(() => app.stop());
  t.is((await postReport(app.url, weaveFixture('report-1.msgpack.gz'))).status, 200);
  t.is((await fetch(`${app.url}/api`)).status, 200);
  t.is((await postReport(app.url, Buffer.from('not a report'), { 'X-Scope-Probe-ID': 'broken' })).status, 400);
  // other routes keep Fastify's request lines
  t.true(lines.some((l) => l.msg === 'incoming request' && l.req?.url === '/api'));
  t.false(lines.some((l) => l.msg === 'incoming request' && l.req?.url === '/api/report'));
  const refused = lines.find((l) => l.msg === 'report refused');
  t.is(refused?.probeID, 'broken');
  t.is(refused?.level, 40);
  t.truthy(refused?.reason);
});
