/**
 * The docker runtime: every Deployment of the manifests runs as a container of its built image on a
 * user-defined network of the project, its Services' names (short and `.default.svc.cluster.local` forms) as
 * network aliases. Stand-ins replace upstream images (postgres → our pglite image, maildev → our mailcatcher
 * image). Each container port is published on 127.0.0.1 (the frontend on a stable port, the others on ports
 * the daemon picks), which is how readiness is probed and how status shows URLs. app-mapper gets the Docker
 * socket and PROVISIONER=docker, so the per-organisation Scope apps are containers on the same network.
 *
 * Everything made carries the label scope-saas.project=<id of this checkout + .dev folder>: `down` removes
 * exactly those containers and networks (and, with wipe, volumes), nothing else.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { StepError, step, type EventSink } from '../../events.ts';
import type {
  DownOptions,
  Endpoints,
  LogOptions,
  Runtime,
  RuntimeOptions,
  ScopeAppStatus,
  ServiceStatus,
  SystemStatus,
  UpOptions,
} from '../../runtime.ts';
import { APP_ROLE, appName } from '@saas/kit/contracts';
import { buildImages, REFERENCES_LABEL, type BuiltImage } from '../../images/build.ts';
import { connectDocker, dockerSocketGroup, dockerSocketPath, isNotFound, requireDocker, type Docker } from '../../images/docker.ts';
import { projectHash } from '../../images/paths.ts';
import { imageSpec, type ImageSpec } from '../../images/specs.ts';
import { LABELS } from '@saas/kit/contracts';
import { allocatePorts, PortTakenError } from '../../host/ports.ts';
import { endpointsOf } from '../../plan/endpoints.ts';
import { portRequests } from '../../plan/ports.ts';
import { probeOnce, type ProbeResult } from '../../plan/prober.ts';
import { describeCheck as describe } from '../../plan/readiness.ts';
import { runners } from '../../plan/service.ts';
import { configHash, DATA_MOUNT, DOCKER_SOCKET_IN_CONTAINER, dockerBinding, planAll, type ContainerPlan, type PlanContext, type PublishedUrl, type ReadinessCheck } from './plan.ts';
import { execTcpProbe } from './probe.ts';

export { planAll, LABELS };

const SCOPE_IMAGE = 'scope';
/** A container that crashed this many times while we wait for it is reported instead of waited on. */
const CRASHES_BEFORE_FAILING = 3;

type ContainerInfo = Awaited<ReturnType<ReturnType<Docker['getContainer']>['inspect']>>;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function createRuntime(options: RuntimeOptions): Runtime {
  return new DockerRuntime(options);
}

export class DockerRuntime implements Runtime {
  readonly name = 'docker' as const;
  readonly projectDir: string;
  readonly devDir: string;
  /** Put on everything we make, as the value of scope-saas.project. */
  readonly projectId: string;
  /** Prefix of container and volume names; also the network's name. */
  readonly prefix: string;
  private readonly stateFile: string;
  private readonly portsFile: string;
  private docker: Docker | undefined;
  private readonly injected: Docker | undefined;

  /**
   * docker: a client to use instead of DOCKER_HOST / the default socket (tests).
   * specs: images built from elsewhere than images/<name> (tests).
   */
  constructor(
    private readonly options: RuntimeOptions,
    docker?: Docker,
    private readonly specs: Partial<Record<string, ImageSpec>> = {},
  ) {
    this.injected = docker;
    this.projectDir = path.resolve(options.projectDir);
    this.devDir = path.resolve(options.devDir ?? path.join(this.projectDir, '.dev'));
    this.projectId = projectHash(`${this.projectDir}\0${this.devDir}`);
    this.prefix = `scope-saas-${this.projectId.slice(0, 6)}`;
    this.stateFile = path.join(this.devDir, 'state', 'docker.json');
    this.portsFile = path.join(this.devDir, 'state', 'ports.json');
  }

  get network(): string {
    return this.prefix;
  }

  private async client(): Promise<Docker> {
    this.docker ??= await requireDocker(this.injected ?? connectDocker());
    return this.docker;
  }

  private projectFilter(extra: string[] = []): { label: string[] } {
    return { label: [`${LABELS.project}=${this.projectId}`, ...extra] };
  }

