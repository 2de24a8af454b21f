/**
 * Server-side apply (field manager `dev`, forced) of the objects, reporting which ones changed: an object
 * whose resourceVersion is the same after the apply was already as wanted.
 */
import { PatchStrategy, type KubernetesObject } from '@kubernetes/client-node';
import { apiStatus, type Kube } from './client.ts';

export const FIELD_MANAGER = 'dev';

export interface Applied {
  kind: string;
  name: string;
  changed: boolean;
}

export async function ensureNamespace(kube: Kube, namespace: string): Promise<void> {
  try {
    await kube.core.readNamespace({ name: namespace });
  } catch (err) {
    if (apiStatus(err) !== 404) throw err;
    await kube.core.createNamespace({ body: { metadata: { name: namespace } } });
  }
}

async function resourceVersion(kube: Kube, o: KubernetesObject): Promise<string | undefined> {
  try {
    const found = await kube.objects.read({ apiVersion: o.apiVersion ?? '', kind: o.kind ?? '', metadata: { name: o.metadata?.name ?? '', namespace: o.metadata?.namespace ?? '' } });
    return found.metadata?.resourceVersion;
  } catch (err) {
    if (apiStatus(err) === 404) return undefined;
    throw err;
  }
}

export async function applyObjects(kube: Kube, objects: readonly KubernetesObject[]): Promise<Applied[]> {
  const out: Applied[] = [];
  for (const o of objects) {
    const before = await resourceVersion(kube, o);
    const after = await kube.objects.patch(o, undefined, undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply);
    out.push({ kind: o.kind ?? '', name: o.metadata?.name ?? '', changed: before !== after.metadata?.resourceVersion });
  }
  return out;
}
