/**
 * watchList's recovery against an apiserver stand-in on loopback (a test double of the apiserver's list and
 * watch of one collection): the real apiserver cannot be made to fail its watches on demand, to answer a
 * watch with HTTP 410, or to hold a stream open in silence. The 410 event and the server-side close are
 * tested on the real test cluster (test/k8s/watch.test.ts).
 */
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import test from 'ava';
import { CoreV1Api, KubeConfig, type V1ConfigMap } from '@kubernetes/client-node';
import { watchList, type Restart, type WatchSource } from '../../cluster/kubernetes/watch.ts';

interface Seen {
  watch: boolean;
  resourceVersion: string | null;
  at: number;
  closed: Promise<unknown>;
}

type Answer = (res: http.ServerResponse, n: number) => void;

const PATH = '/api/v1/namespaces/stand-in/configmaps';

const configMap = (name: string, resourceVersion: string): V1ConfigMap => ({ metadata: { name, uid: `uid-${name}`, namespace: 'stand-in', resourceVersion } });

/** Lists answer items() at version 7; the nth watch request (from 0) is answered by watch(res, n). */
async function apiserverStandIn(watch: Answer, items: () => V1ConfigMap[] = () => []) {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://stand-in');
    const isWatch = url.searchParams.get('watch') === 'true';
    seen.push({ watch: isWatch, resourceVersion: url.searchParams.get('resourceVersion'), at: Date.now(), closed: once(res, 'close') });
    if (url.pathname !== PATH) return void res.writeHead(404).end();
    if (!isWatch) {
      res.writeHead(200, { 'content-type': 'application/json' });
      return void res.end(JSON.stringify({ kind: 'ConfigMapList', apiVersion: 'v1', metadata: { resourceVersion: '7' }, items: items() }));
    }
    watch(res, seen.filter((s) => s.watch).length - 1);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'stand-in', server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, skipTLSVerify: true }],
    users: [{ name: 'nobody' }],
    contexts: [{ name: 'stand-in', cluster: 'stand-in', user: 'nobody' }],
    currentContext: 'stand-in',
  });
  const core = kc.makeApiClient(CoreV1Api);
  const source: WatchSource<V1ConfigMap> = { path: PATH, list: (selectors) => core.listNamespacedConfigMap({ namespace: 'stand-in', ...selectors }) };
  const close = () => {
    server.closeAllConnections();
    server.close();
  };
  return { kc, source, seen, watches: () => seen.filter((s) => s.watch), lists: () => seen.filter((s) => !s.watch), close };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const streamOpen = (res: http.ServerResponse) => res.writeHead(200, { 'content-type': 'application/json' }).flushHeaders();
const event = (res: http.ServerResponse, type: string, object: unknown) => res.write(`${JSON.stringify({ type, object })}\n`);

test('a watch that keeps failing is retried after 250 ms, doubling, not in a storm', async (t) => {
  const api = await apiserverStandIn((res) => void res.writeHead(500).end('{}'));
  const restarts: Restart[] = [];
  const w = await watchList({ kc: api.kc }, api.source, () => undefined, { onRestart: (r) => restarts.push(r) });
  await sleep(4200);
  w.stop();
  api.close();
  const at = api.watches().map((s) => s.at);
  t.deepEqual(restarts.map((r) => r.delayMs).slice(0, 4), [250, 500, 1000, 2000]);
  t.true(restarts.every((r) => r.kind === 'rewatch' && /500/.test(r.reason)), JSON.stringify(restarts));
  t.true(at.length >= 4 && at.length <= 5, `${at.length} watch requests in 4.2 s`);
  at.slice(1).forEach((when, i) => t.true(when - (at[i] ?? 0) >= restarts[i]!.delayMs - 5, `gap ${i}`));
  t.is(api.lists().length, 1, 'a failing watch is retried from its version, not relisted');
  t.true(api.watches().every((s) => s.resourceVersion === '7'));
});

