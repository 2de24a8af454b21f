/**
 * A TEST DOUBLE of the kind CLI: kind and its node image cannot be had on this machine, so the kind runtime's
 * tests put ./kind first on PATH and this maps kind's commands onto the real test cluster. Each "kind cluster"
 * is a namespace `kind-<name>` of that cluster, named as the default namespace of the kubeconfig context it
 * hands out (`kind-<name>`, as kind names it). What it does for each command:
 * - `create cluster --name N --config F`: checks F against kind's v1alpha4 schema, makes the namespace, and for
 *   every extraPortMapping relays hostPort to the node's containerPort (what Docker's publishing does);
 * - `get clusters`, `get kubeconfig --name N`, `version`;
 * - `load docker-image IMAGE… --name N` and `load image-archive FILE --name N`: into the node's containerd;
 * - `delete cluster --name N`: stops the relays and deletes the namespace, waiting until it is gone.
 * KIND_STAND_IN_DIR says where it keeps its clusters (required); KIND_STAND_IN_CREATE_DELAY_MS slows `create`
 * (for the Ctrl-C test); KIND_STAND_IN_FAIL_LOAD=3795 makes `load docker-image` fail as kind issue 3795 does.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { parse, stringify } from 'yaml';
import { kindConfigProblems } from '../../../cluster/kind/config-schema.ts';
import { KIND_VERSION, type KindClusterConfig } from '../../../cluster/kind/config.ts';
import { isAlive, readStat } from '../../../cluster/host/procfs.ts';
import { KUBECONFIG_PATH } from '../../../infra/test-cluster/layout.ts';
import { importArchive, loadImages } from '../../../infra/test-cluster/load.ts';

interface StandInCluster {
  name: string;
  namespace: string;
  relays: { pid: number; startTime: number; hostPort: number }[];
}

const dir = process.env.KIND_STAND_IN_DIR;
const realKubeconfig = process.env.KIND_STAND_IN_KUBECONFIG ?? KUBECONFIG_PATH;
const here = path.dirname(new URL(import.meta.url).pathname);

function fail(message: string, code = 1): never {
  process.stderr.write(`ERROR: ${message}\n`);
  process.exit(code);
}

if (!dir) fail('KIND_STAND_IN_DIR is not set (this is the test double of kind; see test/kind/stand-in/kind-stand-in.ts)');
const recordFile = (name: string) => path.join(dir, `${name}.json`);
const read = (name: string): StandInCluster | undefined => (existsSync(recordFile(name)) ? (JSON.parse(readFileSync(recordFile(name), 'utf8')) as StandInCluster) : undefined);
const clusters = (): string[] => (existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)).sort() : []);

function api(): CoreV1Api {
  const kc = new KubeConfig();
  kc.loadFromFile(realKubeconfig);
  return kc.makeApiClient(CoreV1Api);
}

/** Where the node serves NodePorts: the test cluster's kube-proxy serves them on 127.0.0.1 (--nodeport-addresses). */
const NODE_PORT_ADDRESS = '127.0.0.1';

/** Starts one relay; resolves once it listens, fails with Docker's words when the host port is taken. */
function startRelay(listen: string, hostPort: number, node: string, containerPort: number): Promise<{ pid: number; startTime: number; hostPort: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(here, 'port-proxy.ts'), listen, String(hostPort), node, String(containerPort)], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.once('exit', () => reject(new Error(`Bind for ${listen}:${hostPort} failed: port is already allocated (${err.trim()})`)));
    child.stdout.once('data', () => {
      child.removeAllListeners('exit');
      child.stdout.destroy();
      child.stderr.destroy();
      child.unref();
      resolve({ pid: child.pid ?? 0, startTime: readStat(child.pid ?? 0)?.startTime ?? 0, hostPort });
    });
  });
}

