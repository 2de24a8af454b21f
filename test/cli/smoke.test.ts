import test from 'ava';
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import { startMaildev, freePort } from '@saas/kit/testing';
import type { EngineEvent } from '../../cluster/events.ts';
import { findLoginLink, runSmoke } from '../../cluster/smoke/flow.ts';

/** A real loopback server standing in for the frontend, answering the sign-up as told. */
async function frontendAnswering(status: number, body: string, onRequest?: (path: string) => void): Promise<{ url: string; close: () => Promise<void>; paths: string[] }> {
  const paths: string[] = [];
  const server = http.createServer((req, res) => {
    paths.push(`${req.method} ${req.url}`);
    onRequest?.(`${req.method} ${req.url}`);
    req.resume();
    req.on('end', () => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(body);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    paths,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

test('smoke flow: a refused sign-up stops the flow with status, body and the log lines that matter', async (t) => {
  const frontend = await frontendAnswering(500, '{"errors":[{"message":"database is down"}]}');
  t.teardown(() => frontend.close());
  const events: EngineEvent[] = [];
  const asked: string[] = [];
  const result = await runSmoke({
    endpoints: { frontend: frontend.url, users: `http://127.0.0.1:${await freePort()}`, mail: `http://127.0.0.1:${await freePort()}` },
    emit: (e) => events.push(e),
    logs: async (service, n) => {
      asked.push(service);
      return [`${service} line 1 of ${n}`];
    },
    email: 'dev-test+fixed@example.com',
    startProbe: () => t.fail('no probe may start when the flow failed before') as never,
  });
  t.false(result.ok);
  t.is(result.email, 'dev-test+fixed@example.com');
  t.is(result.failure?.step, 'test/signup');
  t.is(frontend.paths[0], 'POST /api/users/signup');
  const d = result.failure!.diagnosis;
  t.is(d.summary, 'the frontend refused the sign-up');
  t.regex(d.expected ?? '', /2xx from POST \/api\/users\/signup/);
  t.regex(d.actual ?? '', /^500 from http:\/\/127\.0\.0\.1:\d+\/api\/users\/signup\n\{"errors":\[\{"message":"database is down"\}\]\}/);
  t.deepEqual(asked, ['frontend', 'users']);
  t.deepEqual(d.logs, [
    { source: 'frontend', lines: ['frontend line 1 of 20'] },
    { source: 'users', lines: ['users line 1 of 20'] },
  ]);
  t.deepEqual(events.map((e) => e.type), ['started', 'failed']);
  t.deepEqual(result.steps.map((s) => [s.step, s.ok]), [['test/signup', false]]);
});

test('smoke flow: no welcome mail in the real mail capture is reported with what did arrive', async (t) => {
  const frontend = await frontendAnswering(201, '{}');
  const mail = await startMaildev();
  t.teardown(async () => {
    await frontend.close();
    await mail.stop();
  });
  const result = await runSmoke({
    endpoints: { frontend: frontend.url, users: 'http://127.0.0.1:1', mail: mail.webUrl },
    emit: () => {},
    mailTimeoutMs: 800,
  });
  t.false(result.ok);
  t.deepEqual(result.steps.map((s) => [s.step, s.ok]), [['test/signup', true], ['test/welcome-mail', false]]);
  t.regex(result.failure!.diagnosis.summary, /^no welcome mail for dev-test\+[0-9a-f]{10}@example\.com after 0\.8 s$/);
  t.regex(result.failure!.diagnosis.actual ?? '', /no mail to dev-test\+.*@example\.com at all/);
  t.regex(result.failure!.diagnosis.hint ?? '', /SMTP_URL/);
});

test('smoke flow: an unreachable frontend names the address and the connection error', async (t) => {
  const url = `http://127.0.0.1:${await freePort()}`;
  const result = await runSmoke({ endpoints: { frontend: url, users: url, mail: url }, emit: () => {} });
  t.false(result.ok);
  t.regex(result.failure!.diagnosis.summary, /^POST http:\/\/127\.0\.0\.1:\d+\/api\/users\/signup failed: ECONNREFUSED$/);
  t.regex(result.failure!.diagnosis.hint ?? '', /dev logs frontend/);
});

test('login links are found in text or HTML, whatever host they name', (t) => {
  const text = findLoginLink({ id: '1', text: 'Log in: http://frontend.default.svc.cluster.local/login?email=a%40b.c&token=abc123\nThanks' });
  t.is(text?.pathname, '/login');
  t.is(text?.searchParams.get('token'), 'abc123');
  const html = findLoginLink({ id: '2', html: '<a href="http://x:8080/login?email=a%40b.c&amp;token=t0k">log in</a>' });
  t.is(html?.search, '?email=a%40b.c&token=t0k');
  t.is(findLoginLink({ id: '3', text: 'you are on the list: http://x/login' }), undefined);
});

test('smoke flow: Ctrl-C (an aborted signal) ends the flow as interrupted, without waiting out the timeout', async (t) => {
  const controller = new AbortController();
  // Accepts the sign-up; as the mail capture, lists no mail — and the user presses Ctrl-C once it is polled.
  const server = await frontendAnswering(200, '[]', (p) => p === 'GET /email' && controller.abort());
  t.teardown(() => server.close());
  const result = await runSmoke({ endpoints: { frontend: server.url, users: server.url, mail: server.url }, emit: () => {}, signal: controller.signal, mailTimeoutMs: 60_000 });
  t.false(result.ok);
  t.is(result.failure?.step, 'test/welcome-mail');
  t.is(result.failure?.diagnosis.summary, 'interrupted');
  t.deepEqual(server.paths, ['POST /api/users/signup', 'GET /email']);
});
