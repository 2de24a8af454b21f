/**
 * POST /api/report has a lean route of its own (body read whole, one write each way over a keep-alive pool):
 * it must still behave as the general proxy does for everything a probe or app-mapper can see.
 */
import test from 'ava';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { createHash } from 'node:crypto';
import { pino } from 'pino';
import type { Logger } from '@saas/kit';
import { waitFor } from '@saas/kit/testing';
import type { FrontendOptions } from '../../images/frontend/src/app.ts';
import { startFrontend } from './helpers.ts';
import { startEchoServer, type EchoServer, type SeenRequest } from '../helpers/echo.ts';
import { byteStream, rawRequest } from '../helpers/http.ts';

interface Rig {
  url: string;
  appMapper: EchoServer;
  close(): Promise<void>;
}


async function startRig(overrides: Partial<FrontendOptions> = {}): Promise<Rig> {
  const appMapper = await startEchoServer('app-mapper');
  const frontend = await startFrontend({ appMapperUrl: appMapper.url, ...overrides });
  return {
    url: frontend.url,
    appMapper,
    close: async () => {
      await frontend.close();
      await appMapper.close();
    },
  };
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const report = Buffer.from('a gzip msgpack report, as far as the frontend cares');
const probeHeaders = (extra: Record<string, string | number> = {}) => ({
  'content-type': 'application/msgpack',
  'content-encoding': 'gzip',
  'content-length': report.length,
  authorization: 'Scope-Probe token=tok123',
  'x-scope-probe-id': 'probe-7',
  ...extra,
});

let rig: Rig;
test.before(async () => {
  rig = await startRig();
});
test.after.always(async () => {
  await rig?.close();
});

test("app-mapper's 503 with Retry-After comes back as it is, and the report is sent once", async (t) => {
  const res = await rawRequest(rig.url, { method: 'POST', path: '/api/report', headers: probeHeaders({ 'x-echo-status': '503', 'x-test': 'starting' }), body: report });
  t.is(res.status, 503);
  t.is(res.headers['retry-after'], '7');
  t.is(res.headers['content-type'], 'application/json');
  t.is(res.json<SeenRequest>().bodySha256, sha256(report), 'the answer body is passed back too');
  t.is(rig.appMapper.seen.filter((r) => r.headers['x-test'] === 'starting').length, 1);
});

test('a report carries X-Forwarded-For/-Proto/-Host; a client-supplied X-Forwarded-For is not trusted', async (t) => {
  const res = await rawRequest(rig.url, { method: 'POST', path: '/api/report', headers: probeHeaders({ 'x-forwarded-for': '6.6.6.6', 'x-forwarded-host': 'evil' }), body: report });
  t.is(res.status, 200, res.text);
  const seen = res.json<SeenRequest>();
  t.is(seen.headers['x-forwarded-for'], '127.0.0.1');
  t.is(seen.headers['x-forwarded-proto'], 'http');
  t.is(seen.headers['x-forwarded-host'], new URL(rig.url).host);
  t.is(seen.headers['content-length'], String(report.length));
});

test('behind a trusted proxy the client chain is kept in X-Forwarded-For', async (t) => {
  const trusting = await startRig({ trustProxy: true });
  t.teardown(() => trusting.close());
  const res = await rawRequest(trusting.url, { method: 'POST', path: '/api/report', headers: probeHeaders({ 'x-forwarded-for': '203.0.113.9' }), body: report });
  t.is(res.json<SeenRequest>().headers['x-forwarded-for'], '203.0.113.9, 127.0.0.1');
});

test('the query string and anything under /api/report are forwarded as they are', async (t) => {
  for (const path of ['/api/report?stale=true', '/api/report/extra?x=1']) {
    const res = await rawRequest(rig.url, { method: 'POST', path, headers: probeHeaders(), body: report });
    t.is(res.status, 200, res.text);
    const seen = res.json<SeenRequest>();
    t.is(seen.upstream, 'app-mapper');
    t.is(seen.url, path);
    t.is(seen.bodySha256, sha256(report));
  }
});

test('other methods on /api/report still reach app-mapper', async (t) => {
  for (const method of ['GET', 'PUT', 'DELETE']) {
    const res = await rawRequest(rig.url, { method, path: '/api/report', headers: method === 'PUT' ? probeHeaders() : {}, body: method === 'PUT' ? report : undefined });
    t.is(res.status, 200, `${method}: ${res.text}`);
    t.is(res.json<SeenRequest>().method, method);
  }
});

test('hop-by-hop headers, and those the Connection header names, stay on the client side', async (t) => {
  const res = await rawRequest(rig.url, {
    method: 'POST',
    path: '/api/report',
    headers: probeHeaders({ connection: 'keep-alive, x-hop', 'x-hop': 'drop me', 'keep-alive': 'timeout=5', te: 'trailers', 'proxy-authorization': 'Basic eA==' }),
    body: report,
  });
  t.is(res.status, 200, res.text);
  const seen = res.json<SeenRequest>();
  for (const name of ['x-hop', 'keep-alive', 'te', 'proxy-authorization']) t.is(seen.headers[name], undefined, name);
  t.is(seen.headers.authorization, 'Scope-Probe token=tok123');
  t.is(seen.headers['x-scope-probe-id'], 'probe-7');
});

test('an empty report is passed on as an empty body', async (t) => {
  const res = await rawRequest(rig.url, { method: 'POST', path: '/api/report', headers: { 'content-type': 'application/msgpack', 'content-length': 0, authorization: 'Scope-Probe token=tok123' }, body: Buffer.alloc(0) });
  t.is(res.status, 200, res.text);
  t.is(res.json<SeenRequest>().bodyBytes, 0);
});

/** A plain upstream that counts the connections it was opened and answers every request with its body size. */
async function startCountingUpstream(): Promise<{ url: string; connections: () => number; requests: () => number; close: () => Promise<void> }> {
  let connections = 0;
  let requests = 0;
  const server = http.createServer((req, res) => {
    let bytes = 0;
    req.on('data', (c: Buffer) => (bytes += c.length));
    req.on('end', () => {
      requests++;
      res.writeHead(200, { 'content-type': 'text/plain' }).end(String(bytes));
    });
  });
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    connections: () => connections,
    requests: () => requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

test('reports reuse kept-alive connections to app-mapper', async (t) => {
  const upstream = await startCountingUpstream();
  const frontend = await startFrontend({ appMapperUrl: upstream.url });
  t.teardown(async () => {
    await frontend.close();
    await upstream.close();
  });
  for (let i = 0; i < 20; i++) {
    const res = await rawRequest(frontend.url, { method: 'POST', path: '/api/report', headers: probeHeaders(), body: report });
    t.is(res.text, String(report.length));
  }
  t.is(upstream.requests(), 20);
  t.is(upstream.connections(), 1, 'one connection, kept alive between reports sent one after another');
});

test('a small report limit holds: at the limit passes, one byte over is refused (declared or chunked)', async (t) => {
  const small = await startRig({ reportBodyLimit: 1000 });
  t.teardown(() => small.close());
  const at = await rawRequest(small.url, { method: 'POST', path: '/api/report', headers: { 'content-length': 1000, authorization: 'Scope-Probe token=tok123' }, body: Buffer.alloc(1000, 1) });
  t.is(at.status, 200, at.text);
  t.is(at.json<SeenRequest>().bodyBytes, 1000);
  const over = await rawRequest(small.url, { method: 'POST', path: '/api/report', headers: { 'content-length': 1001, 'x-test': 'over', authorization: 'Scope-Probe token=tok123' }, body: Buffer.alloc(1001, 1) });
  t.is(over.status, 413);
  t.deepEqual(over.json(), { errors: [{ message: 'request body is too large (the limit here is 1000 bytes)' }] });
  const chunked = await rawRequest(small.url, { method: 'POST', path: '/api/report', headers: { 'x-test': 'over', authorization: 'Scope-Probe token=tok123' }, body: byteStream(1500, 100) });
  t.is(chunked.status, 413);
  t.is(small.appMapper.seen.filter((r) => r.headers['x-test'] === 'over').length, 0, 'neither reached app-mapper');
});

test('a Content-Length over 20 MiB is refused before any of the body is sent', async (t) => {
  const { port } = new URL(rig.url);
  const socket = net.connect(Number(port), '127.0.0.1');
  t.teardown(() => socket.destroy());
  socket.write(`POST /api/report HTTP/1.1\r\nHost: x\r\nAuthorization: Scope-Probe token=tok123\r\nContent-Type: application/msgpack\r\nContent-Length: ${20 * 1024 * 1024 + 1}\r\n\r\n`);
  const head = await new Promise<string>((resolve, reject) => {
    let text = '';
    socket.on('data', (d: Buffer) => {
      text += d.toString('latin1');
      if (text.includes('\r\n\r\n')) resolve(text);
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(text));
  });
  t.regex(head, /^HTTP\/1\.1 413 /);
});

/** A logger at info whose lines the test can read. */
function capturedLogger(): { log: Logger; lines: () => { level: number; msg: string; reqId?: string; req?: { url?: string } }[] } {
  const out: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      out.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      callback();
    },
  });
  return { log: pino({ level: 'info' }, sink), lines: () => out.map((l) => JSON.parse(l) as { level: number; msg: string; reqId?: string; req?: { url?: string } }) };
}

