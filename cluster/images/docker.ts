/**
 * The connection to the Docker daemon, shared by the image builder and the docker runtime. Everything
 * talks to the daemon through dockerode (the Engine API); the docker CLI is never run.
 */
import { spawn } from 'node:child_process';
import { existsSync, openSync, closeSync, statSync } from 'node:fs';
import Docker from 'dockerode';
import { StepError } from '../events.ts';

export type { Docker };

/** Where the daemon listens: DOCKER_HOST (unix:// or tcp://) or the default socket. */
export function dockerSocketPath(): string {
  const host = process.env.DOCKER_HOST;
  if (host?.startsWith('unix://')) return host.slice('unix://'.length);
  return '/var/run/docker.sock';
}

export function connectDocker(): Docker {
  const host = process.env.DOCKER_HOST;
  if (host && !host.startsWith('unix://')) {
    const u = new URL(host);
    return new Docker({ host: u.hostname, port: Number(u.port || 2375), protocol: u.protocol === 'https:' ? 'https' : 'http' });
  }
  return new Docker({ socketPath: dockerSocketPath() });
}

export async function pingDocker(docker: Docker, timeoutMs = 2000): Promise<boolean> {
  try {
    await Promise.race([
      docker.ping(),
      new Promise((_, reject) => setTimeout(() => reject(new Error('ping timed out')), timeoutMs).unref()),
    ]);
    return true;
  } catch {
    return false;
  }
}

/** The error every docker entry point throws when no daemon answers. */
export function noDaemonError(cause?: unknown): StepError {
  const where = process.env.DOCKER_HOST ?? `unix://${dockerSocketPath()}`;
  return new StepError(
    {
      summary: `No Docker daemon answers at ${where}.`,
      hint:
        'Start one (`sudo systemctl start docker`, or `sudo dockerd >/tmp/dockerd.log 2>&1 &` where there is no systemd), ' +
        'or run without Docker: `dev up --runtime local`.',
    },
    { cause },
  );
}

/** Connects and checks the daemon answers; throws the clear "start a daemon or use --runtime local" error otherwise. */
export async function requireDocker(docker: Docker = connectDocker()): Promise<Docker> {
  if (!(await pingDocker(docker, 5000))) throw noDaemonError();
  return docker;
}

export interface EnsureDaemonOptions {
  /** Where dockerd writes its log when we start it. */
  logFile?: string;
  /** How long to wait for /_ping after starting it. */
  timeoutMs?: number;
}

/**
 * For tests, CI and benchmarks: makes sure a daemon answers, starting `dockerd` in the background if the
 * socket is silent (only possible as root, where there is no systemd). The daemon is left running on
 * purpose: it is shared machine infrastructure like PostgreSQL, not something a test owns.
 */
export async function ensureDockerDaemon(options: EnsureDaemonOptions = {}): Promise<Docker> {
  const docker = connectDocker();
  if (await pingDocker(docker)) return docker;
  if (process.env.DOCKER_HOST && !process.env.DOCKER_HOST.startsWith('unix://')) throw noDaemonError();
  if (process.getuid?.() !== 0) throw noDaemonError();
  const dockerd = ['/usr/sbin/dockerd', '/usr/bin/dockerd'].find((p) => existsSync(p));
  if (!dockerd) throw noDaemonError(new Error('dockerd is not installed (apt-get install -y docker.io)'));
  const logFile = options.logFile ?? '/tmp/dockerd.log';
  const fd = openSync(logFile, 'a');
  const child = spawn(dockerd, [], { detached: true, stdio: ['ignore', fd, fd] });
  child.unref();
  closeSync(fd);
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  while (Date.now() < deadline) {
    if (existsSync(dockerSocketPath()) && (await pingDocker(docker))) return docker;
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw noDaemonError(new Error(`started ${dockerd} but it did not answer; see ${logFile}`));
}

/** The group owning the daemon's socket, so a non-root container given the socket can use it. */
export function dockerSocketGroup(): number | undefined {
  try {
    return statSync(dockerSocketPath()).gid;
  } catch {
    return undefined;
  }
}

/** Reads a dockerode JSON-lines progress stream to its end, handing each decoded object to onEvent. */
export function followJsonStream<T extends object>(stream: NodeJS.ReadableStream, onEvent: (event: T) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    const flush = (final: boolean) => {
      const lines = buffered.split(/\r?\n/);
      buffered = final ? '' : (lines.pop() ?? '');
      for (const line of lines) {
        if (!line.trim()) continue;
        try {
          onEvent(JSON.parse(line) as T);
        } catch {
          /* a partial line from a chunk boundary can't happen after split; anything else is not JSON progress */
        }
      }
    };
    stream.on('data', (chunk: Buffer | string) => {
      buffered += chunk.toString();
      flush(false);
    });
    stream.on('end', () => {
      flush(true);
      resolve();
    });
    stream.on('error', reject);
  });
}

export function isNotFound(err: unknown): boolean {
  return (err as { statusCode?: number }).statusCode === 404;
}
