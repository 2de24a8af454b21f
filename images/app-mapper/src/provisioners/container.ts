/**
 * The container provisioner (PROVISIONER=docker): each organisation's Scope app is a container of the scope
 * image (SCOPE_ROLE=app) on the docker runtime's network, named `<prefix>scope-app-<orgID>` with the network
 * alias `scope-app-<orgID>`, labelled like everything the runtime makes so `dev down` removes it too. It talks
 * to the daemon through dockerode (the socket the runtime mounts). The container's name is its record: a new
 * app-mapper adopts running apps that answer /readyz and removes the others.
 *
 * Configuration (containerProvisionerFromEnv): DOCKER_NETWORK, SCOPE_APP_IMAGE (required); DOCKER_NAME_PREFIX,
 * DOCKER_LABELS (a JSON object of labels), SCOPE_APP_PORT (8080); DOCKER_APP_REACH (`network`: by alias, what
 * app-mapper in a container uses; `published`: through a port published on 127.0.0.1, for an app-mapper on
 * the host; default: network inside a container, published outside).
 */
import { existsSync } from 'node:fs';
import Docker from 'dockerode';
import type { Logger } from '@saas/kit';
import { orgIdPattern, type AppInstance, type AppState, type Provisioner } from './types.ts';

export const APP_ROLE_LABEL = 'scope-saas.role';
export const APP_ORG_LABEL = 'scope-saas.org';
export const APP_ROLE = 'scope-app';

export interface ContainerProvisionerOptions {
  log: Logger;
  docker?: Docker;
  network: string;
  image: string;
  /** Prefix of container names, e.g. "scope-saas-1a2b3c-". */
  namePrefix?: string;
  /** Put on every app container (the runtime's project label, so `down` finds them). */
  labels?: Record<string, string>;
  /** The port the app listens on inside its container. */
  port?: number;
  reach?: 'network' | 'published';
  env?: Record<string, string>;
  startTimeoutMs?: number;
  /** SIGTERM → SIGKILL grace when stopping an app. */
  stopGraceSeconds?: number;
}

interface Entry {
  org: string;
  state: AppState;
  containerId: string;
  url: string;
  startedAt: Date;
  reason?: string;
  failures: number;
  retryAt?: number;
  stopping?: Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function isStatus(err: unknown, code: number): boolean {
  return (err as { statusCode?: number }).statusCode === code;
}

async function answersReady(url: string, timeoutMs = 2000): Promise<boolean> {
  try {
    const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(timeoutMs) });
    await res.body?.cancel();
    return res.ok;
  } catch {
    return false;
  }
}

export class ContainerProvisioner implements Provisioner {
  readonly kind = 'docker' as const;
  private readonly docker: Docker;
  private readonly entries = new Map<string, Entry>();
  private readonly starting = new Map<string, Promise<AppInstance>>();
  private readonly port: number;
  private readonly reach: 'network' | 'published';
  private readonly startTimeoutMs: number;
  private readonly stopGraceSeconds: number;
  private closed = false;

  constructor(private readonly opts: ContainerProvisionerOptions) {
    this.docker = opts.docker ?? new Docker();
    this.port = opts.port ?? 8080;
    this.reach = opts.reach ?? (existsSync('/.dockerenv') ? 'network' : 'published');
    this.startTimeoutMs = opts.startTimeoutMs ?? 60_000;
    this.stopGraceSeconds = opts.stopGraceSeconds ?? 5;
  }

  containerName(org: string): string {
    return `${this.opts.namePrefix ?? ''}scope-app-${org}`;
  }

  private labels(org: string): Record<string, string> {
    return { ...this.opts.labels, [APP_ROLE_LABEL]: APP_ROLE, [APP_ORG_LABEL]: org };
  }

  private labelFilter(): string[] {
    return [`${APP_ROLE_LABEL}=${APP_ROLE}`, ...Object.entries(this.opts.labels ?? {}).map(([k, v]) => `${k}=${v}`)];
  }

  async init(): Promise<void> {
    const found = await this.docker.listContainers({ all: true, filters: { label: this.labelFilter() } });
    await Promise.all(
      found.map(async (c) => {
        const org = c.Labels[APP_ORG_LABEL];
        if (!org || !orgIdPattern.test(org)) return;
        const log = this.opts.log.child({ org, container: c.Id.slice(0, 12) });
        const url = c.State === 'running' ? await this.urlOf(c.Id) : undefined;
        if (url && (await answersReady(url))) {
          this.entries.set(org, { org, state: 'ready', containerId: c.Id, url, startedAt: new Date(c.Created * 1000), failures: 0 });
          log.info({ url }, 'adopted a running app container left by a previous app-mapper');
          return;
        }
        log.warn({ state: c.State }, 'removing an app container left by a previous app-mapper that does not answer /readyz');
        await this.remove(c.Id);
      }),
    );
  }

