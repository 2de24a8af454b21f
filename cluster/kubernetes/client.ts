/** A connection to a cluster by `--context NAME [--kubeconfig PATH]`, checked to answer before anything is done. */
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AppsV1Api, CoreV1Api, KubeConfig, KubernetesObjectApi, VersionApi } from '@kubernetes/client-node';
import { StepError } from '../events.ts';
import type { ClusterTarget } from '../runtime.ts';

export interface Kube {
  kc: KubeConfig;
  /** The file kc was read from. */
  kubeconfig: string;
  context: string;
  server: string;
  core: CoreV1Api;
  apps: AppsV1Api;
  objects: KubernetesObjectApi;
}

export function kubeconfigPath(target: ClusterTarget): string {
  return target.kubeconfig ?? process.env.KUBECONFIG?.split(path.delimiter)[0] ?? path.join(os.homedir(), '.kube', 'config');
}

/** Loads the kubeconfig and picks the context; a missing file or context is a StepError saying what to pass. */
export function loadKubeConfig(target: ClusterTarget): KubeConfig {
  const file = kubeconfigPath(target);
  if (!existsSync(file)) throw new StepError({ summary: `no kubeconfig at ${file}`, hint: 'pass --kubeconfig PATH, or set KUBECONFIG' });
  const kc = new KubeConfig();
  kc.loadFromFile(file);
  if (target.context) {
    if (!kc.getContexts().some((c) => c.name === target.context)) {
      throw new StepError({
        summary: `the kubeconfig ${file} has no context ${target.context}`,
        hint: `pick one of: ${kc.getContexts().map((c) => c.name).join(', ') || '(none)'} (kubectl config get-contexts)`,
      });
    }
    kc.setCurrentContext(target.context);
  }
  if (!kc.getCurrentContext()) throw new StepError({ summary: `the kubeconfig ${file} names no current context`, hint: 'pass --context NAME' });
  return kc;
}

export async function connect(target: ClusterTarget): Promise<Kube> {
  const kc = loadKubeConfig(target);
  const context = kc.getCurrentContext();
  const server = kc.getCurrentCluster()?.server ?? '(no server)';
  try {
    await kc.makeApiClient(VersionApi).getCode();
  } catch (err) {
    throw new StepError({
      summary: `the cluster of context ${context} (${server}) does not answer: ${(err as Error).message}`,
      hint: 'start the cluster (for the test cluster: npm run k8s -- up), or pick another with --context',
    });
  }
  return { kc, kubeconfig: kubeconfigPath(target), context, server, core: kc.makeApiClient(CoreV1Api), apps: kc.makeApiClient(AppsV1Api), objects: KubernetesObjectApi.makeApiClient(kc) };
}

export function apiStatus(err: unknown): number | undefined {
  const e = err as { code?: number; statusCode?: number };
  return e.code ?? e.statusCode;
}
