/**
 * The kubernetes runtime: the manifests on any cluster by `--context NAME [--kubeconfig PATH]`. Images are
 * built with dockerode under content-hash tags and put on the node (the test cluster's containerd; a node
 * that already has them needs nothing), the objects applied server-side in `default` with this checkout's
 * label, every Deployment waited on with a fail-fast diagnosis, and the frontend, users and mail Services
 * forwarded to loopback ports by a background forwarder. `down` removes exactly what carries the label.
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
import { connect, kubeconfigPath, type Kube } from '../../kubernetes/client.ts';
import { imagesNeeded, kubeObjects, upstreamImages } from '../../kubernetes/objects.ts';
import { nodeImageLoader } from '../../kubernetes/images.ts';
import { streamLogs } from '../../kubernetes/logs.ts';
import { removeCheckout } from '../../kubernetes/remove.ts';
import { restartService } from '../../kubernetes/restart.ts';
import { clusterStatus } from '../../kubernetes/status.ts';
import { waitDeployment } from '../../kubernetes/wait.ts';
import type { DownOptions, Endpoints, LogOptions, Runtime, RuntimeOptions, SystemStatus, UpOptions } from '../../runtime.ts';
import { canListen, freeLoopbackPort } from '../../host/ports.ts';
import { isAlive, readStat } from '../../host/procfs.ts';
import { imageRepository } from '../../plan/stand-ins.ts';
import { readState, writeState, type KubernetesState } from './state.ts';

const NAMESPACE = 'default';
const DEFAULT_FRONTEND_PORT = 4046;
const forwarderEntry = path.join(path.dirname(fileURLToPath(import.meta.url)), 'forwarder-daemon.ts');

export function createRuntime(options: RuntimeOptions): Runtime {
  return new KubernetesRuntime(options);
}

export class KubernetesRuntime implements Runtime {
  readonly name = 'kubernetes' as const;
  readonly projectDir: string;
  readonly devDir: string;
  /** The value of the checkout label on everything made. */
  readonly checkout: string;
  readonly stateFile: string;
  private kube: Kube | undefined;

  constructor(private readonly options: RuntimeOptions) {
    this.projectDir = path.resolve(options.projectDir);
    this.devDir = path.resolve(options.devDir ?? path.join(this.projectDir, '.dev'));
    this.checkout = projectHash(`${this.projectDir}\0${this.devDir}`);
    this.stateFile = path.join(this.devDir, 'state', 'kubernetes.json');
  }

  /**
   * The cluster asked for, else the one the last `up` used, else the kubeconfig's current context. Outside a
   * step (status, logs, restart) a failure is a plain error carrying the hint, since no step shows it.
   */
  private async client(inStep = false): Promise<Kube> {
    if (this.kube) return this.kube;
    const remembered = readState(this.stateFile);
    const target = this.options.cluster ?? (remembered ? { kubeconfig: remembered.kubeconfig, context: remembered.context } : {});
    try {
      this.kube = await connect(target);
    } catch (err) {
      if (inStep || !(err instanceof StepError)) throw err;
      throw new Error(`${err.diagnosis.summary}${err.diagnosis.hint ? `; ${err.diagnosis.hint}` : ''}`);
    }
    return this.kube;
  }

  private async ports(emit: EventSink): Promise<KubernetesState['ports']> {
    const previous = readState(this.stateFile)?.ports;
    const forwarderUp = this.forwarderAlive();
    const usable = async (port: number | undefined) => port !== undefined && ((forwarderUp && Object.values(previous ?? {}).includes(port)) || (await canListen(port)));
    let frontend: number;
    if (this.options.frontendPort !== undefined) {
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
    const kube = await step(emit, 'cluster/connect', 'cluster', 'connect to the cluster', () => this.client(true), (k) => `context ${k.context} (${k.server})`);
    const ports = await this.ports(emit);
    const loader = await nodeImageLoader(kube);

    // Upstream images run where the node has them; otherwise (or with --stand-ins) our stand-ins do.
    const onNode = await loader.present(upstreamImages(manifests));
    const standIn = new Set<string>();
    for (const image of upstreamImages(manifests)) {
      if (this.options.standIns || !onNode.has(image)) {
        standIn.add(imageRepository(image));
        if (!this.options.standIns) emit({ type: 'notice', level: 'info', message: `${image} is not on the cluster's node and cannot be pulled here: our stand-in runs instead`, at: Date.now() });
      }
    }
    const names = imagesNeeded(manifests, standIn);
    const built = await buildImages({ emit, root: this.projectDir, images: names.map((n) => imageSpec(n, this.projectDir)) });
    const tags = new Map([...built].map(([name, image]) => [name, image.tag]));

    await step(emit, 'cluster/load', 'cluster', 'put the images on the node', async (progress) => {
      const wanted = [...tags.values()];
      const present = await loader.present(wanted);
      const missing = wanted.filter((t) => !present.has(t));
      if (missing.length) {
        progress(`loading ${missing.length} image${missing.length === 1 ? '' : 's'}`);
        await loader.load(missing);
      }
      return missing.length;
    }, (n) => (n ? `loaded ${n} image${n === 1 ? '' : 's'}` : 'every image already on the node'));

    const objects = kubeObjects({ manifests, namespace: NAMESPACE, checkout: this.checkout, tags, standIn, frontendUrl: `http://127.0.0.1:${ports.frontend}` });
    await writeState(this.stateFile, { kubeconfig: kubeconfigPath(this.options.cluster ?? {}), context: kube.context, namespace: NAMESPACE, ports, ...this.forwarderRecord() });
    const applied = await step(emit, 'cluster/apply', 'cluster', `apply ${objects.length} objects (server-side)`, async () => {
      await ensureNamespace(kube, NAMESPACE);
      return applyObjects(kube, objects);
    }, (a) => {
      const changed = a.filter((x) => x.changed).length;
      return changed ? `${changed} changed, ${a.length - changed} unchanged` : `unchanged (${a.length} objects)`;
    });

    const changed = new Set(applied.filter((a) => a.kind === 'Deployment' && a.changed).map((a) => a.name));
    const results = await Promise.allSettled(
      manifests.deployments.map((d) =>
        step(emit, `service/${d.metadata.name}`, 'service', `start ${d.metadata.name}`, (progress) => waitDeployment(kube, d.metadata.name, NAMESPACE, { deadline, progress }), () =>
          changed.has(d.metadata.name) ? 'ready' : 'unchanged, ready'),
      ),
    );
    const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [{ name: manifests.deployments[i]?.metadata.name ?? '', reason: r.reason as unknown }] : []));
    if (failed.length) {
      const first = failed[0]?.reason;
      throw new StepError({
        summary: `${failed.length} service${failed.length === 1 ? '' : 's'} did not become ready (${failed.map((f) => f.name).join(', ')}): ${first instanceof Error ? first.message : String(first)}`,
        hint: first instanceof StepError ? first.diagnosis.hint : `see \`dev logs ${failed[0]?.name}\``,
        ...(first instanceof StepError && first.diagnosis.logs ? { logs: first.diagnosis.logs } : {}),
      });
    }
    await step(emit, 'cluster/forward', 'cluster', 'forward the frontend, users and mail to loopback', () => this.ensureForwarder(kube, ports), () => `frontend on http://127.0.0.1:${ports.frontend}`);
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
    for (const port of Object.values(ports)) {
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
    const kube = await step(emit, 'cluster/connect', 'cluster', 'connect to the cluster', () => this.client(true), (k) => `context ${k.context} (${k.server})`);
    await step(emit, 'cluster/remove', 'cluster', `remove what carries ${this.checkout} in context ${kube.context}`, () => removeCheckout(kube, NAMESPACE, this.checkout), (r) =>
      `removed ${r.deployments} service${r.deployments === 1 ? '' : 's'}, ${r.apps} Scope app${r.apps === 1 ? '' : 's'} and ${r.others} other object${r.others === 1 ? '' : 's'}`);
    if (options.wipe) await rm(this.stateFile, { force: true });
  }

  async status(): Promise<SystemStatus> {
    const kube = await this.client();
    const { services, apps } = await clusterStatus(kube, NAMESPACE, this.checkout);
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
    await streamLogs(await this.client(), NAMESPACE, service, onLine, options);
  }

  async endpoints(): Promise<Endpoints | null> {
    const state = readState(this.stateFile);
    if (!state || !this.forwarderAlive()) return null;
    const at = (port: number) => `http://127.0.0.1:${port}`;
    return { frontend: at(state.ports.frontend), users: at(state.ports.users), mail: at(state.ports.mail) };
  }

  async restart(service: string): Promise<void> {
    await restartService(await this.client(), NAMESPACE, service);
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