  /** The frontend's host port, by the ports policy every backend shares (cluster/plan/ports.ts). */
  private async frontendPort(docker: Docker, manifests: UpOptions['manifests'], emit: EventSink): Promise<number> {
    const ours = new Set(await this.publishedPorts(docker, `${this.prefix}-frontend`));
    const requests = portRequests(manifests, { ...(this.options.frontendPort !== undefined ? { frontendPort: this.options.frontendPort } : {}), needed: 'frontend' });
    const { ports, notices } = await step(emit, 'check/ports', 'check', 'choose the frontend port', async () => {
      try {
        return await allocatePorts(this.portsFile, requests, ours);
      } catch (err) {
        if (!(err instanceof PortTakenError)) throw err;
        throw new StepError({ summary: err.message, hint: err.howToChange ? `${err.howToChange}, or stop whatever holds port ${err.port}` : `stop whatever holds port ${err.port}` });
      }
    }, (r) => `${[...r.ports.values()].join(', ')}`);
    for (const n of notices) emit({ type: 'notice', level: 'warn', message: n.message, at: Date.now() });
    const port = ports.get(requests[0]?.key ?? '');
    if (port === undefined) throw new StepError({ summary: 'the manifests have no frontend Service to publish', hint: 'add a Service named frontend' });
    return port;
  }

  private async publishedPorts(docker: Docker, name: string): Promise<number[]> {
    const info = await this.inspect(docker, name);
    if (!info) return [];
    return Object.values(info.NetworkSettings.Ports ?? {}).flatMap((bindings) => (bindings ?? []).map((b) => Number(b.HostPort)));
  }

