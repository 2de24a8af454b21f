/**
 * The Kubernetes tests' way to their cluster: KUBECONFIG if set (any cluster, a kind one on a laptop), else
 * the test cluster `npm run k8s -- up` made. No cluster answering is a failure that says what to run.
 */
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { $ } from 'zx';
import { AppsV1Api, CoreV1Api, KubeConfig, RbacAuthorizationV1Api, VersionApi, type V1Pod } from '@kubernetes/client-node';
import { buildImages, imageSpec, type ImageName } from '../../cluster/images/index.ts';
import { KUBECONFIG_PATH } from '../../infra/test-cluster/layout.ts';
import { loadImages, nodeImages } from '../../infra/test-cluster/load.ts';

export interface Cluster {
  kc: KubeConfig;
  core: CoreV1Api;
  apps: AppsV1Api;
  rbac: RbacAuthorizationV1Api;
  /** True when this is the test cluster of infra/test-cluster (images are loaded into its containerd). */
  isTestCluster: boolean;
}

let connected: Promise<Cluster> | undefined;

async function connect(): Promise<Cluster> {
  const path = process.env.KUBECONFIG || KUBECONFIG_PATH;
  const hint = 'run `npm run k8s -- up` (as root) to bring up the test cluster, or point KUBECONFIG at a running cluster';
  if (!existsSync(path)) throw new Error(`no kubeconfig at ${path}: ${hint}`);
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  try {
    await kc.makeApiClient(VersionApi).getCode();
  } catch (err) {
    throw new Error(`no Kubernetes API answers at ${kc.getCurrentCluster()?.server} (${path}): ${err instanceof Error ? err.message : String(err)}; ${hint}`);
  }
  return {
    kc,
    core: kc.makeApiClient(CoreV1Api),
    apps: kc.makeApiClient(AppsV1Api),
    rbac: kc.makeApiClient(RbacAuthorizationV1Api),
    isTestCluster: path === KUBECONFIG_PATH,
  };
}

export function cluster(): Promise<Cluster> {
  connected ??= connect();
  return connected;
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    await sleep(300);
  }
  throw new Error(`${what}: not within ${timeoutMs / 1000} s${last instanceof Error ? ` (last error: ${last.message})` : ''}`);
}

/** A namespace of this test run whose default service account can be used; delete it with the returned function. */
export async function testNamespace(prefix: string): Promise<{ name: string; remove: () => Promise<void> }> {
  const { core } = await cluster();
  const name = `${prefix}-${randomBytes(3).toString('hex')}`;
  await core.createNamespace({ body: { metadata: { name, labels: { 'scope-saas.test': 'k8s' } } } });
  await waitFor(`service account default in ${name}`, async () => ((await core.readNamespacedServiceAccount({ name: 'default', namespace: name })).secrets?.length ? true : undefined));
  return { name, remove: async () => void (await core.deleteNamespace({ name }).catch(() => undefined)) };
}

/**
 * One of our images, built by the engine's builder and put where the cluster's node finds it: imported
 * into the test cluster's containerd, or by K8S_TEST_LOAD (e.g. `kind load docker-image`) elsewhere.
 */
export async function ourImage(name: ImageName): Promise<string> {
  const built = await buildImages({ emit: () => undefined, images: [imageSpec(name)] });
  const tag = built.get(name)?.tag;
  if (!tag) throw new Error(`image ${name} was not built`);
  const { isTestCluster } = await cluster();
  if (isTestCluster) {
    const held = await nodeImages();
    if (!held.includes(tag) && !held.includes(`docker.io/${tag}`)) await loadImages([tag]);
  }
  else if (process.env.K8S_TEST_LOAD) await $({ quiet: true })`${process.env.K8S_TEST_LOAD.split(' ')} ${tag}`;
  else throw new Error('KUBECONFIG names another cluster: set K8S_TEST_LOAD to the command that loads an image into its node (e.g. "kind load docker-image")');
  return tag;
}

export interface PodRun {
  phase: string;
  log: string;
}

/** Runs command in a pod of image until it ends; its phase and log. */
export async function runPod(namespace: string, name: string, image: string, command: string[], serviceAccountName?: string): Promise<PodRun> {
  const { core } = await cluster();
  await core.createNamespacedPod({
    namespace,
    body: {
      metadata: { name },
      spec: {
        restartPolicy: 'Never',
        ...(serviceAccountName ? { serviceAccountName } : {}),
        containers: [{ name, image, imagePullPolicy: 'Never', command }],
      },
    },
  });
  const pod = await waitFor(`pod ${name} finished`, async () => {
    const p: V1Pod = await core.readNamespacedPod({ name, namespace });
    return p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed' ? p : undefined;
  });
  const log = await core.readNamespacedPodLog({ name, namespace });
  return { phase: pod.status?.phase ?? '', log };
}

/** Starts a pod of our ui-server image (or another that serves /readyz on 8080) and waits until it is Ready. */
export async function readyPod(namespace: string, name: string, image: string): Promise<V1Pod> {
  const { core } = await cluster();
  await core.createNamespacedPod({
    namespace,
    body: {
      metadata: { name },
      spec: { containers: [{ name, image, imagePullPolicy: 'Never', ports: [{ containerPort: 8080 }], readinessProbe: { httpGet: { path: '/readyz', port: 8080 }, periodSeconds: 1 } }] },
    },
  });
  return waitFor(`pod ${name} Ready`, async () => {
    const p = await core.readNamespacedPod({ name, namespace });
    return p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? p : undefined;
  });
}

/** A node script for runPod: the image has node and no shell. */
export function nodeScript(source: string): string[] {
  return ['node', '-e', source];
}
