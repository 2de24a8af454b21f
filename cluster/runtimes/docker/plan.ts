/**
 * The docker backend's side of a plan (cluster/plan/ decides the rest): a Deployment as a container on the
 * project network, its Services' names as network aliases (`network-alias` addressing: a reference keeps its
 * host and gets the target container port, since no kube-proxy maps Service ports), its container ports
 * published on 127.0.0.1 (the frontend's on the port the ports policy chose), a volume for a stand-in's data.
 * Pure: no daemon calls.
 */
import { createHash } from 'node:crypto';
import type { Manifests } from '../../manifests/types.ts';
import { frontendTarget } from '../../plan/ports.ts';
import type { ProbeCheck } from '../../plan/readiness.ts';
import { planServices, type PublishedUrl, type ServicePlan } from '../../plan/service.ts';
import { LABELS } from '@saas/kit/contracts';

export type { PublishedUrl };
export type ReadinessCheck = ProbeCheck;

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
  /** What app-mapper's container provisioner reads (dockerBinding), once the Scope image is built. */
  provisionerEnv?: Record<string, string>;
}

/** Where the stand-ins keep their data in the container (a named volume, kept by `down` unless wiped). */
export const DATA_MOUNT = '/data';
export const DOCKER_SOCKET_IN_CONTAINER = '/var/run/docker.sock';

/** The variables containerProvisionerFromEnv (app-mapper) reads: one container per organisation on our network. */
export function dockerBinding(o: { network: string; prefix: string; projectId: string; scopeAppImage: string }): Record<string, string> {
  return {
    DOCKER_NETWORK: o.network,
    SCOPE_APP_IMAGE: o.scopeAppImage,
    DOCKER_NAME_PREFIX: `${o.prefix}-`,
    DOCKER_LABELS: JSON.stringify({ [LABELS.project]: o.projectId }),
    DOCKER_APP_REACH: 'network',
  };
}

function containerPlan(p: ServicePlan, m: Manifests, ctx: PlanContext): ContainerPlan {
  const publish: Record<number, number> = {};
  for (const port of p.ports) publish[port.containerPort] = 0;
  const frontend = frontendTarget(m);
  if (frontend?.deployment === p.deployment) publish[frontend.containerPort] = ctx.frontendPort;
  return {
    deployment: p.deployment,
    name: `${ctx.prefix}-${p.deployment}`,
    runs: p.runs!,
    ...(p.standIn ? { standsInFor: p.standIn.upstream } : {}),
    env: p.env,
    aliases: p.names,
    publish,
    ...(p.probes.readiness ? { readiness: p.probes.readiness } : {}),
    urls: p.urls,
    ...(p.standIn ? { dataVolume: `${ctx.prefix}-${p.deployment}-data` } : {}),
    provisioner: p.provisioner,
  };
}

export function planAll(m: Manifests, ctx: PlanContext): ContainerPlan[] {
  const plans = planServices(m, {
    runtime: 'docker',
    addressing: { kind: 'network-alias' },
    frontendUrl: `http://127.0.0.1:${ctx.frontendPort}`,
    provisioner: { kind: 'docker', env: ctx.provisionerEnv ?? {} },
    dataDir: () => DATA_MOUNT,
  });
  return plans.map((p) => containerPlan(p, m, ctx));
}

/** A hash of everything that decides the container, so an unchanged one is left running. */
export function configHash(plan: ContainerPlan, imageId: string): string {
  return createHash('sha256').update(JSON.stringify({ plan, imageId })).digest('hex').slice(0, 16);
}
