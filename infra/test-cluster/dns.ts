/** The cluster's Service names as a hosts file for dnsmasq: `<ip> <service>.<namespace>.svc.<domain>`. */
import type { V1Service } from '@kubernetes/client-node';
import { CLUSTER_DOMAIN } from './layout.ts';

export function serviceHosts(services: readonly V1Service[], domain = CLUSTER_DOMAIN): string {
  const lines: string[] = [];
  for (const service of services) {
    const ip = service.spec?.clusterIP;
    const { name, namespace } = service.metadata ?? {};
    if (!ip || ip === 'None' || !name || !namespace) continue;
    lines.push(`${ip} ${name}.${namespace}.svc.${domain}`);
  }
  return lines.sort().join('\n') + (lines.length ? '\n' : '');
}
