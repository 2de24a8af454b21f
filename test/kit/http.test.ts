/**
 * The kit's HTTP server on loopback, spoken to byte by byte: whatever a client gets wrong, down to what Node's
 * own parser refuses, it gets the house error body with a sentence a person understands, and a request that
 * trickles in is cut off.
 */
import test from 'ava';
import type { AddressInfo } from 'node:net';
import { createHttpServer, createLogger, defaultTimeouts } from '@saas/kit';
import { sendRaw, type WireAnswer } from '../helpers/net.ts';

let port: number;
const { app } = createHttpServer({ logger: createLogger('kit-test', 'silent'), timeouts: { requestMs: 1500, headersMs: 1000, checkEveryMs: 250 } });
app.post('/echo', async (request) => ({ got: request.body ?? null }));
app.get('/hello', async () => ({ hello: 'world' }));

test.before(async () => {
  await app.listen({ port: 0, host: '127.0.0.1' });
  port = (app.server.address() as AddressInfo).port;
});
test.after.always(() => app.close());

function houseError(t: { is: (a: unknown, b: unknown, m?: string) => void; regex: (a: string, r: RegExp, m?: string) => void }, answer: WireAnswer, status: number, message: RegExp): void {
  t.is(answer.status, status, answer.text);
  t.regex(answer.headers['content-type'] ?? '', /^application\/json/);
  const body = JSON.parse(answer.body) as { errors?: { message: string }[] };
  t.is(body.errors?.length, 1, answer.body);
  t.regex(body.errors?.[0]?.message ?? '', message);
}

const cases: [string, string, number, RegExp][] = [
  ['Content-Length: abc', 'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n', 400, /Content-Length header must be one whole number/],
  ['Content-Length: -1', 'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n', 400, /Content-Length header must be one whole number/],
  ['a garbage request line', 'HELLO THERE\r\n\r\n', 400, /request line is not valid HTTP/],
  ['a backslash path', 'GET \\private\\api\\users HTTP/1.1\r\nHost: x\r\n\r\n', 400, /not a valid URL path/],
  ['no Host header', 'GET /hello HTTP/1.1\r\nConnection: close\r\n\r\n', 400, /Host header is missing/],
  ['a 100 KB URL', `GET /hello?${'a'.repeat(100_000)} HTTP/1.1\r\nHost: x\r\n\r\n`, 431, /request line and headers are too large \(at most 16384 bytes/],
  ['a 20 KB header', `GET /hello HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(20_000)}\r\n\r\n`, 431, /too large/],
  ['CONNECT', 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n', 405, /CONNECT is not supported/],
];
for (const [what, request, status, message] of cases) {
  test(`${what} gets ${status} in the house format`, async (t) => {
    houseError(t, await sendRaw(port, request), status, message);
  });
}

const json = (body: string) => `POST /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;

test('valid JSON holding __proto__ is refused for what it is, not as "malformed JSON"', async (t) => {
  houseError(t, await sendRaw(port, json('{"__proto__": {"admin": true}, "email": "e@example.com"}')), 400, /may not use the key __proto__/);
  houseError(t, await sendRaw(port, json('{"constructor": {"prototype": {"admin": true}}}')), 400, /may not use the key constructor\.prototype/);
});

test('malformed JSON says it is not JSON; an empty JSON body is no body; good JSON passes', async (t) => {
  houseError(t, await sendRaw(port, json('{"email": ')), 400, /malformed JSON body/);
  const empty = await sendRaw(port, json(''));
  t.is(empty.status, 200, empty.text);
  t.deepEqual(JSON.parse(empty.body), { got: null });
  const good = await sendRaw(port, json('{"constructor": "fine", "a": [1]}'));
  t.deepEqual(JSON.parse(good.body), { got: { constructor: 'fine', a: [1] } });
});

test('a body that trickles in a byte at a time gets 408 and the connection is closed', async (t) => {
  const answer = await sendRaw(port, 'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n', {
    trickle: { everyMs: 200 },
    waitMs: 8000,
  });
  t.true(answer.closed, 'the server hung up');
  houseError(t, answer, 408, /did not arrive in time/);
});

test('headers that trickle in are cut off too', async (t) => {
  const answer = await sendRaw(port, 'GET /hello HTTP/1.1\r\nHost: x\r\nX-Slow: ', { trickle: { everyMs: 200 }, waitMs: 8000 });
  t.true(answer.closed);
  houseError(t, answer, 408, /did not arrive in time/);
});

test('every service gets request, header and body timeouts by default', (t) => {
  const { app: fresh } = createHttpServer({ logger: createLogger('kit-test', 'silent') });
  t.is(fresh.server.requestTimeout, defaultTimeouts.requestMs);
  t.is(fresh.server.headersTimeout, defaultTimeouts.headersMs);
  t.true(defaultTimeouts.requestMs > 0 && defaultTimeouts.requestMs <= 120_000);
});
