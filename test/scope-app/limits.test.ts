/**
 * What one report may do to an organisation's app: a topology past the node limit is refused with 413 naming
 * the limit (and the app keeps serving the other probes' map), and a null node is refused by name.
 */
import test from 'ava';
import { encodeMsgpack } from '../../images/scope/src/report/msgpack.ts';
import { encodeReport, makeNode, makeReport, MAX_NODES_PER_TOPOLOGY, topologyOf, type Report } from '../../images/scope/src/report/index.ts';
import { postReport, startApp, weaveFixture, type RunningApp } from './helpers.ts';

let app: RunningApp;
test.before(async () => {
  app = await startApp();
});
test.after.always(() => app?.stop());

function hostsReport(count: number): Report {
  const r = makeReport();
  const hosts = topologyOf(r, 'Host');
  for (let i = 0; i < count; i++) {
    const id = `host-${i};<host>`;
    hosts.nodes[id] = makeNode(id, 'host');
  }
  return r;
}

const errorMessage = async (res: Response) => ((await res.json()) as { errors: { message: string }[] }).errors[0]?.message ?? '';

for (const encoding of ['msgpack', 'json'] as const) {
  test(`a ${encoding} report with more than ${MAX_NODES_PER_TOPOLOGY} nodes in a topology gets 413 naming the limit; the other probes' map stays`, async (t) => {
    t.is((await postReport(app.url, weaveFixture('report-1.msgpack.gz'), { 'X-Scope-Probe-ID': 'good-probe' })).status, 200);
    const before = await (await fetch(`${app.url}/api/topology/hosts`)).json();

    const big = encodeReport(hostsReport(MAX_NODES_PER_TOPOLOGY + 1), { encoding });
    const res = await postReport(app.url, big.body, { ...big.headers, 'X-Scope-Probe-ID': `big-${encoding}` });
    t.is(res.status, 413);
    t.regex(await errorMessage(res), new RegExp(`Host has ${MAX_NODES_PER_TOPOLOGY + 1} nodes; a report may hold at most ${MAX_NODES_PER_TOPOLOGY}`));

    t.deepEqual(await (await fetch(`${app.url}/api/topology/hosts`)).json(), before, 'the refused report left nothing behind');
    const probes = (await (await fetch(`${app.url}/api/probes`)).json()) as { id: string }[];
    t.false(probes.some((p) => p.id === `big-${encoding}`));
  });
}

test('a report of exactly the limit is taken', async (t) => {
  const edge = encodeReport(hostsReport(MAX_NODES_PER_TOPOLOGY));
  t.is((await postReport(app.url, edge.body, { ...edge.headers, 'X-Scope-Probe-ID': 'at-the-limit' })).status, 200);
});

for (const encoding of ['msgpack', 'json'] as const) {
  test(`a null node in a ${encoding} report gets 400 naming the node`, async (t) => {
    const wire = { Host: { nodes: { 'good;<host>': { id: 'good;<host>', topology: 'host' }, 'nil;<host>': null } }, ID: 'r1' };
    const body = encoding === 'json' ? Buffer.from(JSON.stringify(wire)) : encodeMsgpack(wire);
    const res = await postReport(app.url, body, { 'Content-Type': encoding === 'json' ? 'application/json' : 'application/msgpack', 'X-Scope-Probe-ID': `nil-${encoding}` });
    t.is(res.status, 400);
    t.regex(await errorMessage(res), /Host\.nodes\["nil;<host>"\]: expected a node/);
    const hosts = (await (await fetch(`${app.url}/api/topology/hosts`)).json()) as { nodes: Record<string, unknown> };
    t.false(Object.keys(hosts.nodes).some((id) => id.startsWith('nil')));
  });
}