  /** How app-mapper reaches a container: its alias on the network, or its published loopback port. */
  private async urlOf(id: string): Promise<string | undefined> {
    const info = await this.docker.getContainer(id).inspect();
    if (this.reach === 'network') {
      const alias = info.Name.replace(/^\//, '');
      return `http://${alias}:${this.port}`;
    }
    const binding = info.NetworkSettings.Ports?.[`${this.port}/tcp`]?.[0];
    return binding ? `http://127.0.0.1:${binding.HostPort}` : undefined;
  }

  async ensure(org: string): Promise<AppInstance> {
    if (!orgIdPattern.test(org)) throw new Error(`invalid organisation ID ${JSON.stringify(org)}`);
    if (this.closed) throw new Error('provisioner is shut down');
    const pending = this.starting.get(org);
    if (pending) return pending;
    const entry = this.entries.get(org);
    if (entry) {
      if (entry.stopping) await entry.stopping;
      else if (entry.state === 'ready' || entry.state === 'starting') return this.snapshot(entry);
      else if (entry.state === 'crashed' && entry.retryAt && entry.retryAt > Date.now()) return this.snapshot(entry);
    }
    const started = this.start(org, entry?.failures ?? 0).finally(() => this.starting.delete(org));
    this.starting.set(org, started);
    return started;
  }

  async status(org: string): Promise<AppInstance | undefined> {
    const entry = this.entries.get(org);
    return entry ? this.snapshot(entry) : undefined;
  }

  async list(): Promise<AppInstance[]> {
    return [...this.entries.values()].map((e) => this.snapshot(e));
  }

  async stop(org: string): Promise<void> {
    const pending = this.starting.get(org);
    if (pending) await pending.catch(() => undefined);
    const entry = this.entries.get(org);
    if (!entry) return;
    if (entry.stopping) return entry.stopping;
    if (entry.state === 'stopped') return;
    entry.stopping = (async () => {
      this.opts.log.info({ org, container: entry.containerId.slice(0, 12) }, 'stopping app container');
      await this.remove(entry.containerId);
      entry.state = 'stopped';
      entry.reason = 'stopped';
    })().finally(() => {
      entry.stopping = undefined;
    });
    return entry.stopping;
  }

  async stopAll(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.starting.values()]);
    await Promise.all([...this.entries.keys()].map((org) => this.stop(org)));
  }

  async reportUnreachable(org: string): Promise<void> {
    const entry = this.entries.get(org);
    if (!entry || entry.state !== 'ready') return;
    if (await answersReady(entry.url, 1000)) return;
    let running = false;
    try {
      running = (await this.docker.getContainer(entry.containerId).inspect()).State.Running;
    } catch (err) {
      if (!isStatus(err, 404)) throw err;
    }
    this.opts.log.warn({ org, running }, 'app container does not answer; it will be replaced on the next request');
    await this.remove(entry.containerId);
    this.markCrashed(entry, running ? 'stopped answering' : 'container is gone', false);
  }

  private markCrashed(entry: Entry, reason: string, duringStart: boolean): void {
    entry.state = 'crashed';
    entry.reason = reason;
    if (duringStart) {
      entry.failures += 1;
      entry.retryAt = Date.now() + Math.min(30_000, 1000 * 2 ** (entry.failures - 1));
    } else {
      entry.failures = 0;
      entry.retryAt = undefined;
    }
  }

  private snapshot(entry: Entry): AppInstance {
    const instance: AppInstance = {
      org: entry.org,
      state: entry.state,
      url: entry.url,
      startedAt: entry.startedAt,
      ref: `container ${this.containerName(entry.org)} (${entry.containerId.slice(0, 12)})`,
    };
    if (entry.reason) instance.reason = entry.reason;
    if (entry.state === 'starting') instance.retryAfterSeconds = 2;
    if (entry.state === 'crashed') instance.retryAfterSeconds = Math.max(1, Math.ceil(((entry.retryAt ?? 0) - Date.now()) / 1000));
    return instance;
  }

  /** Stops (SIGTERM, then SIGKILL after the grace) and removes a container; gone already is fine. */
  private async remove(id: string): Promise<void> {
    const c = this.docker.getContainer(id);
    try {
      await c.stop({ t: this.stopGraceSeconds });
    } catch (err) {
      if (!isStatus(err, 304) && !isStatus(err, 404)) this.opts.log.warn({ err }, 'stopping an app container failed');
    }
    try {
      await c.remove({ force: true, v: true });
    } catch (err) {
      if (!isStatus(err, 404) && !isStatus(err, 409)) throw err;
    }
  }

  private async start(org: string, failures: number): Promise<AppInstance> {
    const name = this.containerName(org);
    // A container of that name is a previous instance (crashed, or from before a restart): replace it.
    await this.remove(name);
    const env = { ...this.opts.env, SCOPE_ROLE: 'app', HOST: '0.0.0.0', PORT: String(this.port) };
    const published = this.reach === 'published';
    const container = await this.docker.createContainer({
      name,
      Image: this.opts.image,
      Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
      Labels: this.labels(org),
      ExposedPorts: { [`${this.port}/tcp`]: {} },
      HostConfig: {
        Init: true,
        NetworkMode: this.opts.network,
        RestartPolicy: { Name: 'no' },
        LogConfig: { Type: 'json-file', Config: { 'max-size': '10m', 'max-file': '3' } },
        ...(published ? { PortBindings: { [`${this.port}/tcp`]: [{ HostIp: '127.0.0.1', HostPort: '' }] } } : {}),
      },
      NetworkingConfig: { EndpointsConfig: { [this.opts.network]: { Aliases: [`scope-app-${org}`] } } },
    });
    await container.start();
    const url = await this.urlOf(container.id);
    const entry: Entry = { org, state: 'starting', containerId: container.id, url: url ?? '', startedAt: new Date(), failures };
    this.entries.set(org, entry);
    if (!url) {
      // Docker drops a container's port bindings when it exits: this one died before its port could be read.
      const state = await container.inspect().then((info) => info.State, () => undefined);
      this.markCrashed(entry, state && !state.Running ? `exited with code ${state.ExitCode}` : 'started without a reachable port', true);
      this.opts.log.error({ org, logTail: await this.logTail(container.id) }, `app ${entry.reason}`);
      await this.remove(container.id);
      return this.snapshot(entry);
    }
    this.opts.log.info({ org, container: container.id.slice(0, 12), url }, 'starting app container');
    void this.watchStart(entry).catch((err: Error) => this.opts.log.error({ err, org }, 'watching the app start failed'));
    return this.snapshot(entry);
  }

  private async watchStart(entry: Entry): Promise<void> {
    const deadline = Date.now() + this.startTimeoutMs;
    const c = this.docker.getContainer(entry.containerId);
    while (entry.state === 'starting' && !entry.stopping && this.entries.get(entry.org) === entry) {
      if (await answersReady(entry.url, 1000)) {
        if (entry.state !== 'starting') return;
        entry.state = 'ready';
        entry.failures = 0;
        entry.retryAt = undefined;
        this.opts.log.info({ org: entry.org, ms: Date.now() - entry.startedAt.getTime() }, 'app ready');
        return;
      }
      let state: { Running: boolean; ExitCode: number } | undefined;
      try {
        state = (await c.inspect()).State;
      } catch (err) {
        if (!isStatus(err, 404)) throw err;
      }
      if (!state?.Running) {
        const tail = state ? await this.logTail(entry.containerId) : '';
        this.markCrashed(entry, state ? `exited with code ${state.ExitCode}` : 'container is gone', true);
        this.opts.log.error({ org: entry.org, logTail: tail }, `app ${entry.reason}`);
        if (state) await this.remove(entry.containerId);
        return;
      }
      if (Date.now() > deadline) {
        this.markCrashed(entry, `not ready within ${Math.round(this.startTimeoutMs / 1000)} s`, true);
        this.opts.log.error({ org: entry.org, logTail: await this.logTail(entry.containerId) }, 'app did not become ready; removing it');
        await this.remove(entry.containerId);
        return;
      }
      await sleep(250);
    }
  }

  private async logTail(id: string): Promise<string> {
    try {
      const buf = (await this.docker.getContainer(id).logs({ stdout: true, stderr: true, tail: 20, follow: false })) as unknown as Buffer;
      return demux(buf);
    } catch {
      return '';
    }
  }
}

