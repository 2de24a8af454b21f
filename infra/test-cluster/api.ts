/** Questions `up` and `status` ask the running cluster, through @kubernetes/client-node and the admin kubeconfig. */
import { request } from 'node:https';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { CoreV1Api, KubeConfig, StorageV1Api } from '@kubernetes/client-node';
import { pki } from './certs.ts';
import { KUBECONFIG_PATH, STORAGE_CLASS, STORAGE_PROVISIONER } from './layout.ts';

export function adminClient(): CoreV1Api {
  const kc = new KubeConfig();
  kc.loadFromFile(KUBECONFIG_PATH);
  return kc.makeApiClient(CoreV1Api);
}

/** The default StorageClass whose claims volume-provisioner.ts serves (kind has one of this name too). */
export async function ensureStorageClass(): Promise<void> {
  const kc = new KubeConfig();
  kc.loadFromFile(KUBECONFIG_PATH);
  const storage = kc.makeApiClient(StorageV1Api);
  const body = {
    metadata: { name: STORAGE_CLASS, annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } },
    provisioner: STORAGE_PROVISIONER,
    reclaimPolicy: 'Delete',
    volumeBindingMode: 'Immediate',
  };
  await storage.createStorageClass({ body }).catch((err: unknown) => ((err as { code?: number }).code === 409 ? undefined : Promise.reject(err)));
}

/** GET url with the admin certificate; the status code, or undefined when nothing answers. */
export function getWithAdminCert(url: string, timeoutMs = 3000): Promise<number | undefined> {
  return new Promise((resolve) => {
    const req = request(url, { ca: readFileSync(pki.caCert), cert: readFileSync(pki.cert('admin')), key: readFileSync(pki.key('admin')), timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on('error', () => resolve(undefined));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

export async function getPlain(url: string, timeoutMs = 3000): Promise<number | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return undefined;
  }
}

/** Polls until check() is true; stillAlive() false ends the wait early (the process died). */
export async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs: number, stillAlive: () => boolean = () => true): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    if (!stillAlive()) throw new Error(`${what}: the process exited`);
    await sleep(250);
  }
  throw new Error(`${what}: not within ${Math.round(timeoutMs / 1000)} s`);
}

const WRITE_CHECK = 'saas-test-cluster-write-check';

/**
 * One create and one delete. With the vendored reflect2 of Kubernetes 1.20 under Go ≥ 1.18, about one
 * apiserver start in five serves reads but fails every write; this tells such a start from a good one.
 */
export async function writeWorks(core = adminClient()): Promise<{ ok: true } | { ok: false; error: string }> {
  try {
    await core.deleteNamespacedConfigMap({ name: WRITE_CHECK, namespace: 'kube-system' }).catch(() => undefined);
    await core.createNamespacedConfigMap({ namespace: 'kube-system', body: { metadata: { name: WRITE_CHECK }, data: { at: new Date().toISOString() } } });
    await core.deleteNamespacedConfigMap({ name: WRITE_CHECK, namespace: 'kube-system' });
    return { ok: true };
  } catch (err) {
    return { ok: false, error: err instanceof Error ? (err.message.split('\n')[0] ?? err.message) : String(err) };
  }
}

export async function nodeReady(name: string, core = adminClient()): Promise<boolean> {
  const node = await core.readNode({ name });
  return node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

export async function serviceAccountExists(namespace: string, name = 'default', core = adminClient()): Promise<boolean> {
  const sa = await core.readNamespacedServiceAccount({ name, namespace });
  return (sa.secrets?.length ?? 0) > 0;
}
