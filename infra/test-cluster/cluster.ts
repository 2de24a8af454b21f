/** `up` and `status`: one pipeline of steps over the daemons of components.ts. */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { adminClient, ensureStorageClass, getPlain, getWithAdminCert, nodeReady, serviceAccountExists, waitUntil, writeWorks } from './api.ts';
import { ensureBuilt, type Say } from './build.ts';
import { ensureCertificates } from './certs.ts';
import { COMPONENTS, daemon, type Component } from './components.ts';
import { network, writeConfigs, type Network } from './config.ts';
import { ClusterError, dockerBridge, recordSysctls, requireDocker, requireRoot } from './host.ts';
import { RUNTIME_PACKAGES, installPackages, sourceVersion } from './install.ts';
import { KUBECONFIG_PATH, KUBELET_HEALTHZ_PORT, KUBE_PROXY_HEALTHZ, ETCD_CLIENT_URL, NODE_NAME, STATE_DIR, pauseArchivePath, state } from './layout.ts';
import { importArchive } from './load.ts';
import { logFile, logTail, runningPid, startDaemon, stopDaemon } from './processes.ts';
import { teardown } from './teardown.ts';

interface ClusterRecord {
  version: string;
  nodeAddress: string;
  apiserverUrl: string;
  podRange: string;
  startedAt: string;
}

const APISERVER_STARTS = 4;

async function readRecord(): Promise<ClusterRecord | undefined> {
  try {
    return JSON.parse(await readFile(state.cluster, 'utf8')) as ClusterRecord;
  } catch {
    return undefined;
  }
}

export interface Status {
  running: Component[];
  stopped: Component[];
  apiAnswers: boolean;
  nodeReady: boolean;
  record?: ClusterRecord;
}

export async function status(): Promise<Status> {
  const running = COMPONENTS.filter((c) => runningPid(c) !== undefined);
  const record = await readRecord();
  const apiAnswers = record !== undefined && existsSync(KUBECONFIG_PATH) && (await getWithAdminCert(`${record.apiserverUrl}/readyz`)) === 200;
  const ready = apiAnswers && (await nodeReady(NODE_NAME).catch(() => false));
  return { running, stopped: COMPONENTS.filter((c) => !running.includes(c)), apiAnswers, nodeReady: ready, record };
}

async function failWithLog(name: Component, err: unknown): Promise<never> {
  const message = err instanceof Error ? err.message : String(err);
  throw new ClusterError(`${name}: ${message}\n--- last lines of ${logFile(name)}:\n${await logTail(name)}`, 'npm run k8s -- up tears down what it started; fix the cause above and run it again');
}

async function start(name: Component, version: string, net: Network, ready: () => Promise<boolean>, timeoutMs: number, say: Say): Promise<void> {
  const pid = await startDaemon(daemon(name, version, net));
  await waitUntil(`${name} ready`, ready, timeoutMs, () => runningPid(name) === pid).catch((err: unknown) => failWithLog(name, err));
  say(`${name} ready`);
}

async function startApiserver(version: string, net: Network, say: Say): Promise<void> {
  for (let attempt = 1; attempt <= APISERVER_STARTS; attempt++) {
    await start('kube-apiserver', version, net, async () => (await getWithAdminCert(`${net.apiserverUrl}/readyz`)) === 200, 90_000, say);
    const write = await writeWorks();
    if (write.ok) return;
    say(`kube-apiserver serves reads but a write failed (${write.error}): the reflect2 trap of Kubernetes 1.20 on Go ≥ 1.18; restarting it (start ${attempt} of ${APISERVER_STARTS})`);
    await stopDaemon('kube-apiserver', 15_000);
  }
  throw new ClusterError(`kube-apiserver failed every write in ${APISERVER_STARTS} starts`, `see ${logFile('kube-apiserver')} (a panic in reflect2 means the binaries were built with the vendored copy: delete the cache folder and run npm run k8s -- up)`);
}

const cgroupDriver = () => (existsSync('/run/systemd/system') ? 'systemd' : 'cgroupfs');

