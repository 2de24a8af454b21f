import { FRONTEND_SERVICE } from '../../kubernetes/objects.ts';
import type { KubernetesState } from './state.ts';

/** The Services `dev` reaches from this machine on a Kubernetes runtime, by endpoint name. */
export const FORWARDS = [
  { name: 'frontend', service: FRONTEND_SERVICE, port: 'http' },
  { name: 'users', service: 'users', port: 'http' },
  { name: 'mail', service: 'mailcatcher', port: 'http' },
] as const;

/** The forwards the forwarder holds: all of them, but the frontend where the node publishes it (kind). */
export function forwardsOf(state: Pick<KubernetesState, 'frontendNodePort'>): (typeof FORWARDS)[number][] {
  return FORWARDS.filter((f) => !(f.name === 'frontend' && state.frontendNodePort !== undefined));
}