test('the retry delay stops growing at its maximum', async (t) => {
  const api = await apiserverStandIn((res) => void res.writeHead(503).end('{}'));
  const restarts: Restart[] = [];
  const w = await watchList({ kc: api.kc }, api.source, () => undefined, { backoff: { initialMs: 10, maxMs: 40 }, onRestart: (r) => restarts.push(r) });
  await sleep(400);
  w.stop();
  api.close();
  t.deepEqual(restarts.map((r) => r.delayMs).slice(0, 6), [10, 20, 40, 40, 40, 40]);
});

test('a watch that delivered something is retried after the first delay again, from the version it reached', async (t) => {
  const api = await apiserverStandIn((res, n) => {
    streamOpen(res);
    event(res, 'ADDED', configMap(`cm-${n}`, String(10 + n)));
    res.end();
  });
  const restarts: Restart[] = [];
  const w = await watchList({ kc: api.kc }, api.source, () => undefined, { onRestart: (r) => restarts.push(r) });
  await sleep(1000);
  w.stop();
  api.close();
  t.true(restarts.length >= 3, JSON.stringify(restarts));
  t.true(restarts.every((r) => r.delayMs === 250 && r.reason === 'watch closed by the server'), JSON.stringify(restarts));
  t.deepEqual(api.watches().slice(0, 3).map((s) => s.resourceVersion), ['7', '10', '11']);
  t.deepEqual(w.items().map((c) => c.metadata?.name).slice(0, 3), ['cm-0', 'cm-1', 'cm-2']);
});

test('a watch answered with HTTP 410 Gone relists, dropping what the new list no longer has', async (t) => {
  let items = [configMap('old', '5')];
  const api = await apiserverStandIn((res, n) => {
    if (n === 0) {
      items = [configMap('new', '8')];
      return void res.writeHead(410).end('{}');
    }
    streamOpen(res);
  }, () => items);
  const restarts: Restart[] = [];
  const changes: string[][] = [];
  const w = await watchList({ kc: api.kc }, api.source, (all) => changes.push(all.map((c) => c.metadata?.name ?? '')), { onRestart: (r) => restarts.push(r) });
  await sleep(600);
  w.stop();
  api.close();
  t.is(restarts[0]?.kind, 'relist');
  t.regex(restarts[0]?.reason ?? '', /410/);
  t.deepEqual(changes, [['old'], ['new']]);
  t.is(api.lists().length, 2);
});

test('a stream silent for the idle timeout is aborted and watched again', async (t) => {
  const api = await apiserverStandIn((res) => streamOpen(res));
  const restarts: Restart[] = [];
  const w = await watchList({ kc: api.kc }, api.source, () => undefined, { idleMs: 300, onRestart: (r) => restarts.push(r) });
  await sleep(800);
  const first = api.watches()[0];
  t.truthy(first);
  await first?.closed; // the client hung up the silent stream itself
  t.true(api.watches().length >= 2, `${api.watches().length} watch requests`);
  t.is(restarts[0]?.reason, 'no event for 300 ms');
  t.is(restarts[0]?.kind, 'rewatch');
  w.stop();
  await api.watches().at(-1)?.closed; // stop() hangs up the open one
  api.close();
});

test('a watch that stayed open 10 s counts as healthy even when it delivered nothing', async (t) => {
  const api = await apiserverStandIn((res, n) => {
    if (n < 2) return void res.writeHead(500).end('{}');
    streamOpen(res);
    if (n === 2) setTimeout(() => res.end(), 10_100);
  });
  const restarts: Restart[] = [];
  const w = await watchList({ kc: api.kc }, api.source, () => undefined, { onRestart: (r) => restarts.push(r) });
  await sleep(11_200);
  w.stop();
  api.close();
  t.deepEqual(restarts.map((r) => [r.delayMs, r.reason]), [[250, 'watch ended: 500 Internal Server Error'], [500, 'watch ended: 500 Internal Server Error'], [250, 'watch closed by the server']]);
});