test('reports write no access lines at info; other routes do, and a broken app-mapper answer is a warning', async (t) => {
  const captured = capturedLogger();
  // An "app-mapper" that answers with something that is not HTTP at all.
  const broken = net.createServer((socket) => {
    socket.once('data', () => socket.end('this is not HTTP\r\n\r\n'));
  });
  await new Promise<void>((resolve) => broken.listen(0, '127.0.0.1', resolve));
  const brokenUrl = `http://127.0.0.1:${(broken.address() as AddressInfo).port}`;
  const good = await startRig({ log: captured.log });
  const bad = await startFrontend({ log: captured.log, appMapperUrl: brokenUrl });
  t.teardown(async () => {
    await good.close();
    await bad.close();
    await new Promise((resolve) => broken.close(resolve));
  });

  for (let i = 0; i < 3; i++) t.is((await rawRequest(good.url, { method: 'POST', path: '/api/report', headers: probeHeaders(), body: report })).status, 200);
  const perRequest = () => captured.lines().filter((l) => l.reqId !== undefined);
  t.is(perRequest().length, 0, JSON.stringify(perRequest()));

  t.is((await rawRequest(good.url, { path: '/api/report' })).status, 200);
  t.true(captured.lines().some((l) => l.level === 30 && l.req?.url === '/api/report'), 'a GET is logged as any other request');

  const failed = await rawRequest(bad.url, { method: 'POST', path: '/api/report', headers: probeHeaders(), body: report });
  t.is(failed.status, 502);
  t.deepEqual(failed.json(), { errors: [{ message: 'app-mapper unreachable' }] });
  t.true(captured.lines().some((l) => l.level === 40 && l.msg === 'upstream request failed'));
});

test('a probe that hangs up before app-mapper answers: the request to app-mapper is given up too', async (t) => {
  let received = 0;
  let abandoned = 0;
  // An app-mapper that takes the report but never answers.
  const silent = http.createServer((req) => {
    req.resume();
    req.on('end', () => received++);
    req.socket.on('close', () => abandoned++);
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const frontend = await startFrontend({ appMapperUrl: `http://127.0.0.1:${(silent.address() as AddressInfo).port}` });
  t.teardown(async () => {
    await frontend.close();
    silent.closeAllConnections();
    await new Promise((resolve) => silent.close(resolve));
  });
  const req = http.request(`${frontend.url}/api/report`, { method: 'POST', headers: probeHeaders(), agent: false });
  req.on('error', () => undefined);
  req.end(report);
  await waitFor('app-mapper to receive the report', async () => received === 1, 30_000);
  req.destroy();
  await waitFor('the frontend to give up its request to app-mapper', async () => abandoned === 1, 30_000);
  t.is(abandoned, 1);
});
