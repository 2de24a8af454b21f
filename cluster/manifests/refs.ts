/**
 * Finds references to Services in configuration values: the cluster DNS forms Kubernetes resolves
 * (`users`, `users.default`, `users.default.svc`, `users.default.svc.cluster.local`), with or without a port,
 * inside URLs (`postgresql://u:p@users-db.default.svc.cluster.local:5432/db`) or on their own (`users:80`).
 * Validation checks each one names an existing Service port; the local runtime rewrites each to 127.0.0.1:<port>.
 */

export interface ServiceRef {
  /** Where host[:port] starts and ends in the value (the part a runtime replaces). */
  start: number;
  end: number;
  /** The host as written, e.g. users.default.svc.cluster.local. */
  host: string;
  service: string;
  namespace: string;
  /** The port written, or the scheme's default (http 80, postgresql 5432, …); undefined when neither is known. */
  port?: number;
  explicitPort: boolean;
  scheme?: string;
}

export const defaultPorts: Record<string, number> = {
  http: 80,
  ws: 80,
  https: 443,
  wss: 443,
  postgres: 5432,
  postgresql: 5432,
  smtp: 25,
  smtps: 465,
  redis: 6379,
  mysql: 3306,
  amqp: 5672,
  nats: 4222,
};

const label = '[a-z0-9](?:[-a-z0-9]*[a-z0-9])?';
// scheme://[userinfo@]host[:port]  |  host[:port] ; the host is dot-separated DNS labels.
const token = new RegExp(`(?:([a-z][a-z0-9+.-]*)://(?:[^@/\\s?#]*@)?)?(${label}(?:\\.${label})*)(?::(\\d{1,5}))?`, 'gi');

/**
 * @param services the Service names that exist, by namespace (a bare single label only counts as a reference
 *   when it is one of these, or the whole value is host[:port]; explicit cluster forms always count, so a typo
 *   in one is reported instead of silently ignored).
 */
export function findServiceRefs(value: string, services: ReadonlyMap<string, ReadonlySet<string>>, defaultNamespace = 'default'): ServiceRef[] {
  const refs: ServiceRef[] = [];
  token.lastIndex = 0;
  for (let m = token.exec(value); m; m = token.exec(value)) {
    const [whole, schemeRaw, hostRaw, portRaw] = m;
    if (hostRaw === undefined) continue;
    const before = value[m.index - 1];
    // Part of a larger word (e.g. the "b" in "a.b"), an email's domain or a path segment: not a host position.
    if (!schemeRaw && before !== undefined && /[\w.@/-]/.test(before)) continue;
    const after = value[m.index + whole.length];
    if (after !== undefined && /[\w-]/.test(after)) continue;
    const host = hostRaw.toLowerCase();
    const scheme = schemeRaw?.toLowerCase();
    const parts = host.split('.');
    let service: string | undefined;
    let namespace = defaultNamespace;
    let explicitForm = false;
    if (parts.length >= 3 && host.endsWith('.svc.cluster.local') && parts.length === 5) {
      [service, namespace] = parts as [string, string];
      explicitForm = true;
    } else if (parts.length === 3 && parts[2] === 'svc') {
      [service, namespace] = parts as [string, string];
      explicitForm = true;
    } else if (parts.length === 2 && services.has(parts[1]!)) {
      [service, namespace] = parts as [string, string];
      explicitForm = true;
    } else if (parts.length === 1) {
      const known = services.get(defaultNamespace)?.has(host) ?? false;
      const wholeValue = m.index === 0 && whole.length === value.length;
      if (known && (scheme !== undefined || portRaw !== undefined || wholeValue)) service = host;
    }
    if (service === undefined) continue;
    if (!explicitForm && !(services.get(namespace)?.has(service) ?? false)) continue;
    const hostStart = m.index + whole.length - hostRaw.length - (portRaw !== undefined ? portRaw.length + 1 : 0);
    const port = portRaw !== undefined ? Number(portRaw) : scheme !== undefined ? defaultPorts[scheme] : undefined;
    refs.push({
      start: hostStart,
      end: m.index + whole.length,
      host,
      service,
      namespace,
      ...(port !== undefined ? { port } : {}),
      explicitPort: portRaw !== undefined,
      ...(scheme !== undefined ? { scheme } : {}),
    });
  }
  return refs;
}

/** Replaces each reference's host[:port] with what `to` returns for it (refs as findServiceRefs returned them). */
export function replaceRefs(value: string, refs: readonly ServiceRef[], to: (ref: ServiceRef) => string): string {
  let out = '';
  let at = 0;
  for (const ref of [...refs].sort((a, b) => a.start - b.start)) {
    out += value.slice(at, ref.start) + to(ref);
    at = ref.end;
  }
  return out + value.slice(at);
}
