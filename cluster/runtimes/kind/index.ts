/** The kind runtime: the one Kubernetes runtime over the kind provider (a cluster of the checkout's own). */
import type { Runtime, RuntimeOptions } from '../../runtime.ts';
import { KubernetesRuntime } from '../kubernetes/index.ts';
import { kindProvider } from './provider.ts';

export function createRuntime(options: RuntimeOptions): Runtime {
  return new KubernetesRuntime(options, kindProvider);
}
