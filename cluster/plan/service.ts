/**
 * One Deployment planned for any backend: what runs it (our image, a stand-in, or the upstream image), its
 * container ports, its environment, its readiness spec, the Service ports that reach it and their names. The
 * backends turn this into a process spec, a container or a server-side-applied Deployment.
 */
import type { Deployment, Manifests } from '../manifests/types.ts';
import { resolveContainerPort } from '../manifests/validate.ts';
import type { RuntimeName } from '../runtime.ts';
import { mainContainer, serviceNames, servicesOf, type Addressing } from './addressing.ts';
import { planEnv, type EnvContext } from './env.ts';
import { readinessSpec, type ReadinessSpec } from './readiness.ts';
import { runnerFor, type Runner, type RunnerPolicy, type StandIn } from './stand-ins.ts';

export interface PublishedUrl {
  /** Service port name (or number), as status shows it. */
  name: string;
  containerPort: number;
  scheme: string;
}

export interface ServicePlan {
  deployment: string;
  namespace: string;
  /** The manifest's image, e.g. scope-saas/users or postgres:16-alpine. */
  image: string;
  runner: Runner;
  /** The images/<folder> built for it; undefined when the upstream image runs as it is. */
  runs?: string;
  standIn?: StandIn;
  ports: { name?: string; containerPort: number }[];
  env: Record<string, string>;
  /** It declares PROVISIONER: it got the backend's provisioner binding. */
  provisioner: boolean;
  probes: ReadinessSpec;
  urls: PublishedUrl[];
  /** The DNS names of the Services that select it. */
  names: string[];
}

export interface PlanContext extends EnvContext, RunnerPolicy {
  runtime: RuntimeName;
  addressing: Addressing;
}

export function schemeFor(name: string | undefined, port: number, containerPort: number): string {
  const n = name ?? '';
  if (n.startsWith('http') || n === 'web' || [80, 8080, 443].includes(port)) return 'http';
  if (n.startsWith('smtp') || [25, 587, 1025].includes(port) || containerPort === 1025) return 'smtp';
  if (n.startsWith('postgres') || port === 5432) return 'postgresql';
  return 'tcp';
}

/** The runner of every Deployment that runs (replicas: 0 runs nothing), or the first error as thrown. */
export function runners(m: Manifests, policy: RunnerPolicy): Map<string, Runner> {
  const out = new Map<string, Runner>();
  for (const d of running(m)) {
    const r = runnerFor(mainContainer(d).image, policy);
    if ('error' in r) throw new Error(r.error);
    out.set(d.metadata.name, r);
  }
  return out;
}

/** The Deployments that run: replicas: 0 is a Deployment scaled to zero. */
export const running = (m: Manifests): Deployment[] => m.deployments.filter((d) => d.spec.replicas !== 0);

export function planService(d: Deployment, m: Manifests, ctx: PlanContext): ServicePlan {
  const c = mainContainer(d);
  const runner = runnerFor(c.image, ctx);
  if ('error' in runner) throw new Error(runner.error);
  const standIn = 'runs' in runner ? runner.standIn : undefined;
  const { env, provisioner } = planEnv(d, m, standIn, ctx);
  const urls: PublishedUrl[] = [];
  for (const s of servicesOf(d, m)) {
    for (const sp of s.spec.ports) {
      const containerPort = resolveContainerPort(c, sp.targetPort ?? sp.port);
      if (containerPort !== undefined) urls.push({ name: sp.name ?? String(sp.port), containerPort, scheme: schemeFor(sp.name, sp.port, containerPort) });
    }
  }
  return {
    deployment: d.metadata.name,
    namespace: d.metadata.namespace ?? 'default',
    image: c.image,
    runner,
    ...('runs' in runner ? { runs: runner.runs } : {}),
    ...(standIn ? { standIn } : {}),
    ports: (c.ports ?? []).map((p) => ({ ...(p.name ? { name: p.name } : {}), containerPort: p.containerPort })),
    env,
    provisioner,
    probes: readinessSpec(c),
    urls,
    names: serviceNames(d, m),
  };
}

export function planServices(m: Manifests, ctx: PlanContext): ServicePlan[] {
  return running(m).map((d) => planService(d, m, ctx));
}
