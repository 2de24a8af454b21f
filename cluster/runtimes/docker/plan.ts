/**
 * How the docker runtime runs a Deployment: which image (ours, or the stand-in for an upstream one), which
 * environment, which network aliases, which published ports, probed how. Pure: no daemon calls.
 *
 * Service ports: a Service name is a network alias that resolves to the container itself, with no kube-proxy
 * to map the Service port (80) to the targetPort (8080). So every Service reference in an environment value
 * is rewritten to the same host with the target *container* port (`http://users.default.svc.cluster.local`
 * → `http://users.default.svc.cluster.local:8080`): the containers listen where the manifest says they do,
 * and the readiness probes and published ports stay those of the manifest. Browser-facing URLs
 * (FRONTEND_URL: the links in mails) become the frontend's published loopback URL instead.
 */
import { createHash } from 'node:crypto';
import type { Container, Deployment, Manifests, Probe, Service } from '../../manifests/types.ts';
import { resolveEnv } from '../../manifests/env.ts';
import { findServiceRefs, replaceRefs } from '../../manifests/refs.ts';
import { resolveContainerPort, selectedDeployment } from '../../manifests/validate.ts';
import { runnerFor } from '../local/plan.ts';
import { LABELS } from '@saas/kit/contracts';

export { LABELS };

/** Where the stand-ins keep their data in the container (a named volume, kept by `down` unless wiped). */
export const DATA_MOUNT = '/data';
export const DOCKER_SOCKET_IN_CONTAINER = '/var/run/docker.sock';

/** Variables whose value a browser on this machine follows, so they get the published URL, not the alias. */
const browserFacing = ['FRONTEND_URL'];

export interface ReadinessCheck {
  type: 'http' | 'tcp';
  /** The container port probed (reached from the host through its published port). */
  containerPort: number;
  path?: string;
  periodMs: number;
  timeoutMs: number;
  failureThreshold: number;
  initialDelayMs: number;
}

export interface PublishedUrl {
  /** Service port name (or number), as status shows it. */
  name: string;
  containerPort: number;
  scheme: string;
}

export interface ContainerPlan {
  deployment: string;
  /** Container name, e.g. scope-saas-1a2b3c-users. */
  name: string;
  /** The images/<folder> whose image runs. */
  runs: string;
  /** The upstream image it stands in for, if any. */
  standsInFor?: string;
  env: Record<string, string>;
  aliases: string[];
  /** Container ports published on 127.0.0.1; value = fixed host port, or 0 for one the daemon picks. */
  publish: Record<number, number>;
  readiness?: ReadinessCheck;
  urls: PublishedUrl[];
  /** A named volume mounted at DATA_MOUNT. */
  dataVolume?: string;
  /** app-mapper: the Docker socket and what its container provisioner needs. */
  provisioner: boolean;
}

export interface PlanContext {
  /** Prefix of every name: containers, network, volumes (e.g. scope-saas-1a2b3c). */
  prefix: string;
  network: string;
  /** Host port the frontend is published on (known up front so FRONTEND_URL can carry it). */
  frontendPort: number;
}

function mainContainer(d: Deployment): Container {
  return d.spec.template.spec.containers[0] as Container;
}

function servicesOf(d: Deployment, m: Manifests): Service[] {
  return m.services.filter((s) => selectedDeployment(s, m.deployments) === d);
}

function servicesByNamespace(services: readonly Service[]): Map<string, Set<string>> {
  const map = new Map<string, Set<string>>();
  for (const s of services) {
    const ns = s.metadata.namespace ?? 'default';
    if (!map.has(ns)) map.set(ns, new Set());
    map.get(ns)?.add(s.metadata.name);
  }
  return map;
}

/** The container port a Service port reaches, or undefined. */
export function serviceTarget(m: Manifests, service: string, port: number | undefined, namespace = 'default'): number | undefined {
  const s = m.services.find((x) => x.metadata.name === service && (x.metadata.namespace ?? 'default') === namespace);
  if (!s) return undefined;
  const sp = port === undefined ? (s.spec.ports.length === 1 ? s.spec.ports[0] : undefined) : s.spec.ports.find((p) => p.port === port);
  const d = selectedDeployment(s, m.deployments);
  if (!sp || !d) return undefined;
  return resolveContainerPort(mainContainer(d), sp.targetPort ?? sp.port);
}

/** Rewrites each Service reference to the same host with the target container port. */
export function rewriteForNetwork(value: string, m: Manifests): string {
  const refs = findServiceRefs(value, servicesByNamespace(m.services));
  return replaceRefs(value, refs, (ref) => {
    const target = serviceTarget(m, ref.service, ref.port, ref.namespace);
    const written = value.slice(ref.start, ref.end);
    if (target === undefined) return written;
    const host = written.replace(/:\d+$/, '');
    return `${host}:${target}`;
  });
}