/** Docker's multiplexed log frames (8-byte header each) to plain text. */
function demux(buf: Buffer): string {
  let out = '';
  let i = 0;
  while (i + 8 <= buf.length) {
    const size = buf.readUInt32BE(i + 4);
    out += buf.subarray(i + 8, i + 8 + size).toString('utf8');
    i += 8 + size;
  }
  return out || buf.toString('utf8');
}

export interface ContainerProvisionerSettings {
  log: Logger;
  startTimeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  docker?: Docker;
}

/** Builds the provisioner from the variables the docker runtime sets on app-mapper; throws naming what is missing. */
export function containerProvisionerFromEnv(s: ContainerProvisionerSettings): ContainerProvisioner {
  const env = s.env ?? process.env;
  const missing = ['DOCKER_NETWORK', 'SCOPE_APP_IMAGE'].filter((k) => !env[k]);
  if (missing.length) {
    throw new Error(`PROVISIONER=docker needs ${missing.join(' and ')} (the docker runtime sets them: dev up --runtime docker)`);
  }
  let labels: Record<string, string> = {};
  if (env.DOCKER_LABELS) {
    try {
      labels = JSON.parse(env.DOCKER_LABELS) as Record<string, string>;
    } catch {
      throw new Error('DOCKER_LABELS must be a JSON object of label → value');
    }
  }
  const reach = env.DOCKER_APP_REACH === 'network' || env.DOCKER_APP_REACH === 'published' ? env.DOCKER_APP_REACH : undefined;
  return new ContainerProvisioner({
    log: s.log,
    docker: s.docker,
    network: env.DOCKER_NETWORK as string,
    image: env.SCOPE_APP_IMAGE as string,
    namePrefix: env.DOCKER_NAME_PREFIX ?? '',
    labels,
    port: env.SCOPE_APP_PORT ? Number(env.SCOPE_APP_PORT) : 8080,
    ...(reach ? { reach } : {}),
    ...(s.startTimeoutMs ? { startTimeoutMs: s.startTimeoutMs } : {}),
  });
}
