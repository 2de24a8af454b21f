import test from 'ava';
import { readFileSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';
import {
  DecodeError,
  decodeMsgpack,
  decodeReport,
  encodeMsgpack,
  encodeReport,
  formatRFC3339,
  goBinaryTime,
  makeNode,
  makeReport,
  makeTopology,
  parseGoBinaryTime,
  parseRFC3339,
  reportFromValue,
  reportToJSON,
  topologyOf,
  type Report,
} from '../../images/scope/src/report/index.ts';
import { fastDecode, NOT_FAST } from '../../images/scope/src/report/fast.ts';
import { FIXED_NOW, syntheticReport } from '../../fixtures/reports/synthetic.ts';

const weave = (f: string) => readFileSync(new URL(`../../fixtures/weave-scope-1.13.2/${f}`, import.meta.url));
const fixture = (f: string) => readFileSync(new URL(`../../fixtures/reports/${f}`, import.meta.url));
const headers = JSON.parse(weave('headers.json').toString()) as Record<string, string>;

// the capture was made on 2026-11-21 around 20:41 UTC
const captureStart = Date.UTC(2026, 10, 21, 20, 0);
const captureEnd = Date.UTC(2026, 10, 21, 21, 0);

test('decodes the full report of an unmodified Weave Scope 1.13.2 probe', (t) => {
  const r = decodeReport(weave('report-1.msgpack.gz'), { contentType: headers['content-type'], contentEncoding: headers['content-encoding'] });
  t.is(r.id, '8067166051844538462');
  t.true(r.ts! > captureStart && r.ts! < captureEnd, `TS ${new Date(r.ts!).toISOString()}`);
  t.is(Math.round(r.window), 3003); // Go Duration 3003143861 ns

  const host = r.topologies.Host!.nodes['vm;<host>']!;
  t.is(host.topology, 'host');
  t.is(host.latest.host_name!.value, 'vm');
  t.is(host.latest.os!.value, 'linux');
  t.is(host.latest.host_scope_version!.value, '1.13.2');
  t.is(host.latest.control_probe_id!.value, headers['x-scope-probe-id']!);
  t.deepEqual(host.sets.local_networks, ['127.0.0.1/8', '192.0.2.2/24']);
  t.true(host.latest.host_name!.timestamp > captureStart && host.latest.host_name!.timestamp < captureEnd);
  t.is(new Date(host.latest.host_name!.timestamp).toISOString(), '2026-11-21T20:41:07.497Z');
  // the probe's own clock reading, as text, agrees with the binary timestamp next to it
  t.true(Math.abs(parseRFC3339(host.latest.ts!.value ?? '')! - host.latest.ts!.timestamp) < 1000);
  t.is(host.metrics.host_mem_usage_bytes!.samples.length, 2);

  const procs = r.topologies.Process!.nodes;
  t.deepEqual(Object.keys(procs).sort(), ['vm;1', 'vm;2']);
  t.is(procs['vm;1']!.latest.name!.value, '/home/weave/scope');
  t.is(procs['vm;2']!.latest.name!.value, 'node');
  t.is(procs['vm;2']!.latest.cmdline!.value, 'node app.mjs ');
  t.is(procs['vm;2']!.latest.ppid!.value, '1');
  t.deepEqual(procs['vm;2']!.parents.host, ['vm;<host>']);
  const cpu = procs['vm;1']!.metrics.process_cpu_usage_percent!;
  t.is(cpu.max, 200);
  for (const s of cpu.samples) t.true(s.date > captureStart && s.date < captureEnd);
  t.is(r.topologies.Process!.metadataTemplates.pid!.label, 'PID');
  t.is(r.topologies.Process!.shape, 'square');

  const endpoints = r.topologies.Endpoint!.nodes;
  t.deepEqual(Object.keys(endpoints).sort(), ['vm;127.0.0.1;57150', 'vm;127.0.0.1;57166', 'vm;127.0.0.1;8080']);
  t.deepEqual(endpoints['vm;127.0.0.1;57166']!.adjacency, ['vm;127.0.0.1;8080']);
  t.deepEqual(endpoints['vm;127.0.0.1;57150']!.adjacency, ['vm;127.0.0.1;8080']);
  t.is(endpoints['vm;127.0.0.1;8080']!.topology, 'endpoint');
  t.deepEqual(r.dns['127.0.0.1'], { forward: [], reverse: [] });
});

test('decodes the delta report: nodes without id or topology get them from their place', (t) => {
  const r = decodeReport(weave('report-2.msgpack.gz'), { contentEncoding: 'gzip' });
  t.is(r.id, '1082594127516108535');
  const p = r.topologies.Process!.nodes['vm;1']!;
  t.is(p.id, 'vm;1');
  t.is(p.topology, 'process');
  t.deepEqual(Object.keys(p.latest), []);
  t.is(p.metrics.open_files_count!.samples.length, 3);
  t.deepEqual(r.dns['127.0.0.1']!.reverse, ['localhost', 'runsc', 'vm']);
  t.is(r.topologies.Host!.nodes['vm;<host>']!.latest.uptime!.value, '955');
});

test('gzip is recognised by its magic bytes even without Content-Encoding', (t) => {
  const r = decodeReport(weave('report-1.msgpack.gz'));
  t.truthy(r.topologies.Host!.nodes['vm;<host>']);
});

test('Go binary times: parse, write, and agree with each other', (t) => {
  const bytes = Buffer.from('010000000ee293f8e21d79e6c50000', 'hex');
  const ms = parseGoBinaryTime(bytes.toString('latin1'))!;
  t.is(new Date(ms).toISOString(), '2026-11-21T20:41:06.494Z');
  const back = goBinaryTime(ms);
  t.is(back.length, 15);
  t.is(back.subarray(0, 9).toString('hex'), bytes.subarray(0, 9).toString('hex')); // version, seconds
  t.true(Math.abs(back.readInt32BE(9) - bytes.readInt32BE(9)) < 1000); // nanoseconds, kept to the microsecond
  t.is(parseGoBinaryTime(goBinaryTime(FIXED_NOW).toString('latin1')), FIXED_NOW);
  t.is(parseGoBinaryTime('short'), undefined);
  t.is(parseRFC3339('2026-11-21T20:41:07.497291902Z'), Date.UTC(2026, 10, 21, 20, 41, 7) + 497.291902);
  t.is(parseRFC3339('2026-11-21T21:41:07+01:00'), Date.UTC(2026, 10, 21, 20, 41, 7));
  t.is(parseRFC3339('yesterday'), undefined);
  t.is(formatRFC3339(Date.UTC(2026, 10, 21, 20, 41, 7) + 497.25), '2026-11-21T20:41:07.49725Z');
});

test('our encoder: msgpack and JSON fixtures decode to the same report, and both round-trip', (t) => {
  const fromMsgpack = decodeReport(fixture('world.msgpack.gz'));
  const fromJson = decodeReport(fixture('world.json'), { contentType: 'application/json' });
  t.is(reportToJSON(fromMsgpack), reportToJSON(fromJson));
  t.is(reportToJSON(fromMsgpack), reportToJSON(syntheticReport({ id: '4242' })));
  const again = decodeReport(encodeReport(fromMsgpack).body);
  t.is(reportToJSON(again), reportToJSON(fromMsgpack));
  const procs = fromMsgpack.topologies.Process!.nodes;
  t.is(Object.keys(procs).length, 12);
  t.is(procs['host-1;100']!.latest.timestamp, undefined);
  t.is(procs['host-1;100']!.latest.pid!.timestamp, FIXED_NOW);
});

test('our msgpack carries times as 15-byte strings, as Scope does', (t) => {
  const r = makeReport('7');
  const n = makeNode('h;<host>', 'host');
  n.latest.host_name = { timestamp: FIXED_NOW, value: 'h' };
  topologyOf(r, 'Host').nodes[n.id] = n;
  const raw = encodeReport(r, { gzip: false }).body;
  const i = raw.indexOf(Buffer.from('timestamp'));
  t.true(i > 0);
  t.is(raw[i + 'timestamp'.length], 0xa0 | 15); // fixstr of 15 bytes
  t.is(raw[i + 'timestamp'.length + 1], 1); // MarshalBinary version 1
});

test('non-ASCII text survives msgpack and JSON', (t) => {
  const r = makeReport('8');
  const n = makeNode('h;<host>', 'host');
  n.latest.host_name = { timestamp: FIXED_NOW, value: 'hôte-été-😀' };
  topologyOf(r, 'Host').nodes[n.id] = n;
  for (const encoding of ['msgpack', 'json'] as const) {
    const back = decodeReport(encodeReport(r, { encoding }).body, { contentType: `application/${encoding}` });
    t.is(back.topologies.Host!.nodes['h;<host>']!.latest.host_name!.value, 'hôte-été-😀');
  }
});

test('an empty report is a report', (t) => {
  for (const f of ['empty.msgpack.gz', 'empty.json']) {
    const r = decodeReport(fixture(f));
    t.is(r.id, '1');
    t.deepEqual(Object.keys(r.topologies), []);
  }
});

const bad: [string, Buffer, { contentType?: string; contentEncoding?: string }, RegExp][] = [
  ['truncated gzip', fixture('truncated.msgpack.gz'), { contentEncoding: 'gzip' }, /bad gzip data/],
  ['JSON that is not a report', fixture('not-a-report.json'), { contentType: 'application/json' }, /not a Weave Scope report/],
  ['cut-off JSON', fixture('not-json.json'), { contentType: 'application/json' }, /malformed JSON/],
  ['a timestamp that is not a time', fixture('wrong-types.json'), {}, /Process\.nodes\["vm;1"\]\.latest\.pid\.timestamp: expected a time/],
  ['adjacency that is a string', fixture('wrong-types-adjacency.msgpack.gz'), {}, /adjacency: expected a list of strings/],
  ['a msgpack list', fixture('array.msgpack'), {}, /not a Weave Scope report/],
  ['garbage', Buffer.from('hello, world'), {}, /not a Weave Scope report/],
  ['gzip claimed but absent', Buffer.from('{}'), { contentEncoding: 'gzip' }, /not gzip data/],
  ['an unknown Content-Encoding', fixture('world.msgpack.gz'), { contentEncoding: 'br' }, /unsupported Content-Encoding/],
  ['an empty body', Buffer.alloc(0), {}, /empty/],
  ['msgpack cut short', encodeReport(syntheticReport(), { gzip: false }).body.subarray(0, 500), {}, /truncated/],
  ['a node id differing from its key', Buffer.from(JSON.stringify({ Host: { nodes: { a: { id: 'b' } } } })), {}, /differs from its key/],
  ['a metric sample without a value', Buffer.from(JSON.stringify({ Host: { nodes: { a: { metrics: { m: { samples: [{ date: '2026-11-21T20:00:00Z' }] } } } } } })), {}, /value: expected a number/],
  ['a map nested too deep', gzipSync(nested(200)), {}, /nested deeper/],
  ['a map claiming more entries than bytes', Buffer.from([0xdf, 0xff, 0xff, 0xff, 0xff, 0xa1, 0x41]), {}, /truncated/],
];

function nested(depth: number): Buffer {
  let v: Record<string, unknown> = {};
  for (let i = 0; i < depth; i++) v = { Host: v };
  return encodeMsgpack(v as never);
}

for (const [name, body, opts, message] of bad) {
  test(`refuses ${name} with a DecodeError`, (t) => {
    const err = t.throws(() => decodeReport(body, opts), { instanceOf: DecodeError });
    t.regex(err!.message, message);
    t.is(err!.statusCode, 400);
  });
}

test('a gzip bomb is refused past the inflate limit with 413', (t) => {
  const err = t.throws(() => decodeReport(fixture('gzip-bomb.msgpack.gz')), { instanceOf: DecodeError });
  t.is(err!.statusCode, 413);
  t.regex(err!.message, /inflates to more than/);
});

test('the fast msgpack path reads exactly what the checked path reads, and leaves anything odd to it', (t) => {
  const withExtras = syntheticReport({ id: '77' });
  const host = withExtras.topologies.Host!.nodes['host-1;<host>']!;
  host.latestControls.host_exec = { timestamp: FIXED_NOW, value: { dead: false } };
  host.counters.restarts = 3;
  host.latest.host_name = { timestamp: FIXED_NOW, value: 'hôte-😀-with-a-name-longer-than-twenty-four-bytes' };
  withExtras.topologies.Host!.controls.host_exec = { id: 'host_exec', human: 'Exec shell', icon: 'fa fa-terminal', rank: 0 };
  const bodies = [
    gunzipSync(weave('report-1.msgpack.gz')),
    gunzipSync(weave('report-2.msgpack.gz')),
    gunzipSync(fixture('world.msgpack.gz')),
    gunzipSync(fixture('empty.msgpack.gz')),
    encodeReport(withExtras, { gzip: false }).body,
  ];
  for (const body of bodies) {
    const fast = fastDecode(body, (extras, name) => reportFromValue({ [name]: extras }, 'msgpack').topologies[name]!);
    t.not(fast, NOT_FAST);
    t.is(reportToJSON(fast as Report), reportToJSON(reportFromValue(decodeMsgpack(body), 'msgpack')));
  }
  t.is(fastDecode(gunzipSync(fixture('wrong-types-adjacency.msgpack.gz')), () => makeTopology()), NOT_FAST);
  t.is(fastDecode(fixture('array.msgpack'), () => makeTopology()), NOT_FAST);
});
