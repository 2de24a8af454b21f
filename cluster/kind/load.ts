/**
 * Images into a kind cluster's node: only those the node lacks, in parallel, through `kind load docker-image`, falling
 * back by itself to `docker save` + `kind load image-archive` where Docker's containerd image store breaks the former
 * (kubernetes-sigs/kind#3795: "ctr: content digest sha256:… not found").
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { $ } from 'zx';
import { kind, KindFailed } from './cli.ts';

/** docker's short names as containerd and the kubelet spell them: `users:1` → `docker.io/library/users:1`. */
export function fullReference(image: string): string {
  const slash = image.indexOf('/');
  const first = slash < 0 ? '' : image.slice(0, slash);
  const hasRegistry = slash >= 0 && (first.includes('.') || first.includes(':') || first === 'localhost');
  const named = hasRegistry ? image : `docker.io/${slash < 0 ? `library/${image}` : image}`;
  const lastPart = named.slice(named.lastIndexOf('/') + 1);
  return lastPart.includes(':') || lastPart.includes('@') ? named : `${named}:latest`;
}

/**
 * The image references every node of the cluster holds, from node.status.images. Our tags are content hashes, so a
 * reference the node holds names the same image ID. (The kubelet reports at most nodeStatusMaxImages, 50 by default.)
 */
export async function nodeImageReferences(kubeconfigPath: string): Promise<Set<string>> {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  const { items } = await kc.makeApiClient(CoreV1Api).listNode();
  const perNode = items.map((n) => new Set((n.status?.images ?? []).flatMap((i) => i.names ?? [])));
  if (perNode.length === 0) return new Set();
  return new Set([...perNode[0]!].filter((ref) => perNode.every((s) => s.has(ref))));
}

/** kind issue 3795's failure: Docker's containerd image store hands `kind load docker-image` an archive ctr cannot import. */
export function isContainerdStoreFailure(err: unknown): boolean {
  return err instanceof KindFailed && /content digest sha256:[0-9a-f]+.*not found/i.test(err.stderr);
}

export type LoadedBy = 'docker-image' | 'image-archive';

export interface LoadReport {
  /** Images the node already held: not loaded. */
  present: string[];
  loaded: { image: string; by: LoadedBy }[];
}

async function loadOne(image: string, cluster: string, signal?: AbortSignal): Promise<LoadedBy> {
  try {
    await kind(['load', 'docker-image', image, '--name', cluster], { signal });
    return 'docker-image';
  } catch (err) {
    if (!isContainerdStoreFailure(err)) throw err;
  }
  const dir = await mkdtemp(join(tmpdir(), 'dev-kind-load-'));
  try {
    const archive = join(dir, 'image.tar');
    await $({ quiet: true, signal })`docker save -o ${archive} ${image}`;
    await kind(['load', 'image-archive', archive, '--name', cluster], { signal });
    return 'image-archive';
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Loads every one of images into the cluster's node, in parallel, whether or not it holds them already. */
export function loadEach(images: readonly string[], options: { cluster: string; signal?: AbortSignal; onLoaded?: (image: string, by: LoadedBy) => void }): Promise<LoadReport['loaded']> {
  return Promise.all(
    images.map(async (image) => {
      const by = await loadOne(image, options.cluster, options.signal);
      options.onLoaded?.(image, by);
      return { image, by };
    }),
  );
}

/** Loads the images the node lacks. */
export async function loadImages(images: readonly string[], options: { cluster: string; kubeconfig: string; signal?: AbortSignal; onLoaded?: (image: string, by: LoadedBy) => void }): Promise<LoadReport> {
  const held = await nodeImageReferences(options.kubeconfig);
  const present = images.filter((i) => held.has(fullReference(i)));
  const missing = images.filter((i) => !held.has(fullReference(i)));
  return { present, loaded: await loadEach(missing, options) };
}
