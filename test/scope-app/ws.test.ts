import test from 'ava';
import { WebSocket } from 'ws';
import { waitFor } from '@saas/kit/testing';
import { encodeReport, makeNode, makeReport, topologyOf } from '../../images/scope/src/report/index.ts';
import { ReportStore } from '../../images/scope/src/app/store.ts';
import { syntheticReport } from '../../fixtures/reports/synthetic.ts';
import { postReport, startApp } from './helpers.ts';

interface Diff {
  add: { id: string; label: string; metadata: { id: string; value: string }[] }[];
  update: { id: string; label: string; metadata: { id: string; value: string }[] }[];
  remove: string[];
}

function collect(url: string): Promise<{ ws: WebSocket; messages: Diff[] }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const messages: Diff[] = [];
    ws.on('message', (data) => messages.push(JSON.parse(String(data)) as Diff));
    ws.once('open', () => resolve({ ws, messages }));
    ws.once('error', reject);
  });
}

test('topology websocket: a full add first, then diffs of adds, updates and removals', async (t) => {
  const store = new ReportStore({ windowMs: 3000 });
  const app = await startApp({ store, wsIntervalMs: 100, pruneIntervalMs: 100 });
  t.teardown(() => app.stop());
  await postReport(app.url, encodeReport(syntheticReport({ onlyHost: 0, now: Date.now() })).body, { 'X-Scope-Probe-ID': 'p1' });

  const { ws, messages } = await collect(`${app.url.replace('http', 'ws')}/api/topology/hosts/ws`);
  t.teardown(() => ws.close());
  await waitFor('the first message', async () => messages.length >= 1);
  // host-1 alone: its peer on the local network is not known yet, so it stands as a pseudo node
  t.deepEqual(messages[0]!.add.map((n) => n.id).sort(), ['host-1;<host>', 'out-theinternet', 'pseudo:10.0.0.11']);
  t.deepEqual(messages[0]!.update, []);
  t.deepEqual(messages[0]!.remove, []);

  // a second probe: its host is added, and host-1 (now connected to it) updated
  await postReport(app.url, encodeReport(syntheticReport({ onlyHost: 1, now: Date.now() })).body, { 'X-Scope-Probe-ID': 'p2' });
  const second = await waitFor('a diff adding host-2', async () => messages.find((m) => m.add.some((n) => n.id === 'host-2;<host>')));
  t.true(second.update.some((n) => n.id === 'host-1;<host>'));
  t.deepEqual(second.remove, ['pseudo:10.0.0.11']);

  // a changed value is an update of that node only
  const r = makeReport('3');
  const h = makeNode('host-1;<host>', 'host');
  h.latest.uptime = { timestamp: Date.now() + 1000, value: '99999' };
  topologyOf(r, 'Host').nodes[h.id] = h;
  await postReport(app.url, encodeReport(r).body, { 'X-Scope-Probe-ID': 'p1' });
  const third = await waitFor('an update of host-1', async () =>
    messages.find((m) => m.update.some((n) => n.id === 'host-1;<host>' && n.metadata.some((x) => x.id === 'uptime' && x.value === '99999'))),
  );
  t.deepEqual(third.add, []);
  t.deepEqual(
    third.update.map((n) => n.id),
    ['host-1;<host>'],
  );

  // no change, no message
  const count = messages.length;
  await new Promise((r) => setTimeout(r, 400));
  t.is(messages.length, count);

  // once every report is older than the window, the nodes are removed
  await waitFor('host-2 removed', async () => messages.some((m) => m.remove.includes('host-2;<host>')), 15_000);
  await waitFor('host-1 removed', async () => messages.some((m) => m.remove.includes('host-1;<host>')), 15_000);
  const res = await fetch(`${app.url}/api/topology/hosts`);
  t.deepEqual(await res.json(), { nodes: {} });
});

test('topology websocket: an unknown topology is closed with a reason', async (t) => {
  const app = await startApp();
  t.teardown(() => app.stop());
  const ws = new WebSocket(`${app.url.replace('http', 'ws')}/api/topology/planets/ws`);
  const [code, reason] = await new Promise<[number, string]>((resolve) => ws.once('close', (c, r) => resolve([c, String(r)])));
  t.is(code, 4404);
  t.regex(reason, /no topology planets/);
});

test('a probe\'s control websocket is accepted and held open', async (t) => {
  const app = await startApp();
  t.teardown(() => app.stop());
  const ws = new WebSocket(`${app.url.replace('http', 'ws')}/api/control/ws`, { headers: { 'X-Scope-Probe-ID': 'p1' } });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  await new Promise((r) => setTimeout(r, 300));
  t.is(ws.readyState, WebSocket.OPEN);
  ws.close();
});
