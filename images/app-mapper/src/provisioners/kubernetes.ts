/**
 * The Kubernetes provisioner (PROVISIONER=kubernetes): the app lifecycle over a Deployment + Service per
 * organisation (kubernetes-backend.ts), with app-mapper's own service account (in-cluster config).
 *
 * Configuration (kubernetesProvisionerFromEnv): SCOPE_APP_IMAGE (required: the built scope image the runtime
 * loaded); APP_LABELS (a JSON object of labels put on every app, the runtime's checkout label);
 * POD_NAMESPACE (default: the service account's namespace); SCOPE_APP_PORT (8080).
 */
import { readFileSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '@saas/kit';
import { KubernetesBackend, type KubernetesApp } from './kubernetes-backend.ts';
import { AppLifecycle } from './lifecycle.ts';

const SERVICE_ACCOUNT_NAMESPACE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

export interface KubernetesProvisionerSettings {
  log: Logger;
  startTimeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  /** Default: the in-cluster config (or KUBECONFIG outside a cluster). */
  kubeConfig?: KubeConfig;
}

function parseLabels(text: string | undefined): Record<string, string> {
  if (!text) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error('APP_LABELS must be a JSON object of label → value');
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed) || Object.values(parsed).some((v) => typeof v !== 'string')) {
    throw new Error('APP_LABELS must be a JSON object of label → value');
  }
  return parsed as Record<string, string>;
}

function ownNamespace(env: NodeJS.ProcessEnv): string {
  if (env.POD_NAMESPACE) return env.POD_NAMESPACE;
  try {
    return readFileSync(SERVICE_ACCOUNT_NAMESPACE, 'utf8').trim();
  } catch {
    throw new Error(`PROVISIONER=kubernetes needs POD_NAMESPACE outside a pod (no ${SERVICE_ACCOUNT_NAMESPACE})`);
  }
}

export function kubernetesProvisionerFromEnv(s: KubernetesProvisionerSettings): AppLifecycle<KubernetesApp> {
  const env = s.env ?? process.env;
  if (!env.SCOPE_APP_IMAGE) {
    throw new Error('PROVISIONER=kubernetes needs SCOPE_APP_IMAGE, the scope image to run per organisation (the kubernetes runtime sets it: dev up --runtime kubernetes)');
  }
  let kubeConfig = s.kubeConfig;
  if (!kubeConfig) {
    kubeConfig = new KubeConfig();
    kubeConfig.loadFromDefault();
  }
  const backend = new KubernetesBackend({
    kubeConfig,
    namespace: ownNamespace(env),
    image: env.SCOPE_APP_IMAGE,
    labels: parseLabels(env.APP_LABELS),
    port: env.SCOPE_APP_PORT ? Number(env.SCOPE_APP_PORT) : 8080,
  });
  // A pod's image is already on the node, but scheduling and the readiness probe take a few seconds.
  return new AppLifecycle({ backend, log: s.log, startTimeoutMs: s.startTimeoutMs ?? 90_000, stopGraceMs: 5000, pollMs: 500 });
}