  private async inspect(docker: Docker, name: string): Promise<ContainerInfo | undefined> {
    try {
      return await docker.getContainer(name).inspect();
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async up(options: UpOptions): Promise<SystemStatus> {
    const { emit, manifests } = options;
    const docker = await this.client();
    const deadline = Date.now() + (options.timeoutMs ?? 180_000);
    const frontendPort = await this.frontendPort(docker, manifests, emit);
    let needed: Set<string>;
    try {
      needed = new Set([...runners(manifests, { runtime: 'docker' }).values()].flatMap((r) => ('runs' in r ? [r.runs] : [])));
    } catch (err) {
      throw new StepError({ summary: (err as Error).message, hint: 'use an image of ours (scope-saas/<name>) or one with a stand-in' });
    }
    const provisions = manifests.deployments.some((d) => d.spec.template.spec.containers[0]?.env?.some((e) => e.name === 'PROVISIONER'));
    if (provisions) needed.add(SCOPE_IMAGE);
    const images = await buildImages({ emit, docker, root: this.projectDir, images: [...needed].map((n) => this.specs[n] ?? imageSpec(n, this.projectDir)) });
    const scope = images.get(SCOPE_IMAGE);
    const ctx: PlanContext = {
      prefix: this.prefix,
      network: this.network,
      frontendPort,
      ...(scope ? { provisionerEnv: dockerBinding({ network: this.network, prefix: this.prefix, projectId: this.projectId, scopeAppImage: scope.tag }) } : {}),
    };
    const plans = planAll(manifests, ctx);

    await step(emit, 'cluster/network', 'cluster', `docker network ${this.network}`, () => this.ensureNetwork(docker), (r) => r);
    await mkdir(path.dirname(this.stateFile), { recursive: true });
    await writeFile(this.stateFile, JSON.stringify({ prefix: this.prefix, network: this.network, frontendPort }));

    const startAndWait = async (plan: ContainerPlan, progress: (m: string) => void) => {
      const changed = await this.ensureContainer(docker, plan, images, progress);
      return { changed, url: await this.waitReady(docker, plan, deadline, progress) };
    };
    const title = (plan: ContainerPlan) => `start ${plan.deployment}${plan.standsInFor ? ` (${plan.runs} for ${plan.standsInFor})` : ''}`;
    const said = (r: { changed: boolean; url: string | undefined }) => `${r.changed ? 'ready' : 'unchanged, ready'}${r.url ? ` on ${r.url}` : ''}`;
    const results = await Promise.allSettled(plans.map((plan) => step(emit, `service/${plan.deployment}`, 'service', title(plan), (progress) => startAndWait(plan, progress), said)));
    const failed = plans.filter((_, i) => results[i]?.status === 'rejected').map((p) => p.deployment);
    if (failed.length) {
      const first = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')?.reason;
      throw new StepError({
        summary: `${failed.length} service(s) did not become ready: ${failed.join(', ')}`,
        hint: first instanceof StepError ? first.diagnosis.hint : `see \`dev logs ${failed[0]}\``,
        ...(first instanceof StepError && first.diagnosis.logs ? { logs: first.diagnosis.logs } : {}),
      });
    }
    // Containers of Deployments that left the manifests are ours and no longer wanted.
    const wanted = new Set(plans.map((p) => p.name));
    for (const c of await docker.listContainers({ all: true, filters: this.projectFilter([`${LABELS.role}=service`]) })) {
      const name = (c.Names[0] ?? '').replace(/^\//, '');
      if (!wanted.has(name)) await this.removeContainer(docker, c.Id, 10);
    }
    return this.status();
  }

  private async ensureNetwork(docker: Docker): Promise<string> {
    const existing = await docker.listNetworks({ filters: { name: [this.network] } });
    const exact = existing.find((n) => n.Name === this.network);
    if (exact) {
      if (exact.Labels?.[LABELS.project] !== this.projectId) {
        throw new StepError({
          summary: `a docker network named ${this.network} exists but was not made by this project`,
          hint: `remove it (\`docker network rm ${this.network}\`) if it is a leftover`,
        });
      }
      return 'exists';
    }
    await docker.createNetwork({ Name: this.network, Driver: 'bridge', CheckDuplicate: true, Labels: { [LABELS.project]: this.projectId } });
    return 'created';
  }

  private async ensureVolume(docker: Docker, name: string): Promise<void> {
    try {
      const v = await docker.getVolume(name).inspect();
      if (v.Labels?.[LABELS.project] !== this.projectId) {
        throw new StepError({ summary: `a docker volume named ${name} exists but was not made by this project`, hint: `remove it (\`docker volume rm ${name}\`) if it is a leftover` });
      }
    } catch (err) {
      if (!isNotFound(err)) throw err;
      await docker.createVolume({ Name: name, Labels: { [LABELS.project]: this.projectId } });
    }
  }

  /** Creates (or keeps, when nothing about it changed) the Deployment's container; true when it was (re)created. */
  private async ensureContainer(docker: Docker, plan: ContainerPlan, images: Map<string, BuiltImage>, progress: (m: string) => void): Promise<boolean> {
    const image = images.get(plan.runs);
    if (!image) throw new StepError({ summary: `no image was built for ${plan.runs}` });
    const hash = configHash(plan, image.id);
    const existing = await this.inspect(docker, plan.name);
    if (existing) {
      const labels = existing.Config.Labels ?? {};
      if (labels[LABELS.project] !== this.projectId) {
        throw new StepError({
          summary: `a container named ${plan.name} exists but was not made by this project`,
          hint: `remove it (\`docker rm -f ${plan.name}\`) if it is a leftover`,
        });
      }
      if (labels[LABELS.config] === hash && (existing.State.Running || existing.State.Restarting)) return false;
      progress(labels[LABELS.config] === hash ? 'container is stopped: recreating it' : 'image or configuration changed: replacing the container');
      await this.removeContainer(docker, existing.Id, 10);
    }
    if (plan.dataVolume) await this.ensureVolume(docker, plan.dataVolume);
    const exposed: Record<string, object> = {};
    const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
    for (const [port, hostPort] of Object.entries(plan.publish)) {
      exposed[`${port}/tcp`] = {};
      bindings[`${port}/tcp`] = [{ HostIp: '127.0.0.1', HostPort: hostPort ? String(hostPort) : '' }];
    }
    const socketGroup = plan.provisioner ? dockerSocketGroup() : undefined;
    progress(`creating ${plan.name} from ${image.tag}`);
    const container = await docker.createContainer({
      name: plan.name,
      Image: image.tag,
      Env: Object.entries(plan.env).map(([k, v]) => `${k}=${v}`),
      Labels: {
        [LABELS.project]: this.projectId,
        [LABELS.role]: 'service',
        [LABELS.deployment]: plan.deployment,
        [LABELS.image]: plan.runs,
        [LABELS.config]: hash,
        [LABELS.urls]: JSON.stringify(plan.urls),
        ...(plan.env.SCOPE_APP_IMAGE ? { [REFERENCES_LABEL]: plan.env.SCOPE_APP_IMAGE } : {}),
        ...(plan.readiness ? { [LABELS.readiness]: JSON.stringify(plan.readiness) } : {}),
      },
      ExposedPorts: exposed,
      HostConfig: {
        Init: true,
        RestartPolicy: { Name: 'unless-stopped' },
        LogConfig: { Type: 'json-file', Config: { 'max-size': '10m', 'max-file': '3' } },
        NetworkMode: this.network,
        PortBindings: bindings,
        ...(plan.dataVolume ? { Mounts: [{ Type: 'volume', Source: plan.dataVolume, Target: DATA_MOUNT }] } : {}),
        ...(plan.provisioner ? { Binds: [`${dockerSocketPath()}:${DOCKER_SOCKET_IN_CONTAINER}`] } : {}),
        ...(socketGroup !== undefined ? { GroupAdd: [String(socketGroup)] } : {}),
      },
      NetworkingConfig: { EndpointsConfig: { [this.network]: { Aliases: plan.aliases } } },
    });
    await container.start();
    return true;
  }

  /** Probes the readiness check through the published port until it passes; fails early on a crash loop. */
  private async waitReady(docker: Docker, plan: ContainerPlan, deadline: number, progress: (m: string) => void): Promise<string | undefined> {
    let last = '';
    const say = (m: string) => {
      if (m !== last) progress(m);
      last = m;
    };
    for (;;) {
      const info = await this.inspect(docker, plan.name);
      if (!info) throw new StepError({ summary: `container ${plan.name} disappeared while starting` });
      const urls = urlsOf(info, plan.urls);
      const firstUrl = Object.values(urls)[0];
      if (info.State.Running && !info.State.Restarting) {
        if (!plan.readiness) return firstUrl;
        const r = await check(docker, info, plan.readiness);
        if (r.ok) return firstUrl;
        say(`waiting for ${describe(plan.readiness)} (${r.detail})`);
      } else {
        say(`${info.State.Status}${info.State.ExitCode ? ` (exit code ${info.State.ExitCode})` : ''}, restarts ${info.RestartCount}`);
      }
      if (info.RestartCount >= CRASHES_BEFORE_FAILING || (!info.State.Running && !info.State.Restarting && info.State.Status === 'exited' && info.RestartCount > 0 && info.HostConfig.RestartPolicy?.Name === 'no')) {
        throw await this.crashed(docker, plan, info, `${plan.deployment} keeps crashing (${info.RestartCount} restarts, last exit code ${info.State.ExitCode})`);
      }
      if (Date.now() > deadline) {
        throw await this.crashed(docker, plan, info, `${plan.deployment} was not ready in time: ${last || info.State.Status}`);
      }
      await sleep(Math.min(500, plan.readiness?.periodMs ?? 500));
    }
  }

  private async crashed(docker: Docker, plan: ContainerPlan, info: ContainerInfo, summary: string): Promise<StepError> {
    const lines = await this.tail(docker, info.Id, 30);
    return new StepError({
      summary,
      hint: `see \`dev logs ${plan.deployment} --runtime docker\`; fix the service and run \`dev up --runtime docker\` again`,
      ...(plan.readiness ? { expected: describe(plan.readiness) + ' to pass' } : {}),
      actual: `${info.State.Status}, exit code ${info.State.ExitCode}, ${info.RestartCount} restarts`,
      logs: [{ source: plan.name, lines }],
    });
  }

  private async tail(docker: Docker, id: string, n: number): Promise<string[]> {
    try {
      const buf = (await docker.getContainer(id).logs({ stdout: true, stderr: true, tail: n, follow: false })) as unknown as Buffer;
      return demux(buf).split('\n').filter((l) => l.trim() !== '');
    } catch {
      return [];
    }
  }

  private async removeContainer(docker: Docker, id: string, graceSeconds: number): Promise<void> {
    const c = docker.getContainer(id);
    try {
      await c.stop({ t: graceSeconds });
    } catch (err) {
      const code = (err as { statusCode?: number }).statusCode;
      if (code !== 304 && code !== 404) throw err;
    }
    try {
      await c.remove({ force: true, v: true });
    } catch (err) {
      const code = (err as { statusCode?: number }).statusCode;
      if (code !== 404 && code !== 409) throw err;
    }
  }

  async down(options: DownOptions): Promise<void> {
    const { emit } = options;
    const docker = await this.client();
    const any = (await docker.listContainers({ all: true, filters: this.projectFilter() })).length + (await docker.listNetworks({ filters: this.projectFilter() })).length;
    if (!any) emit({ type: 'notice', level: 'info', message: 'nothing of the docker runtime is running for this project', at: Date.now() });
    // app-mapper may start an app while it is being stopped: look again until nothing of ours is left.
    for (let round = 0; round < 3; round++) {
      const containers = await docker.listContainers({ all: true, filters: this.projectFilter() });
      if (!containers.length) break;
      await Promise.all(
        containers.map((c) => {
          const name = (c.Names[0] ?? c.Id).replace(/^\//, '');
          const what = c.Labels[LABELS.deployment] ?? (c.Labels[LABELS.org] ? appName(c.Labels[LABELS.org] ?? '') : name);
          return step(emit, `stop/${what}`, 'stop', `stop ${what}`, () => this.removeContainer(docker, c.Id, 10), () => `removed ${name}`);
        }),
      );
    }
    const networks = await docker.listNetworks({ filters: this.projectFilter() });
    for (const n of networks) {
      await step(emit, `stop/network`, 'stop', `remove network ${n.Name}`, () => docker.getNetwork(n.Id).remove());
    }
    if (options.wipe) {
      const { Volumes } = await docker.listVolumes({ filters: this.projectFilter() });
      for (const v of Volumes ?? []) {
        await step(emit, `stop/volume/${v.Name}`, 'stop', `remove volume ${v.Name}`, () => docker.getVolume(v.Name).remove());
      }
    }
    await rm(this.stateFile, { force: true });
  }

  async status(): Promise<SystemStatus> {
    const docker = await this.client();
    const containers = await docker.listContainers({ all: true, filters: this.projectFilter() });
    const services: ServiceStatus[] = [];
    const apps: ScopeAppStatus[] = [];
    await Promise.all(
      containers.map(async (c) => {
        const info = await this.inspect(docker, c.Id);
        if (!info) return;
        const labels = info.Config.Labels ?? {};
        const name = info.Name.replace(/^\//, '');
        if (labels[LABELS.role] === APP_ROLE) {
          apps.push({ org: labels[LABELS.org] ?? '?', state: info.State.Status, container: name, url: `http://${name}:8080` });
          return;
        }
        if (labels[LABELS.role] !== 'service') return;
        const urls = urlsOf(info, parseJson<PublishedUrl[]>(labels[LABELS.urls]) ?? []);
        const readiness = parseJson<ReadinessCheck>(labels[LABELS.readiness]);
        const running = info.State.Running && !info.State.Restarting;
        let ready = running;
        let message: string | undefined;
        if (running && readiness) {
          const r = await check(docker, info, readiness);
          ready = r.ok;
          if (!r.ok) message = `${describe(readiness)}: ${r.detail}`;
        }
        if (!running && info.State.Error) message = info.State.Error;
        const state = info.State.Restarting ? 'backoff' : info.State.Running ? (ready ? 'running' : 'starting') : info.State.Status === 'exited' ? (info.State.ExitCode === 0 ? 'stopped' : 'crashed') : info.State.Status;
        const s: ServiceStatus = {
          name: labels[LABELS.deployment] ?? name,
          ready,
          state,
          restarts: info.RestartCount,
          ...(running ? { startedAt: Date.parse(info.State.StartedAt) } : {}),
          urls,
          ...(info.State.Pid ? { pid: info.State.Pid } : {}),
          ...(message ? { message } : {}),
        };
        services.push(s);
      }),
    );
    services.sort((a, b) => a.name.localeCompare(b.name));
    apps.sort((a, b) => a.org.localeCompare(b.org));
    return { runtime: 'docker', up: services.length > 0, services, apps, endpoints: endpointsOf(services) };
  }

  async endpoints(): Promise<Endpoints | null> {
    return (await this.status()).endpoints;
  }

  private async containerFor(docker: Docker, service: string): Promise<string> {
    const containers = await docker.listContainers({ all: true, filters: this.projectFilter() });
    const hit = containers.find(
      (c) => c.Labels[LABELS.deployment] === service || c.Labels[LABELS.org] === service || appName(c.Labels[LABELS.org] ?? '') === service || c.Names.includes(`/${service}`),
    );
    if (!hit) {
      const known = containers.map((c) => c.Labels[LABELS.deployment] ?? appName(c.Labels[LABELS.org] ?? '')).sort();
      throw new StepError({ summary: `no container for ${JSON.stringify(service)} in the docker runtime`, hint: known.length ? `known: ${known.join(', ')}` : 'nothing is up: run `dev up --runtime docker`' });
    }
    return hit.Id;
  }

  async logs(service: string, onLine: (line: string) => void, options: LogOptions = {}): Promise<void> {
    const docker = await this.client();
    const id = await this.containerFor(docker, service);
    const container = docker.getContainer(id);
    if (!options.follow) {
      const buf = (await container.logs({ stdout: true, stderr: true, follow: false, tail: options.tail ?? 'all' } as { stdout: true; stderr: true; follow: false; tail: number })) as unknown as Buffer;
      for (const line of demux(buf).split('\n')) if (line !== '') onLine(line);
      return;
    }
    const stream = await container.logs({ stdout: true, stderr: true, follow: true, tail: options.tail ?? 100 });
    const out = new PassThrough();
    let rest = '';
    out.on('data', (chunk: Buffer) => {
      const lines = (rest + chunk.toString('utf8')).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) onLine(line);
    });
    docker.modem.demuxStream(stream, out, out);
    await new Promise<void>((resolve) => {
      const finish = () => {
        if (rest) onLine(rest);
        rest = '';
        resolve();
      };
      stream.on('end', finish);
      stream.on('close', finish);
      stream.on('error', finish);
      options.signal?.addEventListener('abort', () => {
        (stream as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
        finish();
      });
    });
  }

  async restart(service: string): Promise<void> {
    const docker = await this.client();
    await docker.getContainer(await this.containerFor(docker, service)).restart({ t: 10 });
  }
}

/** HTTP checks go through the published port, as a browser would; TCP checks run inside the container. */
async function check(docker: Docker, info: ContainerInfo, readiness: ReadinessCheck): Promise<ProbeResult> {
  if (readiness.type === 'tcp') {
    // The image's HEALTHCHECK is this very check (healthcheck.mjs tcp): once it reports healthy, trust it.
    if (info.State.Health?.Status === 'healthy') return { ok: true, detail: 'healthy' };
    return execTcpProbe(docker, info.Id, readiness);
  }
  const hostPort = hostPortOf(info, readiness.containerPort);
  if (hostPort === undefined) return { ok: false, detail: `port ${readiness.containerPort} is not published` };
  const { containerPort: _, ...check } = readiness;
  return probeOnce({ ...check, port: hostPort, timeoutMs: Math.max(1000, readiness.timeoutMs) });
}

function parseJson<T>(raw: string | undefined): T | undefined {
  if (!raw) return undefined;
  try {
    return JSON.parse(raw) as T;
  } catch {
    return undefined;
  }
}

function hostPortOf(info: ContainerInfo, containerPort: number): number | undefined {
  const b = info.NetworkSettings.Ports?.[`${containerPort}/tcp`]?.[0];
  return b?.HostPort ? Number(b.HostPort) : undefined;
}

function urlsOf(info: ContainerInfo, published: PublishedUrl[]): Record<string, string> {
  const urls: Record<string, string> = {};
  for (const u of published) {
    const hostPort = hostPortOf(info, u.containerPort);
    if (hostPort !== undefined) urls[u.name] = `${u.scheme}://127.0.0.1:${hostPort}`;
  }
  return urls;
}

/** Docker's multiplexed log frames (8-byte header each) to plain text; a TTY's raw output passes through. */
export function demux(buf: Buffer): string {
  let out = '';
  let i = 0;
  while (i + 8 <= buf.length && buf[i]! <= 2 && buf[i + 1] === 0 && buf[i + 2] === 0 && buf[i + 3] === 0) {
    const size = buf.readUInt32BE(i + 4);
    out += buf.subarray(i + 8, i + 8 + size).toString('utf8');
    i += 8 + size;
  }
  return i === 0 ? buf.toString('utf8') : out;
}
