import test from 'ava';
import { readFileSync } from 'node:fs';
import { decodeReport, encodeReport, makeNode, makeReport, mergeReports, reportToJSON, topologyOf, type Node, type Report, type TopologyName } from '../../images/scope/src/report/index.ts';
import { ReportStore } from '../../images/scope/src/app/store.ts';
import { diff, Views } from '../../images/scope/src/app/views.ts';
import { renderTopology } from '../../images/scope/src/app/render.ts';
import { defaultOptions } from '../../images/scope/src/app/topologies.ts';
import { FIXED_NOW, syntheticReport } from '../../fixtures/reports/synthetic.ts';

/** A report as JSON with every object's keys sorted: equal content, equal value, whatever the insertion order. */
function canonical(r: Report): unknown {
  const sort = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sort);
    if (v && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const k of Object.keys(v).sort()) out[k] = sort((v as Record<string, unknown>)[k]);
      return out;
    }
    return v;
  };
  const json: unknown = reportToJSON(r);
  return sort(typeof json === 'string' ? JSON.parse(json) : json);
}

/** A small deterministic PRNG, so a failing sequence can be replayed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 0x100000000;
  };
}

const TOPOLOGIES: TopologyName[] = ['Process', 'Endpoint', 'Host'];

/**
 * A random report: nodes from a small id space per topology (so probes share some), latest values whose
 * timestamps repeat (ties between probes), sets, adjacency, parents, metrics and counters, templates, DNS.
 */
function randomReport(rand: () => number, now: number, id: string): Report {
  const r = makeReport(id);
  r.ts = now;
  r.window = 3000;
  const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)]!;
  for (const name of TOPOLOGIES) {
    if (rand() < 0.2) continue;
    const t = topologyOf(r, name);
    if (rand() < 0.3) t.metadataTemplates[pick(['pid', 'name'])] = { id: 'pid', label: pick(['PID', 'Pid']), priority: Math.floor(rand() * 3), from: 'latest' };
    if (rand() < 0.2) t.label = pick(['a', 'b']);
    const count = Math.floor(rand() * 6);
    for (let i = 0; i < count; i++) {
      const nid = `${name}-${Math.floor(rand() * 8)}`;
      const n: Node = t.nodes[nid] ?? makeNode(nid, name.toLowerCase());
      for (const k of ['a', 'b', 'c']) if (rand() < 0.5) n.latest[k] = { timestamp: FIXED_NOW + Math.floor(rand() * 4) * 1000, value: pick(['x', 'y', 'z']) };
      if (rand() < 0.4) n.sets.s = [...new Set([pick(['1', '2', '3']), pick(['4', '5'])])].sort();
      if (rand() < 0.3) n.adjacency = [`${name}-${Math.floor(rand() * 8)}`];
      if (rand() < 0.3) n.parents.host = [pick(['h1', 'h2'])];
      if (rand() < 0.4) {
        const date = now - Math.floor(rand() * 3) * 1000;
        n.metrics.m = { samples: [{ date, value: Math.floor(rand() * 100) }], min: 0, max: pick([100, 200]) };
      }
      if (rand() < 0.2) n.counters.c = Math.floor(rand() * 3);
      t.nodes[nid] = n;
    }
  }
  if (rand() < 0.3) r.dns[pick(['10.0.0.1', '10.0.0.2'])] = { forward: [pick(['a.example', 'b.example'])], reverse: [] };
  return r;
}

test('store: the all-probes view kept up to date equals merging every probe anew, through reports, ties, prunes, expiries and forgotten probes', (t) => {
  for (let seed = 1; seed <= 30; seed++) {
    const rand = rng(seed);
    let now = FIXED_NOW;
    const store = new ReportStore({ windowMs: 6000, probeForgetMs: 20_000, now: () => now });
    const probes = ['p1', 'p2', 'p3', 'p4'];
    for (let step = 0; step < 80; step++) {
      const x = rand();
      if (x < 0.6) {
        const report = randomReport(rand, now, String(step));
        store.add(probes[Math.floor(rand() * probes.length)]!, report);
      } else if (x < 0.85) {
        // several reports may arrive within one millisecond (equal lastSeen), or time moves on
        now += Math.floor(rand() * 3) * 1000;
        store.prune();
      } else {
        now += Math.floor(rand() * 12) * 1000; // probes fall out of the window, some long enough to be forgotten
        store.prune();
      }
      // read the view only now and then, so several changes pile up between reads
      if (rand() < 0.5) t.deepEqual(canonical(store.report()), canonical(store.rebuilt()), `seed ${seed}, step ${step}`);
    }
    t.deepEqual(canonical(store.report()), canonical(store.rebuilt()), `seed ${seed}, end`);
  }
});

