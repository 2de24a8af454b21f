/** What the `dev` side (LocalRuntime) hands the supervisor daemon, and what the daemon reports back. */
import type { ProbeTarget } from '../../plan/prober.ts';

/** A probe of the readiness spec (cluster/plan/readiness.ts) on the process's loopback port. */
export type ProbeSpec = ProbeTarget;

export interface PortBinding {
  /** The container port's name in the manifest, if it has one. */
  name?: string;
  containerPort: number;
  /** Where it listens on 127.0.0.1. */
  hostPort: number;
}

/** One Deployment as a supervised process. Plain JSON: it travels to the daemon. */
export interface ProcessSpec {
  name: string;
  /** The manifest's image, e.g. scope-saas/users or postgres:16-alpine. */
  image: string;
  /** The images/<folder> that runs it (the image's own, or its named stand-in). */
  runs: string;
  /** Set when an upstream image is replaced, e.g. "pglite". */
  standIn?: string;
  command: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  logFile: string;
  ports: PortBinding[];
  /** Loopback URLs of the Services that select it, by Service port name (or number). */
  urls: Record<string, string>;
  readiness?: ProbeSpec;
  liveness?: ProbeSpec;
  /** Until it passes, neither readiness nor liveness is probed. */
  startup?: ProbeSpec;
  /** Changes whenever anything that affects the running process changes (manifest, env, build output). */
  hash: string;
}

export type ProcessState = 'starting' | 'running' | 'backoff' | 'crashed' | 'stopped';

export interface ServiceRecord {
  name: string;
  state: ProcessState;
  ready: boolean;
  /** Restarts since the daemon first started this service (crashes, liveness kills, manual restarts). */
  restarts: number;
  pid?: number;
  /** /proc start time of pid, so a later `down` can tell our process from one that reused the pid. */
  startTime?: number;
  startedAt?: number;
  lastExit?: { code: number | null; signal: string | null; at: number };
  /** What the last readiness probe saw when not ready, e.g. "GET /readyz → 503". */
  probe?: string;
  /** Why it is not running or not ready, in one line. */
  message?: string;
  nextRestartAt?: number;
  hash: string;
  ports: PortBinding[];
  urls: Record<string, string>;
  logFile: string;
}

export interface DaemonInfo {
  pid: number;
  startTime: number;
  port: number;
  token: string;
  startedAt: number;
  devDir: string;
  /** The hash of the daemon's own bundle, to notice a daemon running older engine code. */
  build?: string;
}

/** .dev/state/local.json */
export interface LocalState {
  daemon?: Omit<DaemonInfo, 'token'>;
  services: Record<string, ServiceRecord>;
  updatedAt: number;
}

/** The daemon's answer to an apply: what it does with each service, then status updates as lines. */
export type ApplyMessage =
  | { type: 'plan'; started: string[]; restarted: string[]; unchanged: string[]; stopped: string[] }
  | { type: 'service'; service: ServiceRecord }
  | { type: 'error'; message: string };
