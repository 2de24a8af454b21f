import { existsSync } from 'node:fs';
import type { EventSink } from './events.ts';
import type { Manifests } from './manifests/types.ts';

/** Every runtime by name, the one list the CLI's choices and createRuntime check against. */
export const runtimeNames = ['local', 'docker', 'kind', 'kubernetes'] as const;

export type RuntimeName = (typeof runtimeNames)[number];

export function isRuntimeName(name: string): name is RuntimeName {
  return (runtimeNames as readonly string[]).includes(name);
}

/** The runtimes whose module (cluster/runtimes/<name>/index.ts) exists: what help offers. */
export function builtRuntimes(): RuntimeName[] {
  return runtimeNames.filter((name) => existsSync(new URL(`./runtimes/${name}/index.ts`, import.meta.url)));
}

/** What createRuntime(name, options) in cluster/runtimes/index.ts passes to every runtime. */
export interface RuntimeOptions {
  /** The project root: manifests/, images/ and .dev/ are found from here. */
  projectDir: string;
  /** Where state, logs and data live (default `<projectDir>/.dev`). Tests point this at a temporary folder. */
  devDir?: string;
  /**
   * The loopback port the frontend should get (the ports policy of cluster/plan/ports.ts). Set, or
   * DEV_FRONTEND_PORT: that port, or a clear failure naming who holds it. Unset: the one remembered from the
   * last run, else 4046 when free (another free port, with a notice, otherwise).
   */
  frontendPort?: number;
  /** Which Kubernetes cluster the kubernetes runtime acts on (kind makes its own). */
  cluster?: ClusterTarget;
  /** Run our pglite and mailcatcher images in place of postgres and maildev even where those could be pulled. */
  standIns?: boolean;
}

/** A cluster by kubeconfig context: `--context NAME [--kubeconfig PATH]`. */
export interface ClusterTarget {
  context?: string;
  /** Default: KUBECONFIG, else ~/.kube/config. */
  kubeconfig?: string;
}

/** One Deployment's state, as `dev status --json` prints it. */
export interface ServiceStatus {
  name: string;
  ready: boolean;
  /** running | starting | crashed | stopped | backoff */
  state: string;
  restarts: number;
  /** ms since epoch when the current instance started, if running. */
  startedAt?: number;
  /** Loopback URL(s) its Service is reachable on from this machine, by port name. */
  urls?: Record<string, string>;
  pid?: number;
  /** Last failure reason, if any. */
  message?: string;
}

/** One per-organisation Scope app the app-mapper provisioned. */
export interface ScopeAppStatus {
  org: string;
  url?: string;
  state: string;
  pid?: number;
  container?: string;
}

export interface Endpoints {
  /** The public frontend, e.g. http://127.0.0.1:4046 */
  frontend: string;
  /** The users service's own port (admin page), never through the frontend. */
  users: string;
  /** The mail capture's web UI and REST API. */
  mail: string;
}

export interface SystemStatus {
  runtime: RuntimeName;
  /** Whether anything of this runtime is up at all. */
  up: boolean;
  services: ServiceStatus[];
  apps: ScopeAppStatus[];
  endpoints: Endpoints | null;
}

export interface UpOptions {
  manifests: Manifests;
  emit: EventSink;
  /** Abort waiting for readiness after this long. */
  timeoutMs?: number;
}

export interface DownOptions {
  emit: EventSink;
  /** Also delete data (databases, captured mail). */
  wipe?: boolean;
}

export interface LogOptions {
  follow?: boolean;
  /** How many lines of history to print first. */
  tail?: number;
  signal?: AbortSignal;
}

/** What every runtime (local processes, docker containers, a kind cluster) does with the same manifests. */
export interface Runtime {
  readonly name: RuntimeName;
  /** Brings everything up and resolves once every Deployment is ready. Idempotent. */
  up(options: UpOptions): Promise<SystemStatus>;
  /** Stops and removes everything this runtime started (per-org apps too); keeps data unless wipe. */
  down(options: DownOptions): Promise<void>;
  status(): Promise<SystemStatus>;
  /** Streams a service's log lines (oldest first) to onLine until done or, with follow, until aborted. */
  logs(service: string, onLine: (line: string) => void, options?: LogOptions): Promise<void>;
  endpoints(): Promise<Endpoints | null>;
  /** Restarts one service (a pod delete, a container restart, a process kill). */
  restart(service: string): Promise<void>;
}
