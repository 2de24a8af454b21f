import test from 'ava';
import { readFileSync } from 'node:fs';
import { decodeReport, makeNode, makeReport, MAX_SAMPLES, mergeInto, mergeReports, reportToJSON, topologyOf, type Node, type Report } from '../../images/scope/src/report/index.ts';
import { ReportStore } from '../../images/scope/src/app/store.ts';
import { FIXED_NOW, syntheticReport } from '../../fixtures/reports/synthetic.ts';

const weave = (f: string) => decodeReport(readFileSync(new URL(`../../fixtures/weave-scope-1.13.2/${f}`, import.meta.url)));

function reportWith(id: string, node: (n: Node) => void, topology: 'Host' | 'Process' = 'Process'): Report {
  const r = makeReport(id);
  const n = makeNode('h;1', topology === 'Host' ? 'host' : 'process');
  node(n);
  topologyOf(r, topology).nodes[n.id] = n;
  return r;
}

test('full + delta from Weave Scope: the delta adds samples and keeps what it left out', (t) => {
  const full = weave('report-1.msgpack.gz');
  const delta = weave('report-2.msgpack.gz');
  const m = mergeReports([full, delta]);
  const p = m.topologies.Process!.nodes['vm;1']!;
  t.is(p.latest.name!.value, '/home/weave/scope'); // only in the full report
  t.deepEqual(p.parents.host, ['vm;<host>']);
  // 2 samples in the full report, 3 later ones in the delta
  const dates = p.metrics.open_files_count!.samples.map((s) => s.date);
  t.is(dates.length, 5);
  t.is(new Set(dates).size, 5);
  t.deepEqual(dates, [...dates].sort((a, b) => a - b));
  const host = m.topologies.Host!.nodes['vm;<host>']!;
  t.is(host.latest.uptime!.value, '955'); // newer value from the delta
  t.deepEqual(host.sets.local_networks, ['127.0.0.1/8', '192.0.2.2/24']);
  t.deepEqual(m.dns['127.0.0.1']!.reverse, ['localhost', 'runsc', 'vm']);
  t.is(Object.keys(m.topologies.Endpoint!.nodes).length, 3);
  t.is(m.ts, delta.ts);
  // the inputs are left as they were
  t.is(Object.keys(delta.topologies.Process!.nodes['vm;1']!.latest).length, 0);
  t.is(full.topologies.Process!.nodes['vm;1']!.metrics.open_files_count!.samples.length, 2);
});

test('latest: the newest timestamp wins whatever the order of merging', (t) => {
  const older = reportWith('1', (n) => void (n.latest.name = { timestamp: 1000, value: 'old' }));
  const newer = reportWith('2', (n) => void (n.latest.name = { timestamp: 2000, value: 'new' }));
  for (const order of [[older, newer], [newer, older]]) {
    t.is(mergeReports(order).topologies.Process!.nodes['h;1']!.latest.name!.value, 'new');
  }
});

test('sets, parents and adjacency are unions, sorted', (t) => {
  const a = reportWith('1', (n) => {
    n.sets.ips = ['10.0.0.2', '10.0.0.9'];
    n.parents.container = ['c1;<container>'];
    n.adjacency = ['h;3'];
  });
  const b = reportWith('2', (n) => {
    n.sets.ips = ['10.0.0.1', '10.0.0.2'];
    n.sets.other = ['x'];
    n.parents.container = ['c0;<container>'];
    n.parents.host = ['h;<host>'];
    n.adjacency = ['h;2', 'h;3'];
  });
  const n = mergeReports([a, b]).topologies.Process!.nodes['h;1']!;
  t.deepEqual(n.sets.ips, ['10.0.0.1', '10.0.0.2', '10.0.0.9']);
  t.deepEqual(n.sets.other, ['x']);
  t.deepEqual(n.parents.container, ['c0;<container>', 'c1;<container>']);
  t.deepEqual(n.parents.host, ['h;<host>']);
  t.deepEqual(n.adjacency, ['h;2', 'h;3']);
});

test('metrics: samples merge by time, one per instant, the newest kept; min and max widen', (t) => {
  const a = reportWith('1', (n) => void (n.metrics.cpu = { samples: [{ date: 1, value: 5 }, { date: 3, value: 7 }], min: 5, max: 100 }));
  const b = reportWith('2', (n) => void (n.metrics.cpu = { samples: [{ date: 2, value: 1 }, { date: 3, value: 9 }], min: 1, max: 50 }));
  const m = mergeReports([a, b]).topologies.Process!.nodes['h;1']!.metrics.cpu!;
  t.deepEqual(m.samples, [{ date: 1, value: 5 }, { date: 2, value: 1 }, { date: 3, value: 9 }]);
  t.is(m.min, 1);
  t.is(m.max, 100);

  const many = Array.from({ length: MAX_SAMPLES + 30 }, (_, i) => reportWith(String(i), (n) => void (n.metrics.cpu = { samples: [{ date: i, value: i }], min: i, max: i })));
  const big = mergeReports(many).topologies.Process!.nodes['h;1']!.metrics.cpu!;
  t.is(big.samples.length, MAX_SAMPLES);
  t.is(big.samples[big.samples.length - 1]!.date, MAX_SAMPLES + 29);
});

test('merging is the same whether done at once or report by report', (t) => {
  const parts = [0, 1, 2].map((h) => syntheticReport({ onlyHost: h, id: '9' }));
  const merged = makeReport('9');
  for (const p of parts) mergeInto(merged, p);
  const whole = syntheticReport({ id: '9' });
  const json = (r: Report) => {
    r.window = 0;
    return reportToJSON(r);
  };
  // the per-host reports only differ from the whole in the remote endpoints' bare nodes, which merge away
  t.is(json(merged), json(mergeReports([whole], '9')));
});

test('store: reports count for the window per probe, then fall out of the merged view', (t) => {
  let now = FIXED_NOW;
  const store = new ReportStore({ windowMs: 15_000, now: () => now });
  store.add('p1', syntheticReport({ onlyHost: 0 }));
  now += 5000;
  store.add('p2', syntheticReport({ onlyHost: 1 }));
  t.is(Object.keys(store.report().topologies.Host!.nodes).length, 2);
  const v = store.version;
  now += 11_000; // p1's report is 16 s old, p2's 11 s
  t.true(store.prune());
  t.true(store.version > v);
  t.deepEqual(Object.keys(store.report().topologies.Host!.nodes), ['host-2;<host>']);
  t.deepEqual(
    store.probes().map((p) => [p.id, p.hostname]),
    [
      ['p1', 'host-1'],
      ['p2', 'host-2'],
    ],
  );
  now += 5000;
  store.prune();
  t.deepEqual(Object.keys(store.report().topologies.Host?.nodes ?? {}), []);
  t.false(store.prune());
  t.is(store.size(), 0);
});

test('store: a new report after a prune is merged into the rebuilt view', (t) => {
  let now = FIXED_NOW;
  const store = new ReportStore({ windowMs: 1000, now: () => now });
  store.add('p1', reportWith('1', (n) => void (n.latest.name = { timestamp: 1, value: 'first' })));
  now += 2000;
  store.prune();
  store.add('p1', reportWith('2', (n) => void (n.latest.pid = { timestamp: 2, value: '1' })));
  const n = store.report().topologies.Process!.nodes['h;1']!;
  t.is(n.latest.name, undefined);
  t.is(n.latest.pid!.value, '1');
});
