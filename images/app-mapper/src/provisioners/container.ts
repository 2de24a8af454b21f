/**
 * The container provisioner (PROVISIONER=docker): the app lifecycle over containers of the scope image
 * (container-backend.ts), talking to the daemon through dockerode (the socket the runtime mounts).
 *
 * Configuration (containerProvisionerFromEnv): DOCKER_NETWORK, SCOPE_APP_IMAGE (required); DOCKER_NAME_PREFIX,
 * DOCKER_LABELS (a JSON object of labels), SCOPE_APP_PORT (8080); DOCKER_APP_REACH (`network`: by alias, what
 * app-mapper in a container uses; `published`: through a port published on 127.0.0.1, for an app-mapper on
 * the host; default: network inside a container, published outside).
 */
import { existsSync } from 'node:fs';
import Docker from 'dockerode';
import type { Logger } from '@saas/kit';
import { ContainerBackend, type ContainerApp } from './container-backend.ts';
import { AppLifecycle } from './lifecycle.ts';

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

export class ContainerProvisioner extends AppLifecycle<ContainerApp> {
  private readonly containers: ContainerBackend;

  constructor(opts: ContainerProvisionerOptions) {
    const containers = new ContainerBackend({
      docker: opts.docker ?? new Docker(),
      network: opts.network,
      image: opts.image,
      namePrefix: opts.namePrefix ?? '',
      labels: opts.labels ?? {},
      port: opts.port ?? 8080,
      reach: opts.reach ?? (existsSync('/.dockerenv') ? 'network' : 'published'),
      env: opts.env,
    });
    super({ backend: containers, log: opts.log, startTimeoutMs: opts.startTimeoutMs, stopGraceMs: (opts.stopGraceSeconds ?? 5) * 1000, pollMs: 250 });
    this.containers = containers;
  }

  containerName(org: string): string {
    return this.containers.containerName(org);
  }
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
