import test from 'ava';
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import type { Duplex } from 'node:stream';
import { freePort } from '@saas/kit/testing';
import { startConnectProxy, type ConnectProxy } from '../../cluster/connect/proxy.ts';

interface Seen {
  method: string;
  url: string;
  host: string;
  proxyHeader: boolean;
  body: string;
}

/** A real loopback HTTP server standing for one service; it records what reached it. */
async function target(name: string): Promise<{ url: string; seen: Seen[]; close: () => Promise<void> }> {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, host: req.headers.host ?? '', proxyHeader: 'proxy-connection' in req.headers, body });
      res.writeHead(200, { 'content-type': 'text/plain', 'x-service': name });
      res.end(`${name} ${req.method} ${req.url}`);
    });
  });
  const upgraded = new Set<Duplex>();
  server.on('upgrade', (req, socket) => {
    upgraded.add(socket);
    socket.on('close', () => upgraded.delete(socket));
    socket.on('end', () => socket.destroy());
    socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n');
    socket.on('data', (d: Buffer) => socket.write(`${name}:${d}`));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise((resolve) => {
        for (const s of upgraded) s.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A request through the proxy, as a browser set to use it sends one: absolute URL in the request line. */
function viaProxy(proxy: ConnectProxy, url: string, method = 'GET', body?: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: proxy.port, method, path: url, headers: { host: new URL(url).host, 'proxy-connection': 'keep-alive' } }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function connectThrough(proxy: ConnectProxy, authority: string): Promise<{ status: number; socket: net.Socket; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: proxy.port, method: 'CONNECT', path: authority });
    req.on('connect', (res, socket: net.Socket) => resolve({ status: res.statusCode!, socket, text: '' }));
    req.on('response', (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, socket: res.socket as net.Socket, text }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('connect proxy: in-cluster names reach their services; other hosts are refused', async (t) => {
  const frontend = await target('frontend');
  const users = await target('users');
  const mail = await target('mail');
  const proxy = await startConnectProxy({ endpoints: { frontend: frontend.url, users: users.url, mail: mail.url }, port: 0 });
  t.teardown(async () => {
    await proxy.close();
    await Promise.all([frontend.close(), users.close(), mail.close()]);
  });
  t.regex(proxy.url, /^http:\/\/127\.0\.0\.1:\d+$/);

  const a = await viaProxy(proxy, 'http://frontend.default.svc.cluster.local/login?email=a%40b.c&token=x');
  t.is(a.status, 200);
  t.is(a.body, 'frontend GET /login?email=a%40b.c&token=x');
  t.is(frontend.seen[0]!.host, 'frontend.default.svc.cluster.local');
  t.false(frontend.seen[0]!.proxyHeader, 'hop-by-hop proxy headers are not forwarded');

  const b = await viaProxy(proxy, 'http://users/private/admin');
  t.is(b.body, 'users GET /private/admin');
  const c = await viaProxy(proxy, 'http://mailcatcher.default:1080/email', 'POST', 'hello');
  t.is(c.body, 'mail POST /email');
  t.is(mail.seen[0]!.body, 'hello');
  t.is(c.headers['x-service'], 'mail');

  const refused = await viaProxy(proxy, 'http://example.com/');
  t.is(refused.status, 403);
  t.regex(refused.body, /example\.com.*is not one of the services/s);
  t.regex(refused.body, /frontend\.default\.svc\.cluster\.local/);
  const ip = await viaProxy(proxy, 'http://127.0.0.1:22/');
  t.is(ip.status, 403);

  const info = await fetch(proxy.url);
  t.is(info.status, 200);
  t.regex(await info.text(), /This is a proxy for your browser/);
  t.is(frontend.seen.length + users.seen.length + mail.seen.length, 3, 'nothing refused reached a service');
});

test('connect proxy: CONNECT tunnels to a known service and is refused for others', async (t) => {
  const frontend = await target('frontend');
  const proxy = await startConnectProxy({ endpoints: { frontend: frontend.url, users: frontend.url, mail: frontend.url }, port: 0 });
  t.teardown(async () => {
    await proxy.close();
    await frontend.close();
  });

  const ok = await connectThrough(proxy, 'frontend.default.svc.cluster.local:80');
  t.is(ok.status, 200);
  ok.socket.write('GET /api/topology/hosts/ws HTTP/1.1\r\nHost: frontend\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n');
  let text = '';
  ok.socket.on('data', (d: Buffer) => {
    text += d;
    if (text.includes('\r\n\r\n') && !text.includes('ping')) ok.socket.write('ping');
  });
  const deadline = Date.now() + 10_000;
  while (!text.includes('frontend:ping') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  t.regex(text, /^HTTP\/1\.1 101/);
  t.true(text.includes('frontend:ping'), 'bytes flow both ways through the tunnel');
  ok.socket.destroy();

  const no = await connectThrough(proxy, 'example.com:443');
  t.is(no.status, 403);
  no.socket.destroy();
});

test('connect proxy: a service that is down gives a 502 page naming it', async (t) => {
  const down = `http://127.0.0.1:${await freePort()}`;
  const proxy = await startConnectProxy({ endpoints: { frontend: down, users: down, mail: down }, port: 0 });
  t.teardown(() => proxy.close());
  const r = await viaProxy(proxy, 'http://users.default.svc.cluster.local/');
  t.is(r.status, 502);
  t.regex(r.body, /users is not answering/);
  t.regex(r.body, /ECONNREFUSED/);
});

test('connect proxy: only listens on loopback, and a taken port fails clearly', async (t) => {
  await t.throwsAsync(startConnectProxy({ endpoints: { frontend: 'http://127.0.0.1:1', users: 'http://127.0.0.1:1', mail: 'http://127.0.0.1:1' }, host: '0.0.0.0' }), { message: /loopback only/ });
  const first = await startConnectProxy({ endpoints: { frontend: 'http://127.0.0.1:1', users: 'http://127.0.0.1:1', mail: 'http://127.0.0.1:1' }, port: 0 });
  t.teardown(() => first.close());
  await t.throwsAsync(startConnectProxy({ endpoints: { frontend: 'http://127.0.0.1:1', users: 'http://127.0.0.1:1', mail: 'http://127.0.0.1:1' }, port: first.port }), { code: 'EADDRINUSE' });
});
