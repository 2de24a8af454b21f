/**
 * Images into the node's containerd, as `kind load` does inside a kind node: `docker save | ctr import`.
 * The next runtimes' stand-in `kind load` calls loadImages too.
 */
import { $ } from 'zx';
import { ClusterError } from './host.ts';
import { CONTAINERD_NAMESPACE, state } from './layout.ts';
import { runningPid } from './processes.ts';

const sh = $({ quiet: true });
const ctr = ['--address', state.containerdSocket, '--namespace', CONTAINERD_NAMESPACE];

function requireContainerd(): void {
  if (runningPid('containerd') === undefined) throw new ClusterError('the test cluster is not up (its containerd is not running)', 'run npm run k8s -- up first');
}

/** Imports an archive made by `docker save`. */
export async function importArchive(archive: string): Promise<void> {
  requireContainerd();
  await sh`ctr ${ctr} images import --snapshotter overlayfs ${archive}`;
}

/** Copies each docker image into the node; an image docker does not have is refused before anything is copied. */
export async function loadImages(images: string[]): Promise<void> {
  requireContainerd();
  if (images.length === 0) throw new ClusterError('no image named', 'name one or more: npm run k8s -- load IMAGE...');
  for (const image of images) {
    const known = await sh`docker image inspect --format {{.Id}} ${image}`.nothrow();
    if (known.exitCode !== 0) throw new ClusterError(`docker has no image ${image}`, `build it first (npx dev build), or check: docker images`);
  }
  for (const image of images) await sh`docker save ${image} | ctr ${ctr} images import --snapshotter overlayfs -`;
}

/** The image names the node's containerd holds. */
export async function nodeImages(): Promise<string[]> {
  requireContainerd();
  const out = await sh`ctr ${ctr} images ls --quiet`;
  return out.stdout.split('\n').filter(Boolean);
}