function readiness(p: Probe | undefined, c: Container): ReadinessCheck | undefined {
  const handler = p?.httpGet ?? p?.tcpSocket;
  if (!p || !handler) return undefined;
  const containerPort = resolveContainerPort(c, handler.port) ?? (typeof handler.port === 'number' ? handler.port : undefined);
  if (containerPort === undefined) return undefined;
  return {
    type: p.httpGet ? 'http' : 'tcp',
    containerPort,
    ...(p.httpGet ? { path: p.httpGet.path } : {}),
    periodMs: (p.periodSeconds ?? 10) * 1000,
    timeoutMs: (p.timeoutSeconds ?? 1) * 1000,
    failureThreshold: p.failureThreshold ?? 3,
    initialDelayMs: (p.initialDelaySeconds ?? 0) * 1000,
  };
}

function schemeFor(name: string | undefined, port: number, containerPort: number): string {
  const n = name ?? '';
  if (n.startsWith('http') || n === 'web' || [80, 8080, 443].includes(port)) return 'http';
  if (n.startsWith('smtp') || [25, 587, 1025].includes(port) || containerPort === 1025) return 'smtp';
  if (n.startsWith('postgres') || port === 5432) return 'postgresql';
  return 'tcp';
}

export function planDeployment(d: Deployment, m: Manifests, ctx: PlanContext): ContainerPlan {
  const name = d.metadata.name;
  const c = mainContainer(d);
  const runner = runnerFor(c.image);
  if ('error' in runner) throw new Error(runner.error.replace('the local runtime', 'the docker runtime'));
  const services = servicesOf(d, m);
  const env: Record<string, string> = {};
  let provisioner = false;
  let dataVolume: string | undefined;
  if (runner.standIn) {
    // The upstream image's variables (POSTGRES_PASSWORD, MAILDEV_*) mean nothing to the stand-in: it listens on
    // the upstream container ports and keeps its data in the volume.
    (c.ports ?? []).forEach((p, i) => {
      const byPort = runner.standIn?.portEnv.find((x) => x.containerPort === p.containerPort);
      const variable = byPort?.env ?? runner.standIn?.portEnv[i]?.env;
      if (variable) env[variable] = String(p.containerPort);
    });
    Object.assign(env, runner.standIn.env({ dataDir: DATA_MOUNT }));
    dataVolume = `${ctx.prefix}-${name}-data`;
  } else {
    for (const e of resolveEnv(c, m, d.metadata.namespace)) {
      if (e.name === 'PROVISIONER') {
        env.PROVISIONER = 'docker';
        provisioner = true;
      } else if (browserFacing.includes(e.name) && findServiceRefs(e.value, servicesByNamespace(m.services)).length) {
        env[e.name] = `http://127.0.0.1:${ctx.frontendPort}`;
      } else {
        env[e.name] = rewriteForNetwork(e.value, m);
      }
    }
    const first = c.ports?.[0];
    if (first && env.PORT === undefined) env.PORT = String(first.containerPort);
  }
  env.HOST = '0.0.0.0';

  const aliases = services.flatMap((s) => {
    const ns = s.metadata.namespace ?? 'default';
    const n = s.metadata.name;
    return [n, `${n}.${ns}`, `${n}.${ns}.svc`, `${n}.${ns}.svc.cluster.local`];
  });
  const publish: Record<number, number> = {};
  for (const p of c.ports ?? []) publish[p.containerPort] = 0;
  const urls: PublishedUrl[] = [];
  for (const s of services) {
    for (const sp of s.spec.ports) {
      const cp = resolveContainerPort(c, sp.targetPort ?? sp.port);
      if (cp === undefined) continue;
      urls.push({ name: sp.name ?? String(sp.port), containerPort: cp, scheme: schemeFor(sp.name, sp.port, cp) });
      if (s.metadata.name === 'frontend' && urls.length === 1) publish[cp] = ctx.frontendPort;
    }
  }
  const ready = readiness(c.readinessProbe, c);
  return {
    deployment: name,
    name: `${ctx.prefix}-${name}`,
    runs: runner.runs,
    ...(runner.standIn ? { standsInFor: runner.standIn.upstream } : {}),
    env,
    aliases,
    publish,
    ...(ready ? { readiness: ready } : {}),
    urls,
    ...(dataVolume ? { dataVolume } : {}),
    provisioner,
  };
}

export function planAll(m: Manifests, ctx: PlanContext): ContainerPlan[] {
  return m.deployments.map((d) => planDeployment(d, m, ctx));
}

/** A hash of everything that decides the container, so an unchanged one is left running. */
export function configHash(plan: ContainerPlan, imageId: string, extra: Record<string, string> = {}): string {
  const h = createHash('sha256');
  h.update(JSON.stringify({ plan, imageId, extra }));
  return h.digest('hex').slice(0, 16);
}
