/**
 * How a process reaches a Service, as a strategy each backend picks:
 * - `loopback` (local processes): every container port has its own port on 127.0.0.1, so a Service reference
 *   becomes 127.0.0.1:<the port of the container port it targets>;
 * - `network-alias` (docker): a Service name is a network alias of the container itself, with no kube-proxy
 *   to map the Service port to the targetPort, so a reference keeps its host and gets the target container port;
 * - `cluster-dns` (Kubernetes): names resolve to Services, which map ports themselves: values stay as written,
 *   but for the namespace: applied to another namespace than `default`, `users.default.svc…` names that one.
 */
import type { Container, Deployment, Manifests, Service } from '../manifests/types.ts';
import { findServiceRefs, replaceRefs } from '../manifests/refs.ts';
import { resolveContainerPort, selectedDeployment } from '../manifests/validate.ts';

export type AddressingKind = 'loopback' | 'network-alias' | 'cluster-dns';

export type Addressing =
  | { kind: 'loopback'; /** host port by portKey(deployment, containerPort) */ ports: ReadonlyMap<string, number> }
  | { kind: 'network-alias' }
  | { kind: 'cluster-dns'; /** Where the manifests' `default` namespace is applied (default: default). */ namespace?: string };

/** The key of a Deployment's container port in a port allocation. */
export const portKey = (deployment: string, containerPort: number): string => `${deployment}/${containerPort}`;

export function mainContainer(d: Deployment): Container {
  return d.spec.template.spec.containers[0]!;
}

export function servicesByNamespace(services: readonly Service[]): Map<string, Set<string>> {
  const map = new Map<string, Set<string>>();
  for (const s of services) {
    const ns = s.metadata.namespace ?? 'default';
    if (!map.has(ns)) map.set(ns, new Set());
    map.get(ns)!.add(s.metadata.name);
  }
  return map;
}

/** The Deployment and container port a Service port reaches (the Service's only port when none is given). */
export function serviceTarget(m: Manifests, service: string, port: number | undefined, namespace = 'default'): { deployment: string; containerPort: number } | undefined {
  const s = m.services.find((x) => x.metadata.name === service && (x.metadata.namespace ?? 'default') === namespace);
  if (!s) return undefined;
  const sp = port === undefined ? (s.spec.ports.length === 1 ? s.spec.ports[0] : undefined) : s.spec.ports.find((p) => p.port === port);
  const d = selectedDeployment(s, m.deployments);
  if (!sp || !d) return undefined;
  for (const c of d.spec.template.spec.containers) {
    const containerPort = resolveContainerPort(c, sp.targetPort ?? sp.port);
    if (containerPort !== undefined) return { deployment: d.metadata.name, containerPort };
  }
  return undefined;
}

/** The loopback port a Service port reaches, or undefined. */
export function servicePortTarget(m: Manifests, ports: ReadonlyMap<string, number>, service: string, port: number | undefined, namespace = 'default'): number | undefined {
  const t = serviceTarget(m, service, port, namespace);
  return t && ports.get(portKey(t.deployment, t.containerPort));
}

/** Rewrites every Service reference in value as the strategy says. */
export function addressValue(value: string, m: Manifests, addressing: Addressing): string {
  if (addressing.kind === 'cluster-dns' && (addressing.namespace ?? 'default') === 'default') return value;
  const refs = findServiceRefs(value, servicesByNamespace(m.services));
  return replaceRefs(value, refs, (ref) => {
    const written = value.slice(ref.start, ref.end);
    if (addressing.kind === 'cluster-dns') return ref.namespace === 'default' ? written.replace(/^([^.:]+)\.default(?=[.:]|$)/i, `$1.${addressing.namespace}`) : written;
    const t = serviceTarget(m, ref.service, ref.port, ref.namespace);
    if (!t) return written;
    if (addressing.kind === 'network-alias') return `${written.replace(/:\d+$/, '')}:${t.containerPort}`;
    const hostPort = addressing.ports.get(portKey(t.deployment, t.containerPort));
    return hostPort === undefined ? written : `127.0.0.1:${hostPort}`;
  });
}

/** Whether value names a Service at all. */
export const refersToService = (value: string, m: Manifests): boolean => findServiceRefs(value, servicesByNamespace(m.services)).length > 0;

/** Every Service reference to 127.0.0.1:<port> (the local runtime). */
export const rewriteValue = (value: string, m: Manifests, ports: ReadonlyMap<string, number>): string => addressValue(value, m, { kind: 'loopback', ports });

/** Every Service reference to the same host with the target container port (the docker runtime). */
export const rewriteForNetwork = (value: string, m: Manifests): string => addressValue(value, m, { kind: 'network-alias' });

/** Where a container port listens: its own loopback port, or the container port itself in a container or pod. */
export function listenPort(addressing: Addressing, deployment: string, containerPort: number): number {
  return addressing.kind === 'loopback' ? (addressing.ports.get(portKey(deployment, containerPort)) ?? containerPort) : containerPort;
}

/** The address services bind: loopback for processes on this machine, every interface in a container. */
export const listenHost = (addressing: Addressing): string => (addressing.kind === 'loopback' ? '127.0.0.1' : '0.0.0.0');

/** The DNS names of the Services that select d (short and `.ns.svc.cluster.local` forms), e.g. network aliases. */
export function serviceNames(d: Deployment, m: Manifests): string[] {
  return servicesOf(d, m).flatMap((s) => {
    const ns = s.metadata.namespace ?? 'default';
    const n = s.metadata.name;
    return [n, `${n}.${ns}`, `${n}.${ns}.svc`, `${n}.${ns}.svc.cluster.local`];
  });
}

export function servicesOf(d: Deployment, m: Manifests): Service[] {
  return m.services.filter((s) => selectedDeployment(s, m.deployments) === d);
}
