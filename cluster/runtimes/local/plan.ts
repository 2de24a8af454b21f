/**
 * The local backend's side of a plan (cluster/plan/ decides the rest): a Deployment as a supervised process
 * on 127.0.0.1, its loopback ports, its log file, its probes on those ports, data under .dev/data/<deployment>.
 */
import path from 'node:path';
import type { Deployment, Manifests } from '../../manifests/types.ts';
import { listenPort, portKey, type Addressing } from '../../plan/addressing.ts';
import type { ProvisionerBinding } from '../../plan/env.ts';
import { frontendUrl } from '../../plan/ports.ts';
import type { ProbeCheck } from '../../plan/readiness.ts';
import { planService } from '../../plan/service.ts';
import { execMode, markerVariable, type DevPaths, type ExecMode } from './paths.ts';
import type { PortBinding, ProbeSpec, ProcessSpec } from './types.ts';

/**
 * Per-org Scope apps run from a bundle of the app alone (images/scope/src/app/run.ts): through tsx, or bundled
 * with the probe's clients, one idles at ~100 MB or ~75 MB of RSS instead of ~58 MB (bench/scope-app-rss.ts).
 */
export const scopeApp = { name: 'scope-app', entry: 'images/scope/src/app/run.ts', watch: 'images/scope' } as const;
export const scopeAppBundle = (paths: DevPaths): string => path.join(paths.build, `${scopeApp.name}.mjs`);

/** app-mapper provisions Scope apps as processes and keeps their pid files where `dev down` finds them. */
export const processBinding = (paths: DevPaths, mode: ExecMode = execMode()): ProvisionerBinding => ({
  kind: 'process',
  env: {
    STATE_DIR: paths.apps,
    ...(mode === 'bundle' ? { SCOPE_APP_COMMAND: `"${process.execPath}" "${scopeAppBundle(paths)}"` } : {}),
  },
});

export type PlannedProcess = Omit<ProcessSpec, 'command' | 'args' | 'hash'>;

const onLoopback = (check: ProbeCheck | undefined, addressing: Addressing, deployment: string): ProbeSpec | undefined => {
  if (!check || addressing.kind !== 'loopback' || !addressing.ports.has(portKey(deployment, check.containerPort))) return undefined;
  const { containerPort, ...rest } = check;
  return { ...rest, port: listenPort(addressing, deployment, containerPort) };
};

/** Everything about running d except the command (which depends on the build). */
export function planDeployment(d: Deployment, m: Manifests, ports: ReadonlyMap<string, number>, paths: DevPaths): PlannedProcess {
  const addressing: Addressing = { kind: 'loopback', ports };
  const plan = planService(d, m, {
    runtime: 'local',
    addressing,
    frontendUrl: frontendUrl(m, ports) ?? 'http://127.0.0.1',
    provisioner: processBinding(paths),
    dataDir: (deployment) => path.join(paths.data, deployment),
    buildDir: paths.build,
  });
  const name = plan.deployment;
  const bindings: PortBinding[] = plan.ports.map((p) => ({ ...p, hostPort: ports.get(portKey(name, p.containerPort))! }));
  const urls: Record<string, string> = {};
  for (const u of plan.urls) {
    const target = ports.get(portKey(name, u.containerPort));
    if (target !== undefined) urls[u.name] = `${u.scheme}://127.0.0.1:${target}`;
  }
  const readiness = onLoopback(plan.probes.readiness, addressing, name);
  const liveness = onLoopback(plan.probes.liveness, addressing, name);
  const startup = onLoopback(plan.probes.startup, addressing, name);
  return {
    name,
    image: plan.image,
    runs: plan.runs!,
    ...(plan.standIn ? { standIn: plan.standIn.runs } : {}),
    cwd: paths.projectDir,
    env: { ...plan.env, [markerVariable]: paths.dev },
    logFile: path.join(paths.logs, `${name}.log`),
    ports: bindings,
    urls,
    ...(readiness ? { readiness } : {}),
    ...(liveness ? { liveness } : {}),
    ...(startup ? { startup } : {}),
  };
}
