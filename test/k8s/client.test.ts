import { once } from 'node:events';
import net from 'node:net';
import { PassThrough } from 'node:stream';
import test from 'ava';
import { KubernetesObjectApi, Log, PatchStrategy, PortForward, Watch, type V1ConfigMap } from '@kubernetes/client-node';
import { cluster, nodeScript, ourImage, readyPod, testNamespace, waitFor } from './helpers.ts';

let ns: { name: string; remove: () => Promise<void> };
let image: string;

test.before(async () => {
  ns = await testNamespace('k8s-client');
  image = await ourImage('ui-server');
});

test.after.always(async () => {
  await ns?.remove();
});

const configMap = (data: Record<string, string>): V1ConfigMap & { apiVersion: string; kind: string } => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'applied', namespace: ns.name },
  data,
});

test('server-side apply creates, updates and records its field manager; another manager conflicts unless it forces', async (t) => {
  const { kc, core } = await cluster();
  const objects = KubernetesObjectApi.makeApiClient(kc);
  const apply = (data: Record<string, string>, manager: string, force: boolean) =>
    objects.patch(configMap(data), undefined, undefined, manager, force, PatchStrategy.ServerSideApply);

  await apply({ colour: 'red' }, 'k8s-test', true);
  const updated = await apply({ colour: 'blue' }, 'k8s-test', true);
  t.deepEqual((updated as V1ConfigMap).data, { colour: 'blue' });
  const read = await core.readNamespacedConfigMap({ name: 'applied', namespace: ns.name });
  t.true(read.metadata?.managedFields?.some((f) => f.manager === 'k8s-test' && f.operation === 'Apply'));

  const conflict = await t.throwsAsync(apply({ colour: 'green' }, 'someone-else', false));
  t.regex(String((conflict as { code?: number }).code ?? conflict?.message), /409/);
  const forced = await apply({ colour: 'green' }, 'someone-else', true);
  t.deepEqual((forced as V1ConfigMap).data, { colour: 'green' });
});

test('a watch sees a ConfigMap added and deleted', async (t) => {
  const { kc, core } = await cluster();
  const events: string[] = [];
  const watching = await new Watch(kc).watch(
    `/api/v1/namespaces/${ns.name}/configmaps`,
    { fieldSelector: 'metadata.name=watched' },
    (phase, obj: V1ConfigMap) => events.push(`${phase} ${obj.metadata?.name}`),
    () => undefined,
  );
  try {
    await core.createNamespacedConfigMap({ namespace: ns.name, body: { metadata: { name: 'watched' }, data: { a: '1' } } });
    await waitFor('ADDED', async () => (events.includes('ADDED watched') ? true : undefined), 30_000);
    await core.deleteNamespacedConfigMap({ name: 'watched', namespace: ns.name });
    await waitFor('DELETED', async () => (events.includes('DELETED watched') ? true : undefined), 30_000);
    t.deepEqual(events, ['ADDED watched', 'DELETED watched']);
  } finally {
    watching.abort();
  }
});

test('logs follow a running container until it ends', async (t) => {
  const { kc, core } = await cluster();
  const name = 'counter';
  const script = "let i = 0; const timer = setInterval(() => { console.log('line ' + ++i); if (i === 5) clearInterval(timer); }, 400);";
  await core.createNamespacedPod({
    namespace: ns.name,
    body: { metadata: { name }, spec: { restartPolicy: 'Never', containers: [{ name, image, imagePullPolicy: 'Never', command: nodeScript(script) }] } },
  });
  await waitFor('the counter running', async () => {
    const phase = (await core.readNamespacedPod({ name, namespace: ns.name })).status?.phase;
    return phase === 'Running' || phase === 'Succeeded' ? phase : undefined;
  });
  const out = new PassThrough();
  let text = '';
  out.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  // client-node 1.4 never calls log()'s done callback: the followed stream ends when the response does.
  const ended = once(out, 'finish');
  await new Log(kc).log(ns.name, name, name, out, { follow: true });
  await ended;
  t.deepEqual(text.trim().split('\n'), ['line 1', 'line 2', 'line 3', 'line 4', 'line 5']);
});

test('port-forward reaches a pod port from a local listener', async (t) => {
  const { kc } = await cluster();
  const pod = await readyPod(ns.name, 'forwarded', image);
  const forward = new PortForward(kc);
  const server = net.createServer((socket) => {
    void forward.portForward(ns.name, pod.metadata?.name ?? '', [8080], socket, null, socket).catch(() => socket.destroy());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    const { port } = server.address() as net.AddressInfo;
    const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(20_000) });
    t.is(res.status, 200);
    t.truthy(await res.text());
  } finally {
    server.close();
  }
});
