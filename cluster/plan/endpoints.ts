/** Which Services the endpoints `dev up` prints are, and which of their ports: the same on every backend. */
import type { Endpoints } from '../runtime.ts';

export const endpointServices: Record<keyof Endpoints, { service: string; port: string }> = {
  frontend: { service: 'frontend', port: 'http' },
  users: { service: 'users', port: 'http' },
  mail: { service: 'mailcatcher', port: 'http' },
};

/** The endpoints from each service's URLs by port name (an http:// one when that port name is missing), or null. */
export function endpointsOf(services: readonly { name: string; urls?: Record<string, string> }[]): Endpoints | null {
  const out: Partial<Endpoints> = {};
  for (const [key, { service, port }] of Object.entries(endpointServices) as [keyof Endpoints, { service: string; port: string }][]) {
    const urls = services.find((s) => s.name === service)?.urls ?? {};
    const url = urls[port] ?? Object.values(urls).find((u) => u.startsWith('http://'));
    if (!url) return null;
    out[key] = url;
  }
  return out as Endpoints;
}