async function deleteNamespace(namespace: string): Promise<void> {
  const core = api();
  await core.deleteNamespace({ name: namespace }).catch(() => undefined);
  // kind removes the node container at once; the pods here would otherwise take their grace period to go.
  await core.deleteCollectionNamespacedPod({ namespace, gracePeriodSeconds: 0 }).catch(() => undefined);
  const deadline = Date.now() + 180_000;
  while (Date.now() < deadline) {
    try {
      await core.readNamespace({ name: namespace });
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  fail(`namespace ${namespace} was still there after 180 s`);
}

function stopRelays(c: StandInCluster): void {
  for (const r of c.relays) if (isAlive(r.pid) && readStat(r.pid)?.startTime === r.startTime) process.kill(r.pid, 'SIGTERM');
}

async function createCluster(name: string, configPath: string | undefined): Promise<void> {
  if (read(name)) fail(`failed to create cluster: node(s) already exist for a cluster with the name "${name}"`);
  const config = (configPath ? parse(await readFile(configPath, 'utf8')) : { kind: 'Cluster', apiVersion: 'kind.x-k8s.io/v1alpha4' }) as KindClusterConfig;
  const problems = kindConfigProblems(config);
  if (problems.length) fail(`failed to create cluster: invalid configuration: ${problems.join('; ')}`);
  process.stderr.write(`Creating cluster "${name}" ...\n`);
  const delay = Number(process.env.KIND_STAND_IN_CREATE_DELAY_MS ?? 0);
  const record: StandInCluster = { name, namespace: `kind-${name}`, relays: [] };
  await mkdir(dir!, { recursive: true });
  // Recorded before anything is made, so `delete cluster` finds a half-made one (as kind finds its node container).
  await writeFile(recordFile(name), JSON.stringify(record));
  await api().createNamespace({ body: { metadata: { name: record.namespace, labels: { 'scope-saas.test': 'kind-stand-in' } } } });
  if (delay) await new Promise((r) => setTimeout(r, delay));
  const node = NODE_PORT_ADDRESS;
  try {
    for (const n of config.nodes ?? []) {
      for (const m of n.extraPortMappings ?? []) {
        if (m.hostPort === undefined) continue;
        record.relays.push(await startRelay(m.listenAddress ?? '0.0.0.0', m.hostPort, node, m.containerPort));
        await writeFile(recordFile(name), JSON.stringify(record));
      }
    }
  } catch (err) {
    // kind deletes what it made when a create fails (unless --retain).
    stopRelays(record);
    await deleteNamespace(record.namespace);
    await rm(recordFile(name), { force: true });
    fail(`failed to create cluster: ${(err as Error).message}`);
  }
  process.stderr.write(`Set kubectl context to "kind-${name}"\n`);
}

function kubeconfigOf(name: string, namespace: string): string {
  const kc = new KubeConfig();
  kc.loadFromFile(realKubeconfig);
  const cluster = kc.getCurrentCluster();
  const user = kc.getCurrentUser();
  if (!cluster || !user) fail(`${realKubeconfig} has no current cluster and user`);
  const id = `kind-${name}`;
  const userEntry: Record<string, string> = {};
  if (user.certData) userEntry['client-certificate-data'] = user.certData;
  if (user.keyData) userEntry['client-key-data'] = user.keyData;
  if (user.certFile) userEntry['client-certificate-data'] = readFileSync(user.certFile).toString('base64');
  if (user.keyFile) userEntry['client-key-data'] = readFileSync(user.keyFile).toString('base64');
  if (user.token) userEntry.token = user.token;
  const clusterEntry: Record<string, string | boolean> = { server: cluster.server };
  if (cluster.caData) clusterEntry['certificate-authority-data'] = cluster.caData;
  if (cluster.caFile) clusterEntry['certificate-authority-data'] = readFileSync(cluster.caFile).toString('base64');
  if (cluster.skipTLSVerify) clusterEntry['insecure-skip-tls-verify'] = true;
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: id, cluster: clusterEntry }],
    users: [{ name: id, user: userEntry }],
    contexts: [{ name: id, context: { cluster: id, user: id, namespace } }],
    'current-context': id,
    preferences: {},
  });
}

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { name: { type: 'string', default: 'kind' }, config: { type: 'string' }, image: { type: 'string' }, wait: { type: 'string' }, retain: { type: 'boolean' } },
});
const [verb, noun, ...rest] = positionals;
const name = values.name ?? 'kind';
const known = () => read(name) ?? fail(`could not locate any control plane nodes for cluster named '${name}'. Use the --name option to select a different cluster`);

switch (`${verb} ${noun ?? ''}`.trim()) {
  case 'version':
    process.stdout.write(`kind ${KIND_VERSION} (test double: the test cluster of infra/test-cluster)\n`);
    break;
  case 'create cluster':
    await createCluster(name, values.config);
    break;
  case 'get clusters': {
    const all = clusters();
    if (all.length) process.stdout.write(`${all.join('\n')}\n`);
    else process.stderr.write('No kind clusters found.\n');
    break;
  }
  case 'get kubeconfig':
    process.stdout.write(kubeconfigOf(name, known().namespace));
    break;
  case 'load docker-image':
    known();
    if (!rest.length) fail('a list of image names is required');
    if (process.env.KIND_STAND_IN_FAIL_LOAD === '3795') fail('failed to load image: command "docker exec --privileged -i kind-control-plane ctr --namespace=k8s.io images import --all-platforms --digests --snapshotter=overlayfs -" failed with error: exit status 1\nCommand Output: ctr: content digest sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef: not found');
    await loadImages(rest);
    break;
  case 'load image-archive':
    known();
    if (rest.length !== 1 || !rest[0]) fail('exactly one archive is required');
    await importArchive(rest[0]);
    break;
  case 'delete cluster': {
    process.stderr.write(`Deleting cluster "${name}" ...\n`);
    const c = read(name);
    if (c) {
      stopRelays(c);
      await deleteNamespace(c.namespace);
      await rm(recordFile(name), { force: true });
    }
    break;
  }
  default:
    fail(`the kind stand-in does not know \`kind ${positionals.join(' ')}\``, 2);
}
