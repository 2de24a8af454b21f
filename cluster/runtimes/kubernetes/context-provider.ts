/**
 * `--runtime kubernetes --context NAME [--kubeconfig PATH]`: a cluster that exists already. dev makes no
 * cluster, puts images on the node where it can (cluster/kubernetes/images.ts), forwards the frontend, and
 * `down` removes exactly what carries the checkout's label.
 */
import { step } from '../../events.ts';
import { nodeImageLoader } from '../../kubernetes/images.ts';
import { removeCheckout } from '../../kubernetes/remove.ts';
import type { ClusterTarget } from '../../runtime.ts';
import { plural } from '../../words.ts';
import type { ClusterProvider } from './provider.ts';

export function contextProvider(asked: ClusterTarget | undefined, ns: () => string, checkout: string): ClusterProvider {
  return {
    runtime: 'kubernetes',
    ensure: async () => asked ?? {},
    existing: (remembered) => asked ?? remembered ?? {},
    boundFrontendPort: async () => undefined,
    frontendNodePort: undefined,
    images: nodeImageLoader,
    async remove(emit, connect, wipe) {
      const kube = await step(emit, 'cluster/connect', 'cluster', 'connect to the cluster', connect, (k) => `context ${k.context} (${k.server})`);
      await step(emit, 'cluster/remove', 'cluster', `remove what carries ${checkout} in context ${kube.context}`, () => removeCheckout(kube, ns(), checkout, { wipe }), (r) => {
        const data = r.claims.deleted ? `; deleted ${plural(r.claims.deleted, 'data claim')}` : r.claims.kept ? `; kept ${plural(r.claims.kept, 'data claim')} (dev down --wipe deletes them)` : '';
        return `removed ${plural(r.deployments, 'service')}, ${plural(r.apps, 'Scope app')} and ${plural(r.others, 'other object')}${data}`;
      });
    },
  };
}
