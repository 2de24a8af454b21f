import test from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import { waitFor } from '@saas/kit/testing';
import { decodeReport } from '../../images/scope/src/report/index.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const entry = fileURLToPath(new URL('../../images/scope/src/main.ts', import.meta.url));

function runImage(env: Record<string, string>): { child: ChildProcess; out: () => string; exited: Promise<number | null> } {
  let out = '';
  const child = spawn(process.execPath, ['--import', 'tsx', entry], {
    cwd: root,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, out: () => out, exited };
}

test('SCOPE_ROLE=probe publishes with its configured id and interval, and stops cleanly on SIGTERM', async (t) => {
  const posts: { headers: http.IncomingHttpHeaders; body: Buffer }[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.url === '/api') return void res.end(JSON.stringify({ id: 'app-9' }));
      posts.push({ headers: req.headers, body: Buffer.concat(chunks) });
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => server.close());
  const port = (server.address() as AddressInfo).port;

  const probe = runImage({
    SCOPE_ROLE: 'probe',
    SCOPE_URL: `http://127.0.0.1:${port}`,
    SCOPE_TOKEN: 'tok-123',
    SCOPE_PUBLISH_INTERVAL_MS: '300',
    SCOPE_PROBE_ID: 'fixed-probe-1',
    SCOPE_HOSTNAME: 'probe-test-host',
  });
  t.teardown(() => {
    if (probe.child.exitCode === null) probe.child.kill('SIGKILL');
  });
  await waitFor('two reports', async () => posts.length >= 2, 60_000);
  t.is(posts[0]!.headers['x-scope-probe-id'], 'fixed-probe-1');
  t.is(posts[0]!.headers.authorization, 'Scope-Probe token=tok-123');
  const report = decodeReport(posts[0]!.body, { contentEncoding: 'gzip', contentType: 'application/msgpack' });
  t.truthy(report.topologies.Host!.nodes['probe-test-host;<host>']);
  t.truthy(report.topologies.Process!.nodes[`probe-test-host;${probe.child.pid}`], 'the probe sees itself');
  t.is(report.window, 300);

  probe.child.kill('SIGTERM');
  t.is(await probe.exited, 0, probe.out());
  t.regex(probe.out(), /probe stopped/);
  t.notRegex(probe.out(), /tok-123/, 'the token never reaches the logs');
});

test('SCOPE_ROLE=probe without its configuration exits 78 naming every missing variable', async (t) => {
  const probe = runImage({ SCOPE_ROLE: 'probe', SCOPE_PUBLISH_INTERVAL_MS: 'soon' });
  t.teardown(() => {
    if (probe.child.exitCode === null) probe.child.kill('SIGKILL');
  });
  t.is(await probe.exited, 78);
  const out = probe.out();
  t.regex(out, /SCOPE_URL is missing/);
  t.regex(out, /SCOPE_TOKEN is missing/);
  t.regex(out, /SCOPE_PUBLISH_INTERVAL_MS "soon" is invalid/);
});
