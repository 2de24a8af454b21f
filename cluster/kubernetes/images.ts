/**
 * How built images reach a cluster's node. The test cluster (infra/test-cluster) takes them into its
 * containerd, as `kind load` does inside a kind node; any other node is asked what it holds (its status
 * lists its images), and one that lacks ours is a clear error rather than an ImagePullBackOff later.
 */
import { existsSync } from 'node:fs';
import { StepError } from '../events.ts';
import { NODE_NAME, state as testClusterState } from '../../infra/test-cluster/layout.ts';
import { loadImages, nodeImages } from '../../infra/test-cluster/load.ts';
import type { Kube } from './client.ts';

export interface ImageLoader {
  /** Which of refs the node already holds. */
  present(refs: readonly string[]): Promise<Set<string>>;
  load(refs: readonly string[]): Promise<void>;
  /** Which of refs, absent from the node, load() can still put there (kind: those in the local Docker). */
  obtainable?(refs: readonly string[]): Promise<Set<string>>;
}

/** `docker.io/library/postgres:16-alpine` and `postgres:16-alpine` are one image. */
export function normalizeRef(ref: string): string {
  return ref.replace(/^docker\.io\//, '').replace(/^library\//, '');
}

function matching(held: Iterable<string>, refs: readonly string[]): Set<string> {
  const have = new Set([...held].map(normalizeRef));
  return new Set(refs.filter((r) => have.has(normalizeRef(r))));
}

export async function nodeImageLoader(kube: Kube): Promise<ImageLoader> {
  const nodes = (await kube.core.listNode()).items;
  const isTestCluster = nodes.length === 1 && nodes[0]?.metadata?.name === NODE_NAME && existsSync(testClusterState.containerdSocket);
  if (isTestCluster) {
    return {
      present: async (refs) => matching(await nodeImages(), refs),
      load: (refs) => loadImages([...refs]),
    };
  }
  return {
    present: async (refs) => {
      const held = (await kube.core.listNode()).items.flatMap((n) => n.status?.images ?? []).flatMap((i) => i.names ?? []);
      return matching(held, refs);
    },
    load: async (refs) => {
      throw new StepError({
        summary: `the nodes of context ${kube.context} lack ${refs.join(', ')}, and dev cannot put images on them`,
        hint: 'use --runtime kind (dev loads the images into its node), or load them yourself (e.g. `minikube image load`) and run dev up again',
      });
    },
  };
}
