import test from 'ava';
import fs from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import { freePort, waitFor } from '@saas/kit/testing';
import { startProbe, type ProbeEvent, type ProbeOptions, type RunningProbe } from '../../images/scope/src/probe/main.ts';
import { decodeReport, type Report } from '../../images/scope/src/report/index.ts';
import { captureLog } from './helpers.ts';

const fixtureHeaders = JSON.parse(fs.readFileSync(new URL('../../fixtures/weave-scope-1.13.2/headers.json', import.meta.url), 'utf8')) as Record<string, string>;

interface Recorded {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  report?: Report;
}

type Answer = { status: number; body?: string; headers?: Record<string, string> };

/** A real loopback HTTP server standing in for the Scope app: records every request, answers as told. */
class RecordingApp {
  requests: Recorded[] = [];
  handshake: () => Answer = () => ({ status: 200, body: JSON.stringify({ id: 'app-1', version: '1.13.2', hostname: 'test' }) });
  report: () => Answer = () => ({ status: 200, body: '' });
  onReport?: (r: Recorded) => void;
  private server: http.Server | undefined;
  private sockets = new Set<net.Socket>();

  constructor(readonly port: number) {}

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const rec: Recorded = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) };
        this.requests.push(rec);
        const answer = req.url === '/api' ? this.handshake() : this.report();
        if (req.url === '/api/report' && answer.status === 200) {
          rec.report = decodeReport(rec.body, { contentType: req.headers['content-type'], contentEncoding: req.headers['content-encoding'] });
          this.onReport?.(rec);
        }
        res.writeHead(answer.status, { 'Content-Type': 'application/json', ...answer.headers });
        res.end(answer.body ?? '');
      });
    });
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  posts(): Recorded[] {
    return this.requests.filter((r) => r.method === 'POST');
  }
}

async function setup(t: { teardown: (fn: () => Promise<void> | void) => void }, started = true) {
  const app = new RecordingApp(await freePort());
  if (started) await app.start();
  const events: ProbeEvent[] = [];
  const logs = captureLog();
  let probe: RunningProbe | undefined;
  const start = (opts: Partial<ProbeOptions> = {}): RunningProbe => {
    probe = startProbe({
      url: app.url,
      token: 'secret-token-1',
      intervalMs: 250,
      docker: false,
      kubernetes: false,
      backoff: { initialMs: 40, maxMs: 400, unauthorizedMs: 300 },
      log: logs.log,
      onEvent: (e) => events.push(e),
      ...opts,
    });
    return probe;
  };
  t.teardown(async () => {
    await probe?.stop();
    await app.stop();
  });
  return { app, events, logs, start };
}

const of = <T extends ProbeEvent['type']>(events: ProbeEvent[], type: T) => events.filter((e): e is Extract<ProbeEvent, { type: T }> => e.type === type);

test.serial('handshake first, then gzip msgpack reports every interval with exactly the headers of a Weave Scope 1.13.2 probe', async (t) => {
  const { app, start } = await setup(t);
  const probe = start();
  await waitFor('three reports', async () => app.posts().length >= 3, 30_000);

  t.is(app.requests[0]!.method, 'GET');
  t.is(app.requests[0]!.url, '/api');
  const hs = app.requests[0]!.headers;
  t.is(hs.authorization, 'Scope-Probe token=secret-token-1');
  t.is(hs['x-scope-probe-id'], probe.probeID);
  t.is(hs['x-scope-probe-version'], fixtureHeaders['x-scope-probe-version']);
  t.is(hs['user-agent'], fixtureHeaders['user-agent']);

  const posts = app.posts();
  for (const p of posts) {
    t.is(p.url, '/api/report');
    t.deepEqual(Object.keys(p.headers).sort(), Object.keys(fixtureHeaders).sort(), 'the same header names as Weave Scope');
    for (const name of ['user-agent', 'content-encoding', 'content-type', 'x-scope-probe-version', 'accept-encoding', 'connection']) {
      t.is(p.headers[name], fixtureHeaders[name], name);
    }
    t.is(p.headers.authorization, 'Scope-Probe token=secret-token-1');
    t.is(p.headers['x-scope-probe-id'], probe.probeID);
    t.regex(probe.probeID, /^[0-9a-f]{1,16}$/);
    t.is(Number(p.headers['content-length']), p.body.length);
    t.is(p.body[0], 0x1f, 'gzip');
    t.is(p.body[1], 0x8b, 'gzip');
  }
  const report = posts[0]!.report!;
  t.is(report.window, 250);
  t.regex(report.id, /^\d+$/);
  t.truthy(report.topologies.Host!.nodes[`${probe.hostID};<host>`]);
  t.truthy(report.topologies.Process!.nodes[`${probe.hostID};${process.pid}`], 'a full report, with this process in it');
  t.is(new Set(posts.map((p) => p.report!.id)).size, posts.length, 'a new report each interval');
});

test.serial('the handshake is retried until GET /api answers an id, and nothing is published before', async (t) => {
  const { app, events, start } = await setup(t);
  let calls = 0;
  app.handshake = () => (++calls < 3 ? { status: 200, body: '{"version":"x"}' } : { status: 200, body: '{"id":"late-app"}' });
  start();
  await waitFor('a report', async () => app.posts().length >= 1, 30_000);
  const firstPost = app.requests.findIndex((r) => r.method === 'POST');
  t.is(app.requests.slice(0, firstPost).filter((r) => r.url === '/api').length, 3);
  const failed = of(events, 'handshake-failed');
  t.is(failed.length, 2);
  t.is(failed[0]!.reason, 'bad-handshake');
  t.deepEqual(of(events, 'handshake').map((e) => e.appID), ['late-app']);
});

