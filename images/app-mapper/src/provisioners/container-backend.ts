/**
 * Scope apps as containers of the scope image (SCOPE_ROLE=app) on the docker runtime's network, named
 * `<prefix>scope-app-<orgID>` with the network alias `scope-app-<orgID>`, labelled like everything the runtime
 * makes so `dev down` removes them too. The container's name and labels are its record: a new app-mapper finds
 * the apps of the last one by label.
 */
import Docker from 'dockerode';
import { APP_ROLE, appName, isOrgId, LABELS } from '@saas/kit/contracts';
import type { AppBackend, AppHandle, AppLiveness } from './types.ts';

export interface ContainerBackendOptions {
  docker: Docker;
  network: string;
  image: string;
  /** Prefix of container names, e.g. "scope-saas-1a2b3c-". */
  namePrefix: string;
  /** Put on every app container (the runtime's project label, so `down` finds them). */
  labels: Record<string, string>;
  /** The port the app listens on inside its container. */
  port: number;
  /** `network`: by alias, what app-mapper in a container uses; `published`: a port published on 127.0.0.1. */
  reach: 'network' | 'published';
  env?: Record<string, string>;
}

export interface ContainerApp extends AppHandle {
  id: string;
}

function isStatus(err: unknown, code: number): boolean {
  return (err as { statusCode?: number }).statusCode === code;
}

export class ContainerBackend implements AppBackend<ContainerApp> {
  readonly kind = 'docker' as const;

  constructor(private readonly opts: ContainerBackendOptions) {}

  containerName(org: string): string {
    return `${this.opts.namePrefix}${appName(org)}`;
  }

  private handle(org: string, id: string, startedAt: Date): ContainerApp {
    return { org, id, startedAt, ref: `container ${this.containerName(org)} (${id.slice(0, 12)})` };
  }

  async start(org: string): Promise<ContainerApp> {
    const name = this.containerName(org);
    // A container of that name is a previous instance (crashed, or from before a restart): replace it.
    await this.removeContainer(name, 1);
    const { port, network } = this.opts;
    const env = { ...this.opts.env, SCOPE_ROLE: 'app', HOST: '0.0.0.0', PORT: String(port) };
    const container = await this.opts.docker.createContainer({
      name,
      Image: this.opts.image,
      Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
      Labels: { ...this.opts.labels, [LABELS.role]: APP_ROLE, [LABELS.org]: org },
      ExposedPorts: { [`${port}/tcp`]: {} },
      HostConfig: {
        Init: true,
        NetworkMode: network,
        RestartPolicy: { Name: 'no' },
        LogConfig: { Type: 'json-file', Config: { 'max-size': '10m', 'max-file': '3' } },
        ...(this.opts.reach === 'published' ? { PortBindings: { [`${port}/tcp`]: [{ HostIp: '127.0.0.1', HostPort: '' }] } } : {}),
      },
      NetworkingConfig: { EndpointsConfig: { [network]: { Aliases: [appName(org)] } } },
    });
    await container.start();
    return this.handle(org, container.id, new Date());
  }

  /** Its alias on the network, or its published loopback port (which Docker drops when the container exits). */
  async url(app: ContainerApp): Promise<string | undefined> {
    const info = await this.opts.docker.getContainer(app.id).inspect().catch((err: unknown) => {
      if (isStatus(err, 404)) return undefined;
      throw err;
    });
    if (!info) return undefined;
    if (this.opts.reach === 'network') return `http://${info.Name.replace(/^\//, '')}:${this.opts.port}`;
    const binding = info.NetworkSettings.Ports?.[`${this.opts.port}/tcp`]?.[0];
    return binding ? `http://127.0.0.1:${binding.HostPort}` : undefined;
  }

  async alive(app: ContainerApp): Promise<AppLiveness> {
    try {
      const { State } = await this.opts.docker.getContainer(app.id).inspect();
      return State.Running ? { state: 'running' } : { state: 'gone', reason: `exited with code ${State.ExitCode}` };
    } catch (err) {
      if (!isStatus(err, 404)) throw err;
      return { state: 'gone', reason: 'container is gone' };
    }
  }

  async remove(app: ContainerApp, graceMs: number): Promise<void> {
    await this.removeContainer(app.id, Math.ceil(graceMs / 1000));
  }

  async list(): Promise<ContainerApp[]> {
    const filter = [`${LABELS.role}=${APP_ROLE}`, ...Object.entries(this.opts.labels).map(([k, v]) => `${k}=${v}`)];
    const found = await this.opts.docker.listContainers({ all: true, filters: { label: filter } });
    return found.flatMap((c) => {
      const org = c.Labels[LABELS.org];
      return isOrgId(org) ? [this.handle(org, c.Id, new Date(c.Created * 1000))] : [];
    });
  }

  async logTail(app: ContainerApp): Promise<string> {
    try {
      const buf = (await this.opts.docker.getContainer(app.id).logs({ stdout: true, stderr: true, tail: 20, follow: false })) as unknown as Buffer;
      return demux(buf);
    } catch {
      return '';
    }
  }

  /** Stops (SIGTERM, then SIGKILL after the grace) and removes a container; gone already is fine. */
  private async removeContainer(idOrName: string, graceSeconds: number): Promise<void> {
    const c = this.opts.docker.getContainer(idOrName);
    // Whatever stopping answers (stopped already, gone, a daemon hiccup), the forced removal below ends it.
    await c.stop({ t: graceSeconds }).catch(() => undefined);
    await c.remove({ force: true, v: true }).catch((err: unknown) => {
      if (!isStatus(err, 404) && !isStatus(err, 409)) throw err;
    });
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
