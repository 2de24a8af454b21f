/**
 * How the local runtime runs a Deployment: which images/<folder> (the image's own, or a named stand-in for an
 * upstream image), on which loopback ports, with which environment (Service DNS names rewritten to
 * 127.0.0.1:<port>), probed how.
 */
import path from 'node:path';
import type { Container, Deployment, Manifests, Probe, Service } from '../../manifests/types.ts';
import { resolveEnv } from '../../manifests/env.ts';
import { findServiceRefs, replaceRefs } from '../../manifests/refs.ts';
import { resolveContainerPort, selectedDeployment } from '../../manifests/validate.ts';
import type { DevPaths } from './paths.ts';
import { execMode, markerVariable, type ExecMode } from './paths.ts';
import type { PortRequest } from './ports.ts';
import type { PortBinding, ProbeSpec, ProcessSpec } from './types.ts';

/** An upstream image that cannot run as a local process, and the program that stands in for it. */
export interface StandIn {
  /** The image repository it replaces (tag ignored), e.g. postgres. */
  upstream: string;
  /** The images/<folder> that runs instead. */
  runs: string;
  what: string;
  /** The stand-in's variable for each upstream container port (its default port first). */
  portEnv: readonly { containerPort: number; env: string }[];
  /** More settings; dataDir is .dev/data/<deployment>, buildDir .dev/build (derived files, kept by a wipe). */
  env: (ctx: { dataDir: string; buildDir?: string }) => Record<string, string>;
}

export const standIns: readonly StandIn[] = [
  {
    upstream: 'postgres',
    runs: 'pglite',
    what: 'PGlite served on the Postgres wire protocol',
    portEnv: [{ containerPort: 5432, env: 'PORT' }],
    // Every database starts as a copy of one initdb's output: the first `up` runs initdb once, not per database.
    env: ({ dataDir, buildDir }) => ({ DATA_DIR: dataDir, ...(buildDir ? { TEMPLATE_DIR: path.join(buildDir, 'pglite-template') } : {}) }),
  },
  {
    upstream: 'maildev/maildev',
    runs: 'mailcatcher',
    what: 'maildev from npm',
    portEnv: [
      { containerPort: 1025, env: 'SMTP_PORT' },
      { containerPort: 1080, env: 'PORT' },
    ],
    env: ({ dataDir }) => ({ MAIL_DIR: dataDir }),
  },
];

/** Our own images: scope-saas/<name> runs images/<name>/src/main.ts. */
export const ownImagePrefix = 'scope-saas/';

/**
 * Settings that name the runtime itself, so the local runtime sets them whatever the manifest says (only for
 * containers that declare the variable): app-mapper provisions Scope apps as processes and keeps their pid
 * files where `dev down` finds them.
 */
export const runtimeEnv = (paths: DevPaths, mode: ExecMode = execMode()): Record<string, string> => ({
  PROVISIONER: 'process',
  STATE_DIR: paths.apps,
  ...(mode === 'bundle' ? { SCOPE_APP_COMMAND: `"${process.execPath}" "${scopeAppBundle(paths)}"` } : {}),
});

/**
 * Per-org Scope apps run from a bundle of the app alone (images/scope/src/app/run.ts): through tsx, or bundled
 * with the probe's clients, one idles at ~100 MB or ~75 MB of RSS instead of ~58 MB (bench/scope-app-rss.ts).
 */
export const scopeApp = { name: 'scope-app', entry: 'images/scope/src/app/run.ts', watch: 'images/scope' } as const;
export const scopeAppBundle = (paths: DevPaths): string => path.join(paths.build, `${scopeApp.name}.mjs`);

/** Which Service port the local runtime tries to keep on a fixed, memorable port. */
export const preferredPorts: readonly { service: string; port: number; env: string }[] = [{ service: 'frontend', port: 4046, env: 'DEV_FRONTEND_PORT' }];

