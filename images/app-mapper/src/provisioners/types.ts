/**
 * How app-mapper gets one Scope app per organisation: one AppLifecycle (lifecycle.ts) over a narrow AppBackend
 * per runtime — a local process, a container (dockerode, one per org on a network), and a Kubernetes
 * Deployment + Service `scope-app-<orgID>`.
 */

export type AppState = 'starting' | 'ready' | 'stopped' | 'crashed';

export interface AppInstance {
  /** Organisation ID, lowercase [a-z0-9]. */
  org: string;
  state: AppState;
  /** Base URL of the app's HTTP API, e.g. http://127.0.0.1:40123 (no trailing slash). */
  url: string;
  startedAt: Date;
  /** Why the app is not running, for a crashed or stopped app. */
  reason?: string;
  /** While starting or crashed: seconds a client should wait before trying again. */
  retryAfterSeconds?: number;
  /** Backend-specific identity (process id, container id, Deployment name), for logs and status. */
  ref: string;
}

export const provisionerKinds = ['process', 'docker', 'kubernetes'] as const;
export type ProvisionerKind = (typeof provisionerKinds)[number];

/** One app a backend made (or found): enough for the backend to address, check and remove it again. */
export interface AppHandle {
  org: string;
  /** Backend-specific identity for logs and status, e.g. `pid 4242`. */
  ref: string;
  startedAt: Date;
}

/**
 * What a backend sees of an app. `running` leaves readiness to the lifecycle (GET <url>/readyz); a backend
 * that knows it better (a Deployment's available replicas) answers `ready` itself.
 */
export type AppLiveness =
  | { state: 'running' }
  | { state: 'ready' }
  /** `transient`: the start failed for a reason of the moment (a port taken): start again at once, no backoff. */
  | { state: 'gone'; reason: string; transient?: boolean };

/**
 * The few verbs a runtime provides; everything else (one start per org, readiness, backoff, adoption, idle
 * stops, shutdown) is the lifecycle's. A backend keeps no per-org state of its own beyond its handles.
 */
export interface AppBackend<H extends AppHandle = AppHandle> {
  readonly kind: ProvisionerKind;
  /** Creates the org's app, replacing any earlier instance of it; resolves once it was started, not ready. */
  start(org: string): Promise<H>;
  /** Where app-mapper reaches the app; undefined when it cannot be reached (it died before it had an address). */
  url(app: H): Promise<string | undefined>;
  /** Cheap: called on use at most every `recheckMs`, and while the app starts. */
  alive(app: H): Promise<AppLiveness>;
  /** Stops the app (SIGTERM first, then SIGKILL after graceMs) and forgets it; gone already is fine. */
  remove(app: H, graceMs: number): Promise<void>;
  /** The apps this backend finds running or left over (from a previous app-mapper), to adopt or remove. */
  list(): Promise<H[]>;
  /** The app's last lines of output, for the log when it fails. */
  logTail(app: H): Promise<string>;
}