test('store: without ties or expiry, the view is the merge of every report received, whatever probe sent it', (t) => {
  const rand = rng(7);
  let now = FIXED_NOW;
  const store = new ReportStore({ windowMs: 60_000, now: () => now });
  const all: Report[] = [];
  for (let i = 0; i < 40; i++) {
    const r = randomReport(rand, now, String(i));
    // distinct timestamps per value: the newest wins whichever order probes are merged in
    for (const name of TOPOLOGIES) for (const n of Object.values(r.topologies[name]?.nodes ?? {})) {
      for (const e of Object.values(n.latest)) e.timestamp = now + Math.floor(rand() * 1000) / 1000;
      for (const m of Object.values(n.metrics)) for (const sample of m.samples) sample.date = now - Math.floor(rand() * 3) * 1000 + Math.floor(rand() * 1000) / 1000;
    }
    all.push(decodeReport(encodeReport(r).body)); // a copy for the reference
    store.add(`p${i % 3}`, r);
    now += 500;
  }
  const expected = mergeReports(all, 'merged');
  expected.window = 60_000;
  // templates and labels carry no timestamp: the last merged wins, and the store merges probes (not
  // reports) in order, so only nodes and DNS are compared
  const nodesAndDNS = (r: Report) => {
    const c = canonical(r) as Record<string, Record<string, unknown>>;
    const out: Record<string, unknown> = { DNS: c.DNS };
    for (const name of TOPOLOGIES) out[name] = c[name]?.nodes;
    return out;
  };
  t.deepEqual(nodesAndDNS(store.report()), nodesAndDNS(expected));
});

test('store: one report object given to two probes leaves them independent', (t) => {
  let now = FIXED_NOW;
  const store = new ReportStore({ now: () => now });
  const shared = syntheticReport({ onlyHost: 0 });
  store.add('a', shared);
  store.add('b', shared);
  now += 1000;
  const newer = syntheticReport({ onlyHost: 0, now: FIXED_NOW + 1000 });
  const host = Object.values(newer.topologies.Host!.nodes)[0]!;
  host.latest.uptime = { timestamp: FIXED_NOW + 1000, value: '99999' };
  store.add('a', newer);
  // p a now says 99999; the view merges a and b: the newest value wins
  const view = store.report().topologies.Host!.nodes[host.id]!;
  t.is(view.latest.uptime!.value, '99999');
  // the report given first is untouched
  t.not(shared.topologies.Host!.nodes[host.id]!.latest.uptime!.value, '99999');
  // b alone still has its own value: expire a, and b's node is the view's again
  now += 15_500;
  store.add('b', syntheticReport({ onlyHost: 0 })); // b reports again (same old timestamps)
  store.prune();
  t.deepEqual(canonical(store.report()), canonical(store.rebuilt()));
  t.not(store.report().topologies.Host!.nodes[host.id]!.latest.uptime!.value, '99999');
});

test('store: samples outside the window are dropped from a probe\'s metrics', (t) => {
  let now = FIXED_NOW;
  const store = new ReportStore({ windowMs: 15_000, now: () => now });
  for (let i = 0; i < 20; i++) {
    store.add('p', syntheticReport({ onlyHost: 0, now: FIXED_NOW + i * 3000 }));
    now += 3000;
  }
  const proc = Object.values(store.report().topologies.Process!.nodes)[0]!;
  const dates = proc.metrics.process_cpu_usage_percent!.samples.map((s) => s.date);
  const newest = FIXED_NOW + 19 * 3000;
  t.deepEqual(dates, [newest - 15_000, newest - 12_000, newest - 9000, newest - 6000, newest - 3000, newest]);
});

test('views: a render reuses the previous summary of an unchanged node, and diffs name only what changed', (t) => {
  let now = FIXED_NOW;
  const store = new ReportStore({ now: () => now });
  const views = new Views(store);
  store.add('p1', syntheticReport({ hosts: 2, onlyHost: 0 }));
  store.add('p2', syntheticReport({ hosts: 2, onlyHost: 1 }));
  const first = views.get('processes');
  now += 1000;
  const next = syntheticReport({ hosts: 2, onlyHost: 0, now: FIXED_NOW + 1000 });
  const changed = Object.values(next.topologies.Process!.nodes)[0]!;
  changed.latest.cmdline = { timestamp: FIXED_NOW + 1000, value: '/usr/bin/changed' };
  store.add('p1', next);
  const second = views.get('processes');
  const d = diff(first, second);
  t.deepEqual(
    d.update.map((n) => n.id),
    [changed.id],
  );
  t.deepEqual(d.add, []);
  t.deepEqual(d.remove, []);
  for (const [id, n] of second.nodes) if (id !== changed.id) t.true(n === first.nodes.get(id), `${id} is the same object`);
  // and the render equals one made from scratch
  t.deepEqual(JSON.parse(JSON.stringify([...second.nodes.values()])), JSON.parse(JSON.stringify([...renderTopology(store.report(), 'processes', defaultOptions('processes')).nodes.values()])));
});

test('store: Weave Scope full then delta report from one probe, read through the store', (t) => {
  const weave = (f: string) => decodeReport(readFileSync(new URL(`../../fixtures/weave-scope-1.13.2/${f}`, import.meta.url)));
  const store = new ReportStore();
  store.add('weave', weave('report-1.msgpack.gz'));
  store.add('weave', weave('report-2.msgpack.gz'));
  const expected = mergeReports([weave('report-1.msgpack.gz'), weave('report-2.msgpack.gz')], 'merged');
  expected.window = store.windowMs;
  t.deepEqual(canonical(store.report()), canonical(expected));
});
