/**
 * What tells the two Kubernetes runtimes apart, as kind's providers sit under one create pipeline: where the
 * cluster comes from, how images reach its node, how the browser reaches the frontend and what `down` removes.
 * Everything else (apply, wait, status, logs, restart, the forwarder) is the one KubernetesRuntime.
 */
import type { EventSink } from '../../events.ts';
import type { Kube } from '../../kubernetes/client.ts';
import type { ImageLoader } from '../../kubernetes/images.ts';
import type { ClusterTarget } from '../../runtime.ts';

export interface ClusterProvider {
  readonly runtime: 'kubernetes' | 'kind';
  /** `up`: the cluster to act on, made when it does not exist yet; frontendPort is where the browser will reach it. */
  ensure(emit: EventSink, frontendPort: number): Promise<ClusterTarget>;
  /** status, logs, restart, down: the cluster asked for or an earlier `up` made; undefined when there is none. */
  existing(remembered: ClusterTarget | undefined): ClusterTarget | undefined;
  /** The host port the frontend is already bound to by the cluster itself (a kind port mapping), if any. */
  boundFrontendPort(): Promise<number | undefined>;
  /** The frontend Service's NodePort when the node publishes it on the host; undefined when the forwarder holds it. */
  readonly frontendNodePort: number | undefined;
  images(kube: Kube): Promise<ImageLoader>;
  /** `down`: removes what this checkout made (its data too with wipe). connect is only called when the removal needs the API. */
  remove(emit: EventSink, connect: () => Promise<Kube>, wipe: boolean): Promise<void>;
}
