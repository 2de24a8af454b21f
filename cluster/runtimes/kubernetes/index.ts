/**
 * The Kubernetes runtimes: the manifests on a cluster, which a ClusterProvider finds or makes (provider.ts:
 * any cluster by `--context`, or kind's). Images are built with dockerode under content-hash tags and put on
 * the node where it lacks them, the objects applied server-side with this checkout's label (in the context's
 * namespace, else `default`), every Deployment waited on with a fail-fast diagnosis, and users and mail (and
 * the frontend, unless the node publishes it) forwarded to loopback ports by a background forwarder.
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { StepError, step, type EventSink } from '../../events.ts';
import { buildImages } from '../../images/build.ts';
import { projectHash } from '../../images/paths.ts';
import { imageSpec } from '../../images/specs.ts';
import { applyObjects, ensureNamespace } from '../../kubernetes/apply.ts';
import { connect, type Kube } from '../../kubernetes/client.ts';
import { imagesNeeded, kubeObjects, upstreamImages } from '../../kubernetes/objects.ts';
import { streamLogs } from '../../kubernetes/logs.ts';
import { defaultStorageClass } from '../../kubernetes/storage.ts';
import { restartService } from '../../kubernetes/restart.ts';
import { clusterStatus } from '../../kubernetes/status.ts';
import { waitDeployment } from '../../kubernetes/wait.ts';
import type { ClusterTarget, DownOptions, Endpoints, LogOptions, Runtime, RuntimeOptions, SystemStatus, UpOptions } from '../../runtime.ts';
import { canListen, freeLoopbackPort } from '../../host/ports.ts';
import { isAlive, readStat } from '../../host/procfs.ts';
import { imageRepository } from '../../plan/stand-ins.ts';
import { plural } from '../../words.ts';
import { probeOnce } from '../../plan/prober.ts';
import { contextProvider } from './context-provider.ts';
import { forwardsOf } from './forwards.ts';
import type { ClusterProvider } from './provider.ts';
import { readState, writeState, type KubernetesState } from './state.ts';

const DEFAULT_NAMESPACE = 'default';
const DEFAULT_FRONTEND_PORT = 4046;
const forwarderEntry = path.join(path.dirname(fileURLToPath(import.meta.url)), 'forwarder-daemon.ts');

export function createRuntime(options: RuntimeOptions): Runtime {
  return new KubernetesRuntime(options);
}

export class KubernetesRuntime implements Runtime {
  readonly name: 'kubernetes' | 'kind';
  readonly projectDir: string;
  readonly devDir: string;
  /** The value of the checkout label on everything made. */
  readonly checkout: string;
  readonly stateFile: string;
  readonly provider: ClusterProvider;
  private kube: Kube | undefined;
  /** The namespace objects go to: the context's, else `default` (known once connected). */
  private ns = DEFAULT_NAMESPACE;

  /** makeProvider: another provider than `--context`'s (kind's), given the checkout's .dev folder. */
  constructor(private readonly options: RuntimeOptions, makeProvider?: (devDir: string) => ClusterProvider) {
    this.projectDir = path.resolve(options.projectDir);
    this.devDir = path.resolve(options.devDir ?? path.join(this.projectDir, '.dev'));
    this.checkout = projectHash(`${this.projectDir}\0${this.devDir}`);
    this.provider = makeProvider ? makeProvider(this.devDir) : contextProvider(options.cluster, () => this.ns, this.checkout);
    this.name = this.provider.runtime;
    this.stateFile = path.join(this.devDir, 'state', `${this.name}.json`);
  }

  get namespace(): string {
    return this.ns;
  }

  /**
   * The cluster asked for, else the one the last `up` used, else the kubeconfig's current context. Outside a
   * step (status, logs, restart) a failure is a plain error carrying the hint, since no step shows it.
   */
  private async client(inStep = false, target?: ClusterTarget): Promise<Kube> {
    if (this.kube) return this.kube;
    const remembered = readState(this.stateFile);
    const where = target ?? this.provider.existing(remembered ? { kubeconfig: remembered.kubeconfig, context: remembered.context } : undefined);
    try {
      if (!where) throw new StepError({ summary: `there is no ${this.name} cluster of this checkout`, hint: `run \`dev up --runtime ${this.name}\`` });
      this.kube = await connect(where);
    } catch (err) {
      if (inStep || !(err instanceof StepError)) throw err;
      throw new Error(`${err.diagnosis.summary}${err.diagnosis.hint ? `; ${err.diagnosis.hint}` : ''}`);
    }
    this.ns = this.kube.kc.getContextObject(this.kube.context)?.namespace || DEFAULT_NAMESPACE;
    return this.kube;
  }

  private async ports(emit: EventSink): Promise<KubernetesState['ports']> {
    const previous = readState(this.stateFile)?.ports;
    const forwarderUp = this.forwarderAlive();
    const usable = async (port: number | undefined) => port !== undefined && ((forwarderUp && Object.values(previous ?? {}).includes(port)) || (await canListen(port)));
    let frontend: number;
    const bound = await this.provider.boundFrontendPort();
    if (bound !== undefined) {
      if (this.options.frontendPort !== undefined && this.options.frontendPort !== bound) {
        throw new StepError({ summary: `the ${this.name} cluster publishes the frontend on 127.0.0.1:${bound}, not ${this.options.frontendPort}`, hint: `run \`dev down\` first to make it again on another port, or drop the port setting` });
      }
      frontend = bound;
    } else if (this.options.frontendPort !== undefined) {
      if (!(await usable(this.options.frontendPort))) {
        throw new StepError({ summary: `127.0.0.1:${this.options.frontendPort} is taken, so the frontend cannot be forwarded there`, hint: 'stop whatever listens there (`ss -ltnp`), or pick another port' });
      }
      frontend = this.options.frontendPort;
    } else {
      const fromEnv = process.env.DEV_FRONTEND_PORT && /^\d+$/.test(process.env.DEV_FRONTEND_PORT) ? Number(process.env.DEV_FRONTEND_PORT) : undefined;
      const candidates = [previous?.frontend, fromEnv, DEFAULT_FRONTEND_PORT];
      let found: number | undefined;
      for (const c of candidates) if (found === undefined && (await usable(c))) found = c;
      if (found === undefined) {
        found = await freeLoopbackPort();
        emit({ type: 'notice', level: 'warn', message: `127.0.0.1:${DEFAULT_FRONTEND_PORT} is taken: the frontend is forwarded on ${found} instead (set DEV_FRONTEND_PORT to choose)`, at: Date.now() });
      }
      frontend = found;
    }
    const users = (await usable(previous?.users)) && previous?.users !== frontend ? (previous?.users as number) : await freeLoopbackPort();
    const mail = (await usable(previous?.mail)) && previous?.mail !== frontend && previous?.mail !== users ? (previous?.mail as number) : await freeLoopbackPort();
    return { frontend, users, mail };
  }

  async up(options: UpOptions): Promise<SystemStatus> {
    const { emit, manifests } = options;
    const deadline = Date.now() + (options.timeoutMs ?? 300_000);
    const ports = await this.ports(emit);
    const target = await this.provider.ensure(emit, ports.frontend);
    const kube = await step(emit, 'cluster/connect', 'cluster', 'connect to the cluster', () => this.client(true, target), (k) => `context ${k.context} (${k.server}), namespace ${this.ns}`);
    const loader = await this.provider.images(kube);

    // Upstream images run where the node has them or can be given them; otherwise (or with --stand-ins) our stand-ins do.
    const upstream = upstreamImages(manifests);
    const onNode = await loader.present(upstream);
    const canLoad = (await loader.obtainable?.(upstream.filter((i) => !onNode.has(i)))) ?? new Set<string>();
    const standIn = new Set<string>();
    const upstreamToLoad = this.options.standIns ? [] : [...canLoad];
    for (const image of upstream) {
      if (this.options.standIns || (!onNode.has(image) && !canLoad.has(image))) {
        standIn.add(imageRepository(image));
        if (!this.options.standIns) emit({ type: 'notice', level: 'info', message: `${image} is not on the cluster's node and cannot be pulled here: our stand-in runs instead`, at: Date.now() });
      }
    }
    const names = imagesNeeded(manifests, standIn);
    const built = await buildImages({ emit, root: this.projectDir, images: names.map((n) => imageSpec(n, this.projectDir)) });
    const tags = new Map([...built].map(([name, image]) => [name, image.tag]));

    await step(emit, 'cluster/load', 'cluster', 'put the images on the node', async (progress) => {
      const wanted = [...tags.values(), ...upstreamToLoad];
      const present = await loader.present(wanted);
      const missing = wanted.filter((t) => !present.has(t));
      if (missing.length) {
        progress(`loading ${plural(missing.length, 'image')}`);
        await loader.load(missing);
      }
      return missing.length;
    }, (n) => (n ? `loaded ${plural(n, 'image')}` : 'every image already on the node'));

    const frontendNodePort = this.provider.frontendNodePort;
    const storageClass = standIn.size ? await defaultStorageClass(kube) : undefined;
    if (standIn.size && storageClass === undefined) emit({ type: 'notice', level: 'warn', message: `context ${kube.context} has no default StorageClass: the stand-in databases keep their data in their pods, and lose it with them`, at: Date.now() });
    const objects = kubeObjects({
      manifests, namespace: this.ns, checkout: this.checkout, tags, standIn, frontendUrl: `http://127.0.0.1:${ports.frontend}`,
      ...(frontendNodePort !== undefined ? { frontendNodePort } : {}),
      ...(storageClass !== undefined ? { storageClass } : {}),
    });
    await writeState(this.stateFile, { kubeconfig: kube.kubeconfig, context: kube.context, namespace: this.ns, ports, ...(frontendNodePort !== undefined ? { frontendNodePort } : {}), ...this.forwarderRecord() });
    const applied = await step(emit, 'cluster/apply', 'cluster', `apply ${objects.length} objects (server-side)`, async () => {
      await ensureNamespace(kube, this.ns);
      return applyObjects(kube, objects);
    }, (a) => {
      const changed = a.filter((x) => x.changed).length;
      return changed ? `${changed} changed, ${a.length - changed} unchanged` : `unchanged (${a.length} objects)`;
    });

    const changed = new Set(applied.filter((a) => a.kind === 'Deployment' && a.changed).map((a) => a.name));
    const results = await Promise.allSettled(
      manifests.deployments.map((d) =>
        step(emit, `service/${d.metadata.name}`, 'service', `start ${d.metadata.name}`, (progress) => waitDeployment(kube, d.metadata.name, this.ns, { deadline, progress }), () =>
          changed.has(d.metadata.name) ? 'ready' : 'unchanged, ready'),
      ),
    );
    const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [{ name: manifests.deployments[i]?.metadata.name ?? '', reason: r.reason as unknown }] : []));
    if (failed.length) {
      const first = failed[0]?.reason;
      throw new StepError({
        summary: `${plural(failed.length, 'service')} did not become ready (${failed.map((f) => f.name).join(', ')}): ${first instanceof Error ? first.message : String(first)}`,
        hint: first instanceof StepError ? first.diagnosis.hint : `see \`dev logs ${failed[0]?.name}\``,
        ...(first instanceof StepError && first.diagnosis.logs ? { logs: first.diagnosis.logs } : {}),
      });
    }
    const forwarded = frontendNodePort === undefined ? 'the frontend, users and mail' : 'users and mail';
    await step(emit, 'cluster/forward', 'cluster', `forward ${forwarded} to loopback`, async () => {
      await this.ensureForwarder(kube, ports);
      if (frontendNodePort !== undefined) await publishedFrontend(ports.frontend, frontendNodePort);
    }, () => `frontend on http://127.0.0.1:${ports.frontend}`);
    return this.status();
  }

  private forwarderRecord(): Pick<KubernetesState, 'forwarder'> {
    const f = readState(this.stateFile)?.forwarder;
    return f && this.forwarderAlive() ? { forwarder: f } : {};
  }

  private forwarderAlive(): boolean {
    const f = readState(this.stateFile)?.forwarder;
    return !!f && isAlive(f.pid) && readStat(f.pid)?.startTime === f.startTime;
  }

  /** Starts the forwarder unless one with these ports and this cluster runs, and waits until its ports answer. */
  private async ensureForwarder(kube: Kube, ports: KubernetesState['ports']): Promise<void> {
    const state = readState(this.stateFile);
    if (!state) throw new Error(`${this.stateFile} is missing`);
    const wanted = { ...state, ports, context: kube.context };
    if (this.forwarderAlive() && JSON.stringify(state.ports) === JSON.stringify(ports)) return;
    await this.stopForwarder();
    await writeState(this.stateFile, { ...wanted, forwarder: undefined });
    const logs = path.join(this.devDir, 'logs');
    mkdirSync(logs, { recursive: true });
    const fd = openSync(path.join(logs, 'forwarder.log'), 'a');
    const child = spawn(process.execPath, ['--import', 'tsx', forwarderEntry, '--state', this.stateFile], { cwd: this.projectDir, detached: true, stdio: ['ignore', fd, fd] });
    closeSync(fd);
    child.unref();
    const pid = child.pid;
    if (!pid) throw new Error('the forwarder did not start');
    const startTime = readStat(pid)?.startTime ?? 0;
    await writeState(this.stateFile, { ...wanted, forwarder: { pid, startTime } });
    const until = Date.now() + 30_000;
    for (const port of forwardsOf(wanted).map((f) => ports[f.name])) {
      while (!(await answers(port))) {
        if (!isAlive(pid)) throw new StepError({ summary: 'the forwarder exited', hint: `see ${path.join(logs, 'forwarder.log')}` });
        if (Date.now() > until) throw new StepError({ summary: `the forwarder does not listen on 127.0.0.1:${port}`, hint: `see ${path.join(logs, 'forwarder.log')}` });
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  private async stopForwarder(): Promise<void> {
    const state = readState(this.stateFile);
    if (!state?.forwarder || !this.forwarderAlive()) return;
    const { pid } = state.forwarder;
    process.kill(pid, 'SIGTERM');
    for (let i = 0; i < 50 && isAlive(pid); i++) await new Promise((r) => setTimeout(r, 100));
    if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    await writeState(this.stateFile, { ...state, forwarder: undefined });
  }

  async down(options: DownOptions): Promise<void> {
    const { emit } = options;
    await step(emit, 'cluster/forward', 'cluster', 'stop the forwarder', () => this.stopForwarder());
    await this.provider.remove(emit, () => this.client(true), options.wipe ?? false);
    if (options.wipe) await rm(this.stateFile, { force: true });
  }

  async status(): Promise<SystemStatus> {
    const kube = await this.client();
    const { services, apps } = await clusterStatus(kube, this.ns, this.checkout);
    const endpoints = await this.endpoints();
    const urls: Record<string, Record<string, string>> = endpoints ? { frontend: { http: endpoints.frontend }, users: { http: endpoints.users }, mailcatcher: { http: endpoints.mail } } : {};
    return {
      runtime: this.name,
      up: services.length > 0,
      services: services.map((s) => (urls[s.name] ? { ...s, urls: urls[s.name] } : s)),
      apps,
      endpoints,
    };
  }

  async logs(service: string, onLine: (line: string) => void, options: LogOptions = {}): Promise<void> {
    await streamLogs(await this.client(), this.ns, service, onLine, options);
  }

  async endpoints(): Promise<Endpoints | null> {
    const state = readState(this.stateFile);
    if (!state || !this.forwarderAlive()) return null;
    const at = (port: number) => `http://127.0.0.1:${port}`;
    return { frontend: at(state.ports.frontend), users: at(state.ports.users), mail: at(state.ports.mail) };
  }

  async restart(service: string): Promise<void> {
    await restartService(await this.client(), this.ns, service);
  }
}

/** Waits until the frontend answers /readyz through the node's port mapping (kind's extraPortMappings). */
async function publishedFrontend(port: number, nodePort: number, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  const check = { type: 'http', path: '/readyz', port, initialDelayMs: 0, periodMs: 250, timeoutMs: 2000, failureThreshold: Math.ceil(timeoutMs / 250) } as const;
  for (;;) {
    const probe = await probeOnce(check);
    if (probe.ok) return;
    if (Date.now() > until) {
      throw new StepError({ summary: `the frontend does not answer on 127.0.0.1:${port}, which the node maps to its NodePort ${nodePort} (${probe.detail})`, hint: 'check `docker ps` for the node container and its port mapping, or run `dev down` and `dev up` again' });
    }
    await new Promise((r) => setTimeout(r, check.periodMs));
  }
}

function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