async function bringUp(say: Say): Promise<void> {
  const net = network(await dockerBridge());
  const installed = await installPackages(RUNTIME_PACKAGES);
  if (installed.length) say(`installed ${installed.join(' ')}`);
  const version = await sourceVersion();
  await ensureBuilt(version, say);
  await rm(state.logs, { recursive: true, force: true });
  await mkdir(STATE_DIR, { recursive: true });
  await recordSysctls();
  await ensureCertificates(net.nodeAddress);
  await writeConfigs(net, cgroupDriver());
  await writeFile(state.dnsHosts, '', { flag: 'a' });

  await start('etcd', version, net, async () => (await getPlain(`${ETCD_CLIENT_URL}/health`)) === 200, 30_000, say);
  await startApiserver(version, net, say);
  await start('kube-controller-manager', version, net, async () => true, 1_000, say);
  await start('kube-scheduler', version, net, async () => true, 1_000, say);
  await start('containerd', version, net, async () => existsSync(state.containerdSocket), 30_000, say);
  await importArchive(pauseArchivePath(version));
  await start('dnsmasq', version, net, async () => true, 1_000, say);
  // The DNS feeder and kube-proxy get ready while the node does; only the kubelet needs containerd first.
  const meanwhile = [
    start('dns-watch', version, net, async () => (await readFile(state.dnsHosts, 'utf8')).includes('kubernetes.default'), 60_000, say),
    start('kube-proxy', version, net, async () => (await getPlain(`http://${KUBE_PROXY_HEALTHZ}/healthz`)) === 200, 60_000, say),
    start('volume-provisioner', version, net, async () => (await logTail('volume-provisioner', 5).catch(() => '')).includes('watching claims'), 60_000, say),
  ];
  for (const pending of meanwhile) pending.catch(() => undefined);
  await start('kubelet', version, net, async () => (await getPlain(`http://127.0.0.1:${KUBELET_HEALTHZ_PORT}/healthz`)) === 200, 60_000, say);
  const core = adminClient();
  await waitUntil(`node ${NODE_NAME} Ready`, () => nodeReady(NODE_NAME, core), 120_000, () => runningPid('kubelet') !== undefined).catch((err: unknown) => failWithLog('kubelet', err));
  say(`node ${NODE_NAME} Ready`);
  await waitUntil('the default service account', () => serviceAccountExists('default', 'default', core), 60_000).catch((err: unknown) => failWithLog('kube-controller-manager', err));
  await Promise.all(meanwhile);
  await ensureStorageClass();

  const record: ClusterRecord = { version, nodeAddress: net.nodeAddress, apiserverUrl: net.apiserverUrl, podRange: `${net.pods.rangeStart}-${net.pods.rangeEnd}`, startedAt: new Date().toISOString() };
  await writeFile(state.cluster, JSON.stringify(record, null, 2) + '\n');
}

/** Brings the cluster up, or reuses it when every daemon runs and the API answers on the same bridge address. */
export async function up(say: Say): Promise<void> {
  requireRoot();
  await requireDocker();
  const now = await status();
  const bridge = await dockerBridge();
  if (now.stopped.length === 0 && now.apiAnswers && now.nodeReady && now.record?.nodeAddress === bridge.address) {
    const write = await writeWorks();
    if (write.ok) {
      say(`already up (since ${now.record.startedAt}): reused`);
      return;
    }
  }
  if (now.running.length > 0 || existsSync(state.cluster)) {
    say(`a part of an earlier cluster is left (${now.running.join(', ') || 'state only'}): taking it down first`);
    await teardown();
  }
  try {
    await bringUp(say);
  } catch (err) {
    say('up failed: taking down what it started');
    await teardown().catch(() => undefined);
    throw err;
  }
}

export function describe(s: Status): string[] {
  const lines = COMPONENTS.map((c) => `${c.padEnd(24)} ${s.running.includes(c) ? `running (pid ${runningPid(c)})` : 'stopped'}`);
  lines.push(`API ${s.apiAnswers ? `answers at ${s.record?.apiserverUrl}` : 'does not answer'}; node ${NODE_NAME} ${s.nodeReady ? 'Ready' : 'not Ready'}`);
  if (s.record) lines.push(`Kubernetes ${s.record.version} (Debian's source package), pods ${s.record.podRange}, logs in ${join(STATE_DIR, 'logs')}`);
  return lines;
}