export function imageRepository(image: string): string {
  let ref = image.split('@')[0] ?? image;
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  if (colon > slash) ref = ref.slice(0, colon);
  return ref.replace(/^docker\.io\//, '').replace(/^library\//, '');
}

export type Runner = { runs: string; standIn?: StandIn };

export function runnerFor(image: string): Runner | { error: string } {
  const repo = imageRepository(image);
  if (repo.startsWith(ownImagePrefix)) return { runs: repo.slice(ownImagePrefix.length) };
  const s = standIns.find((x) => x.upstream === repo);
  if (s) return { runs: s.runs, standIn: s };
  return {
    error: `image ${image} cannot run on the local runtime: it is not one of ours (${ownImagePrefix}<name>) and has no stand-in (${standIns.map((x) => `${x.upstream} → images/${x.runs}`).join(', ')})`,
  };
}

const portKey = (deployment: string, containerPort: number) => `${deployment}/${containerPort}`;

function mainContainer(d: Deployment): Container {
  return d.spec.template.spec.containers[0]!;
}

/** The port requests for every container port of every Deployment, preferred ones first. */
export function portRequests(m: Manifests, opts: { frontendPort?: number; env?: NodeJS.ProcessEnv } = {}): PortRequest[] {
  const env = opts.env ?? process.env;
  const requests: PortRequest[] = [];
  for (const p of preferredPorts) {
    const s = m.services.find((x) => x.metadata.name === p.service);
    const d = s && selectedDeployment(s, m.deployments);
    const sp = s?.spec.ports[0];
    if (!s || !d || !sp) continue;
    const cp = resolveContainerPort(mainContainer(d), sp.targetPort ?? sp.port);
    if (cp === undefined) continue;
    const fromEnv = env[p.env] && /^\d+$/.test(env[p.env]!) ? Number(env[p.env]) : undefined;
    const required = p.service === 'frontend' && opts.frontendPort !== undefined ? opts.frontendPort : fromEnv;
    requests.push({
      key: portKey(d.metadata.name, cp),
      label: `Service ${p.service}`,
      ...(required !== undefined ? { required } : { preferred: p.port }),
      howToChange: `set ${p.env}=<port> to choose another`,
    });
  }
  for (const d of m.deployments) {
    for (const c of d.spec.template.spec.containers) {
      for (const cp of c.ports ?? []) {
        const key = portKey(d.metadata.name, cp.containerPort);
        if (!requests.some((r) => r.key === key)) requests.push({ key, label: `Deployment ${d.metadata.name} port ${cp.name ?? cp.containerPort}` });
      }
    }
  }
  return requests;
}

function servicesByNamespace(services: readonly Service[]): Map<string, Set<string>> {
  const map = new Map<string, Set<string>>();
  for (const s of services) {
    const ns = s.metadata.namespace ?? 'default';
    if (!map.has(ns)) map.set(ns, new Set());
    map.get(ns)!.add(s.metadata.name);
  }
  return map;
}

/** The loopback port a Service port reaches, or undefined. */
export function servicePortTarget(m: Manifests, ports: ReadonlyMap<string, number>, service: string, port: number | undefined, namespace = 'default'): number | undefined {
  const s = m.services.find((x) => x.metadata.name === service && (x.metadata.namespace ?? 'default') === namespace);
  if (!s) return undefined;
  const sp = port === undefined ? (s.spec.ports.length === 1 ? s.spec.ports[0] : undefined) : s.spec.ports.find((p) => p.port === port);
  const d = selectedDeployment(s, m.deployments);
  if (!sp || !d) return undefined;
  for (const c of d.spec.template.spec.containers) {
    const cp = resolveContainerPort(c, sp.targetPort ?? sp.port);
    if (cp !== undefined) return ports.get(portKey(d.metadata.name, cp));
  }
  return undefined;
}

/** Rewrites every Service reference in value to 127.0.0.1:<port>. */
export function rewriteValue(value: string, m: Manifests, ports: ReadonlyMap<string, number>): string {
  const refs = findServiceRefs(value, servicesByNamespace(m.services));
  return replaceRefs(value, refs, (ref) => {
    const target = servicePortTarget(m, ports, ref.service, ref.port, ref.namespace);
    return target === undefined ? value.slice(ref.start, ref.end) : `127.0.0.1:${target}`;
  });
}

function probeSpec(p: Probe | undefined, c: Container, deployment: string, ports: ReadonlyMap<string, number>): ProbeSpec | undefined {
  if (!p) return undefined;
  const handler = p.httpGet ?? p.tcpSocket;
  if (!handler) return undefined;
  const cp = resolveContainerPort(c, handler.port);
  const port = cp === undefined ? undefined : ports.get(portKey(deployment, cp));
  if (port === undefined) return undefined;
  return {
    type: p.httpGet ? 'http' : 'tcp',
    port,
    ...(p.httpGet ? { path: p.httpGet.path } : {}),
    initialDelayMs: (p.initialDelaySeconds ?? 0) * 1000,
    periodMs: (p.periodSeconds ?? 10) * 1000,
    timeoutMs: (p.timeoutSeconds ?? 1) * 1000,
    failureThreshold: p.failureThreshold ?? 3,
  };
}

function schemeFor(name: string | undefined, port: number): string {
  const n = name ?? '';
  if (n.startsWith('http') || n === 'web' || [80, 8080, 443].includes(port)) return 'http';
  if (n.startsWith('smtp') || [25, 587, 1025].includes(port)) return 'smtp';
  if (n.startsWith('postgres') || port === 5432) return 'postgresql';
  return 'tcp';
}

export type PlannedProcess = Omit<ProcessSpec, 'command' | 'args' | 'hash'>;

/** Everything about running d except the command (which depends on the build). */
export function planDeployment(d: Deployment, m: Manifests, ports: ReadonlyMap<string, number>, paths: DevPaths): PlannedProcess {
  const name = d.metadata.name;
  const c = mainContainer(d);
  const runner = runnerFor(c.image);
  if ('error' in runner) throw new Error(runner.error);
  const bindings: PortBinding[] = (c.ports ?? []).map((p) => ({
    ...(p.name ? { name: p.name } : {}),
    containerPort: p.containerPort,
    hostPort: ports.get(portKey(name, p.containerPort))!,
  }));

  const env: Record<string, string> = {};
  const dataDir = path.join(paths.data, name);
  if (runner.standIn) {
    // The upstream image's own variables mean nothing to the stand-in; it gets its own.
    bindings.forEach((b, i) => {
      const byPort = runner.standIn!.portEnv.find((p) => p.containerPort === b.containerPort);
      const variable = byPort?.env ?? runner.standIn!.portEnv[i]?.env;
      if (variable) env[variable] = String(b.hostPort);
    });
    Object.assign(env, runner.standIn.env({ dataDir, buildDir: paths.build }));
  } else {
    const overrides = runtimeEnv(paths);
    const claimed = new Set<number>();
    for (const e of resolveEnv(c, m, d.metadata.namespace)) {
      if (e.name in overrides) {
        env[e.name] = overrides[e.name]!;
        continue;
      }
      const b = /PORT$/.test(e.name) ? bindings.find((x) => String(x.containerPort) === e.value) : undefined;
      if (b) {
        env[e.name] = String(b.hostPort);
        claimed.add(b.containerPort);
        continue;
      }
      env[e.name] = rewriteValue(e.value, m, ports);
    }
    const first = bindings[0];
    if (first && !claimed.has(first.containerPort) && env.PORT === undefined) env.PORT = String(first.hostPort);
  }
  env.HOST = '127.0.0.1';
  env[markerVariable] = paths.dev;

  const urls: Record<string, string> = {};
  for (const s of m.services) {
    if (selectedDeployment(s, m.deployments) !== d) continue;
    for (const sp of s.spec.ports) {
      const target = servicePortTarget(m, ports, s.metadata.name, sp.port, s.metadata.namespace ?? 'default');
      if (target !== undefined) urls[sp.name ?? String(sp.port)] = `${schemeFor(sp.name, sp.port)}://127.0.0.1:${target}`;
    }
  }

  const readiness = probeSpec(c.readinessProbe, c, name, ports);
  const liveness = probeSpec(c.livenessProbe, c, name, ports);
  return {
    name,
    image: c.image,
    runs: runner.runs,
    ...(runner.standIn ? { standIn: runner.standIn.runs } : {}),
    cwd: paths.projectDir,
    env,
    logFile: path.join(paths.logs, `${name}.log`),
    ports: bindings,
    urls,
    ...(readiness ? { readiness } : {}),
    ...(liveness ? { liveness } : {}),
  };
}