test.serial('with the service down the probe backs off exponentially (with jitter, capped), then recovers when it comes up', async (t) => {
  const { app, events, start } = await setup(t, false);
  start();
  await waitFor('six failed handshakes', async () => of(events, 'handshake-failed').length >= 6, 30_000);
  const delays = of(events, 'handshake-failed').map((e) => e.retryInMs);
  t.true(of(events, 'handshake-failed').every((e) => e.reason === 'unreachable'));
  // attempt n waits between half and all of min(400, 40·2^(n-1)) ms
  delays.slice(0, 6).forEach((d, i) => {
    const exp = Math.min(400, 40 * 2 ** i);
    t.true(d >= exp / 2 && d <= exp, `retry ${i + 1}: ${d} ms within [${exp / 2}, ${exp}]`);
  });
  t.true(delays[5]! > delays[0]!, 'the waits grow');

  await app.start();
  await waitFor('a report after recovery', async () => app.posts().length >= 1, 30_000);
  t.is(of(events, 'handshake').length, 1);

  // Down again while publishing: publishes fail, then resume without a new process.
  const before = app.posts().length;
  await app.stop();
  await waitFor('a failed publish', async () => of(events, 'publish-failed').length >= 2, 30_000);
  t.true(of(events, 'publish-failed').every((e) => e.reason === 'unreachable'));
  await app.start();
  await waitFor('reports again', async () => app.posts().length >= before + 2, 30_000);
  t.pass();
});

test.serial('a 503 with Retry-After (app starting) is honoured, then publishing goes on', async (t) => {
  const { app, events, start } = await setup(t);
  let n = 0;
  app.report = () => (++n <= 2 ? { status: 503, body: '{"errors":[{"message":"app starting"}]}', headers: { 'Retry-After': '1' } } : { status: 200 });
  start();
  await waitFor('a report accepted', async () => of(events, 'published').length >= 1, 30_000);
  const failed = of(events, 'publish-failed');
  t.is(failed.length, 2);
  for (const f of failed) {
    t.is(f.reason, 'unavailable');
    t.is(f.status, 503);
    t.is(f.retryInMs, 1000, 'waits what Retry-After says');
    t.regex(f.message, /app starting/);
  }
});

test.serial('a 401 is logged as a rejected token and retried slowly until the token is accepted', async (t) => {
  const { app, events, logs, start } = await setup(t);
  let accept = false;
  app.report = () => (accept ? { status: 200 } : { status: 401, body: '{"errors":[{"message":"unknown probe token"}]}' });
  start();
  await waitFor('two rejections', async () => of(events, 'publish-failed').length >= 2, 30_000);
  const failed = of(events, 'publish-failed');
  for (const f of failed) {
    t.is(f.reason, 'unauthorized');
    t.is(f.status, 401);
    t.true(f.retryInMs >= 300, `slow retry: ${f.retryInMs} ms`);
  }
  const errors = logs.lines.filter((l) => l.level === 'error');
  t.true(errors.some((l) => /token rejected/.test(l.msg) && /SCOPE_TOKEN/.test(l.msg)), errors.map((l) => l.msg).join('\n'));
  accept = true;
  await waitFor('accepted', async () => of(events, 'published').length >= 1, 30_000);
  t.pass();
});

test.serial('reports that cannot be sent are dropped, never queued: each one delivered is the newest scan', async (t) => {
  const { app, events, start } = await setup(t);
  let down = true;
  app.report = () => (down ? { status: 502, body: 'bad gateway' } : { status: 200 });
  const delivered: string[] = [];
  const newestAtDelivery: string[] = [];
  app.onReport = (r) => {
    delivered.push(r.report!.id);
    newestAtDelivery.push(of(events, 'scan').at(-1)!.reportID);
  };
  start();
  await waitFor('five failed publishes', async () => of(events, 'publish-failed').length >= 5, 30_000);
  down = false;
  await waitFor('three delivered', async () => delivered.length >= 3, 30_000);
  const failedIDs = new Set(of(events, 'publish-failed').map((e) => e.reportID));
  t.deepEqual(delivered, newestAtDelivery, 'each delivered report is the latest scan');
  t.true(delivered.every((id) => !failedIDs.has(id)), 'no failed report is sent later');
  t.true(of(events, 'publish-failed').every((e) => e.reason === 'unavailable' && e.status === 502));
});

test.serial('stop() ends the loop promptly, even mid-backoff, and nothing is sent afterwards', async (t) => {
  const { app, events, start } = await setup(t);
  app.report = () => ({ status: 500 });
  const probe = start({ backoff: { initialMs: 60_000, maxMs: 60_000 } });
  await waitFor('a failure', async () => of(events, 'publish-failed').length >= 1, 30_000);
  await probe.stop();
  t.is(events.at(-1)!.type, 'stopped');
  const count = app.requests.length;
  await new Promise((r) => setTimeout(r, 300));
  t.is(app.requests.length, count);
});

test.serial('startProbe refuses a bad URL or an empty token with a readable error, before doing anything', (t) => {
  t.throws(() => startProbe({ url: 'localhost:4040', token: 't', docker: false, kubernetes: false }), { message: /must be http:\/\/ or https:\/\// });
  t.throws(() => startProbe({ url: 'not a url', token: 't', docker: false, kubernetes: false }), { message: /not a URL/ });
  t.throws(() => startProbe({ url: 'http://127.0.0.1:1', token: '', docker: false, kubernetes: false }), { message: /token is required/ });
});
