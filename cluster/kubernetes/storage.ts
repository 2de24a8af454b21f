/** The cluster's default StorageClass: where the stand-in databases claim their data from. */
import { StorageV1Api } from '@kubernetes/client-node';
import type { Kube } from './client.ts';

const DEFAULT_MARKS = ['storageclass.kubernetes.io/is-default-class', 'storageclass.beta.kubernetes.io/is-default-class'];

/** The name of the default StorageClass, or undefined when the cluster has none. */
export async function defaultStorageClass(kube: Kube): Promise<string | undefined> {
  const { items } = await kube.kc.makeApiClient(StorageV1Api).listStorageClass();
  return items.find((c) => DEFAULT_MARKS.some((mark) => c.metadata?.annotations?.[mark] === 'true'))?.metadata?.name;
}
