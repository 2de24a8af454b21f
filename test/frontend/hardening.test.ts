/**
 * The frontend against clients that misbehave (issue 15): a report is refused before its body is read when its
 * credential has the wrong form, streams on when it has the right one, and all reports in flight hold a bounded
 * number of bytes; Expect: 100-continue and Connection: close work on every proxied route and no upstream's
 * hop-by-hop headers come through; a refused websocket is the upstream's own answer (401), never a 101.
 */
import test from 'ava';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import WebSocket from 'ws';
import { waitFor } from '@saas/kit/testing';
import { startFrontend, type RunningFrontend } from './helpers.ts';
import { startEchoServer, type EchoServer, type SeenRequest } from '../helpers/echo.ts';
import { sendRaw } from '../helpers/net.ts';



/** An app-mapper stand-in that counts report bytes as they arrive, answers with the total, and refuses websockets with 401. */
async function startReportSink() {
  let arrived = 0;
  const server = http.createServer((req, res) => {
    let bytes = 0;
    req.on('data', (c: Buffer) => {
      bytes += c.length;
      arrived += c.length;
    });
    req.on('end', () => res.writeHead(200, { 'content-type': 'text/plain' }).end(String(bytes)));
  });
  server.on('upgrade', (_req, socket: net.Socket) => {
    const body = JSON.stringify({ errors: [{ message: 'not authorised for this organisation' }] });
    socket.end(`HTTP/1.1 401 Unauthorized\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    arrived: () => arrived,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

const MB = 1024 * 1024;
const reportHead = (length: number, authorization?: string) =>
  `POST /api/report HTTP/1.1\r\nHost: x\r\nContent-Type: application/msgpack\r\nX-Scope-Probe-ID: p1\r\n${authorization ? `Authorization: ${authorization}\r\n` : ''}Content-Length: ${length}\r\n\r\n`;
const message = (body: string) => (JSON.parse(body) as { errors: { message: string }[] }).errors[0]?.message ?? '';

let sink: Awaited<ReturnType<typeof startReportSink>>;
let echo: EchoServer;
let frontend: RunningFrontend;
test.before(async () => {
  sink = await startReportSink();
  echo = await startEchoServer('upstream');
  frontend = await startFrontend({ appMapperUrl: sink.url, usersUrl: echo.url, uiServerUrl: echo.url });
});
test.after.always(async () => {
  await frontend?.close();
  await sink?.close();
  await echo?.close();
});

for (const [what, authorization, expected] of [
  ['no Authorization header', undefined, /missing Authorization header \(Scope-Probe token=<probe token>\)/],
  ['a malformed Authorization header', 'Bearer abc', /malformed Authorization header; expected Scope-Probe token=<probe token>/],
] as const) {
  test.serial(`a 17 MB report with ${what} is refused with 401 before its body is sent`, async (t) => {
    const before = sink.arrived();
    // Only the headers go out: the answer must not wait for a body.
    const answer = await sendRaw(frontend.port, reportHead(17 * MB, authorization), { waitMs: 5000 });
    t.is(answer.status, 401, answer.text);
    t.regex(message(answer.body), expected);
    t.is(sink.arrived(), before, 'nothing reached app-mapper');
  });
}

test.serial('a report streams on to app-mapper as it arrives, not once it is whole', async (t) => {
  const socket = net.connect(frontend.port, '127.0.0.1');
  t.teardown(() => socket.destroy());
  let answer = '';
  socket.on('data', (d: Buffer) => (answer += d.toString()));
  const half = Buffer.alloc(MB, 7);
  const before = sink.arrived();
  socket.write(reportHead(2 * MB, 'Scope-Probe token=tok123'));
  socket.write(half);
  await waitFor('the first half to reach app-mapper', async () => sink.arrived() > before, 10_000, 20);
  socket.write(half);
  await waitFor('the answer', async () => /\r\n\r\n\d+$/.test(answer), 10_000, 20);
  t.regex(answer, /^HTTP\/1\.1 200/);
  t.true(answer.endsWith(`\r\n\r\n${2 * MB}`), answer);
});

test.serial('reports in flight hold at most their byte budget: one more gets 503 with Retry-After, and passes once there is room', async (t) => {
  const small = await startFrontend({ appMapperUrl: sink.url, reportBytesInFlight: MB });
  t.teardown(() => small.close());
  const first = net.connect(small.port, '127.0.0.1');
  t.teardown(() => first.destroy());
  let firstAnswer = '';
  first.on('data', (d: Buffer) => (firstAnswer += d.toString()));
  first.write(reportHead(700 * 1024, 'Scope-Probe token=tok123'));
  first.write(Buffer.alloc(1000, 1));
  const before = sink.arrived();
  await waitFor('the first report to be under way', async () => sink.arrived() >= before, 10_000, 20);

  const second = Buffer.concat([Buffer.from(reportHead(700 * 1024, 'Scope-Probe token=tok123')), Buffer.alloc(700 * 1024, 2)]);
  const refused = await sendRaw(small.port, second, { waitMs: 5000 });
  t.is(refused.status, 503, refused.text);
  t.is(refused.headers['retry-after'], '1');
  t.regex(message(refused.body), /too many reports in flight/);

  first.write(Buffer.alloc(700 * 1024 - 1000, 1));
  await waitFor('the first answer', async () => firstAnswer.includes('\r\n\r\n'), 10_000, 20);
  t.regex(firstAnswer, /^HTTP\/1\.1 200/);
  const again = await sendRaw(small.port, second.toString('latin1').replace('Host: x\r\n', 'Host: x\r\nConnection: close\r\n'), { waitMs: 5000 });
  t.is(again.status, 200, again.text);
});

test('Expect: 100-continue works through the general proxy (users), not a 502', async (t) => {
  const body = JSON.stringify({ email: 'e@example.com' });
  const answer = await sendRaw(
    frontend.port,
    `POST /api/users/signup HTTP/1.1\r\nHost: x\r\nConnection: close\r\nExpect: 100-continue\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
  );
  t.regex(answer.text, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200/);
  t.is(answer.status, 200);
  const seen = JSON.parse(answer.body) as SeenRequest;
  t.is(seen.upstream, 'upstream');
  t.is(seen.bodyBytes, body.length);
  t.is(seen.headers.expect, undefined);
});

for (const path of ['/', '/api/users/lookup']) {
  test(`Connection: close on ${path} is answered with Connection: close and the socket closes; no upstream hop-by-hop header comes through`, async (t) => {
    const answer = await sendRaw(frontend.port, `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`, { waitMs: 5000 });
    t.is(answer.status, 200, answer.text);
    t.true(answer.closed, 'the frontend closed the connection');
    t.is(answer.headers.connection, 'close');
    t.is(answer.headers['keep-alive'], undefined);
  });

  test(`HTTP/1.0 on ${path} closes after the answer`, async (t) => {
    const answer = await sendRaw(frontend.port, `GET ${path} HTTP/1.0\r\nHost: x\r\n\r\n`, { waitMs: 5000 });
    t.is(answer.status, 200, answer.text);
    t.true(answer.closed);
    t.is(answer.headers['keep-alive'], undefined);
  });
}

test('a kept-alive answer carries the frontend\'s own keep-alive, not the upstream\'s', async (t) => {
  const answer = await sendRaw(frontend.port, 'GET /api/users/lookup HTTP/1.1\r\nHost: x\r\n\r\n', { waitMs: 1000 });
  t.is(answer.status, 200);
  t.false(answer.closed);
  t.not(answer.headers['keep-alive'], 'timeout=5', "the upstream's (Node's default) Keep-Alive");
});

for (const path of ['/api/app/orgb/api/topology/hosts/ws', '/api/control/ws']) {
  test(`a websocket app-mapper refuses at ${path} gets its 401, never a 101`, async (t) => {
    const ws = new WebSocket(`ws://127.0.0.1:${frontend.port}${path}`);
    const refused = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      ws.on('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      ws.on('open', () => reject(new Error('the websocket was accepted')));
      ws.on('error', () => undefined);
    });
    t.is(refused.status, 401);
    t.is(message(refused.body), 'not authorised for this organisation');
  });
}

test('a query holding ../ is passed on, not refused as "invalid characters"', async (t) => {
  const answer = await sendRaw(frontend.port, 'GET /api/users/lookup?next=../dashboard HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  t.is(answer.status, 200, answer.text);
  t.is((JSON.parse(answer.body) as SeenRequest).url, '/api/users/lookup?next=../dashboard');
});
