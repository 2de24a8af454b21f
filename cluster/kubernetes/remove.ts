/**
 * `down`: deletes exactly what carries the checkout's label (the per-org apps too), and waits until it is gone.
 * The databases' claims stay, as the local runtime keeps .dev/data, unless wipe says to delete them too.
 */
import { RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { LABELS } from '@saas/kit/contracts';
import type { Kube } from './client.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface Removed {
  deployments: number;
  apps: number;
  others: number;
  /** Data claims deleted (wipe) or kept. */
  claims: { deleted: number; kept: number };
}

export async function removeCheckout(kube: Kube, namespace: string, checkout: string, options: { wipe?: boolean; timeoutMs?: number } = {}): Promise<Removed> {
  const timeoutMs = options.timeoutMs ?? 90_000;
  const labelSelector = `${LABELS.project}=${checkout}`;
  const q = { namespace, labelSelector };
  const deployments = (await kube.apps.listNamespacedDeployment(q)).items;
  const apps = deployments.filter((d) => d.metadata?.labels?.[LABELS.org]).length;
  const rbac = kube.kc.makeApiClient(RbacAuthorizationV1Api);
  const kinds: [string, () => Promise<{ items: unknown[] }>, () => Promise<unknown>][] = [
    ['deployments', () => kube.apps.listNamespacedDeployment(q), () => kube.apps.deleteCollectionNamespacedDeployment({ ...q, propagationPolicy: 'Background' })],
    ['services', () => kube.core.listNamespacedService(q), async () => {
      // Services have no delete-collection before Kubernetes 1.31.
      for (const s of (await kube.core.listNamespacedService(q)).items) await kube.core.deleteNamespacedService({ name: s.metadata?.name ?? '', namespace }).catch(() => undefined);
    }],
    ['configmaps', () => kube.core.listNamespacedConfigMap(q), () => kube.core.deleteCollectionNamespacedConfigMap(q)],
    ['secrets', () => kube.core.listNamespacedSecret(q), () => kube.core.deleteCollectionNamespacedSecret(q)],
    ['rolebindings', () => rbac.listNamespacedRoleBinding(q), () => rbac.deleteCollectionNamespacedRoleBinding(q)],
    ['roles', () => rbac.listNamespacedRole(q), () => rbac.deleteCollectionNamespacedRole(q)],
    ['serviceaccounts', () => kube.core.listNamespacedServiceAccount(q), () => kube.core.deleteCollectionNamespacedServiceAccount(q)],
  ];
  let others = 0;
  for (const [kind, list, remove] of kinds) {
    const n = (await list()).items.length;
    if (kind !== 'deployments') others += n;
    if (n) await remove();
  }
  // Nothing of ours needs the full 30 s a pod gets by default to stop: the ReplicaSets go first, so none
  // recreates a pod, then the pods with a short grace.
  await kube.apps.deleteCollectionNamespacedReplicaSet({ ...q, propagationPolicy: 'Background' });
  await kube.core.deleteCollectionNamespacedPod({ ...q, gracePeriodSeconds: 3 });
  const claims = (await kube.core.listNamespacedPersistentVolumeClaim(q)).items.length;
  if (claims && options.wipe) await kube.core.deleteCollectionNamespacedPersistentVolumeClaim(q);
  const claimsLeft = async () => (options.wipe ? (await kube.core.listNamespacedPersistentVolumeClaim(q)).items.length : 0);
  // The pods go with their ReplicaSets (garbage collection); a claim once no pod uses it. `down` is done when none of ours is left.
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = (await kube.core.listNamespacedPod(q)).items.length + (await kube.apps.listNamespacedReplicaSet(q)).items.length + (await kube.apps.listNamespacedDeployment(q)).items.length + (await claimsLeft());
    if (left === 0) break;
    if (Date.now() > deadline) throw new Error(`${left} object(s) labelled ${labelSelector} in ${namespace} were still there after ${timeoutMs / 1000} s`);
    await sleep(500);
  }
  return { deployments: deployments.length - apps, apps, others, claims: options.wipe ? { deleted: claims, kept: 0 } : { deleted: 0, kept: claims } };
}
