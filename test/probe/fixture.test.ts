import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import { decodeReport, type Node, type Report, type TopologyName } from '../../images/scope/src/report/index.ts';
import { procScanner } from './helpers.ts';

// What an unmodified Weave Scope 1.13.2 probe sent (fixtures/weave-scope-1.13.2), against what ours sends.
const weave = decodeReport(fs.readFileSync(new URL('../../fixtures/weave-scope-1.13.2/report-1.msgpack.gz', import.meta.url)));
const hostName = os.hostname();

async function ourFirstReport(): Promise<Report> {
  const s = procScanner();
  await s.prime(); // as the probe does while it waits for the handshake
  return (await s.scan()).report;
}

const keysOf = (nodes: Node[], part: 'latest' | 'metrics' | 'sets' | 'parents'): string[] => [...new Set(nodes.flatMap((n) => Object.keys(n[part])))].sort();

test('our first report carries what Weave Scope 1.13.2’s first report carries for hosts and processes', async (t) => {
  const ours = await ourFirstReport();

  for (const name of ['Process', 'Host', 'Container', 'ContainerImage', 'Pod'] as TopologyName[]) {
    const w = weave.topologies[name]!;
    const o = ours.topologies[name]!;
    t.is(o.shape, w.shape, `${name} shape`);
    t.is(o.label, w.label, `${name} label`);
    t.is(o.labelPlural, w.labelPlural, `${name} plural`);
  }
  for (const name of ['Process', 'Host'] as TopologyName[]) {
    t.deepEqual(ours.topologies[name]!.metadataTemplates, weave.topologies[name]!.metadataTemplates, `${name} metadata templates`);
    t.deepEqual(ours.topologies[name]!.metricTemplates, weave.topologies[name]!.metricTemplates, `${name} metric templates`);
  }

  const weaveProcesses = Object.values(weave.topologies.Process!.nodes);
  const self = ours.topologies.Process!.nodes[`${hostName};${process.pid}`]!;
  t.deepEqual(keysOf([self], 'latest'), keysOf(weaveProcesses, 'latest'), 'process latest keys');
  t.deepEqual(keysOf([self], 'metrics'), keysOf(weaveProcesses, 'metrics'), 'process metrics, CPU included from the first report');
  t.deepEqual(keysOf([self], 'parents'), keysOf(weaveProcesses, 'parents'));

  const weaveHost = Object.values(weave.topologies.Host!.nodes);
  const host = ours.topologies.Host!.nodes[`${hostName};<host>`]!;
  // active_controls names the host's exec control; this probe offers no controls.
  t.deepEqual(keysOf([host], 'latest'), keysOf(weaveHost, 'latest').filter((k) => k !== 'active_controls'), 'host latest keys');
  t.deepEqual(keysOf([host], 'metrics'), keysOf(weaveHost, 'metrics'), 'host metrics, CPU included from the first report');
  t.deepEqual(keysOf([host], 'sets'), keysOf(weaveHost, 'sets'));
  t.deepEqual(host.parents, { host: [host.id] }, 'a host is its own host parent, as in Weave’s report');
  t.regex(host.latest.ts!.value, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);

  const weaveProc = weaveProcesses[0]!;
  t.is(weaveProc.metrics.process_memory_usage_bytes!.max, self.metrics.process_memory_usage_bytes!.max, 'RSS ceiling: the unlimited rlimit');
  // Endpoint ids: loopback addresses scoped by the host id, as `vm;127.0.0.1;8080` in Weave's report.
  t.true(Object.keys(weave.topologies.Endpoint!.nodes).every((id) => /^vm;127\.0\.0\.1;\d+$/.test(id)));
  t.true(
    Object.keys(ours.topologies.Endpoint!.nodes)
      .filter((id) => id.includes(';127.0.0.1;'))
      .every((id) => new RegExp(`^${hostName}(-\\d+)?;127\\.0\\.0\\.1;\\d+$`).test(id)),
  );
});
