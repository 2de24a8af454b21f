/**
 * How app-mapper gets one Scope app per organisation. The process provisioner runs each app as a local Node
 * process; container (dockerode, one container per org on a network) and Kubernetes (Deployment + Service
 * `scope-app-<orgID>`) provisioners implement the same interface.
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
  /** Provisioner-specific identity (process id, container id, Deployment name), for logs and status. */
  ref: string;
}

export interface Provisioner {
  readonly kind: ProvisionerKind;
  /**
   * Returns the org's app, starting it when none runs (or it died). Never waits for readiness: a new app comes
   * back in state 'starting' and turns 'ready' on its own; callers answer 503 until then.
   */
  ensure(org: string): Promise<AppInstance>;
  /** The org's app as last seen, without starting anything; undefined when this provisioner never ran one. */
  status(org: string): Promise<AppInstance | undefined>;
  /** Stops the org's app and waits until it is gone. */
  stop(org: string): Promise<void>;
  list(): Promise<AppInstance[]>;
  /** Stops every app this provisioner runs (graceful shutdown). */
  stopAll(): Promise<void>;
  /** Called when the app could not be reached: re-checks it, so the next ensure() restarts a dead one. */
  reportUnreachable(org: string): Promise<void>;
  /** Takes over (or removes) apps a previous app-mapper left behind. */
  init(): Promise<void>;
}

export const provisionerKinds = ['process', 'docker', 'kubernetes'] as const;
export type ProvisionerKind = (typeof provisionerKinds)[number];

/** Organisation IDs come from users and name Kubernetes objects, so nothing else may pass. */
export const orgIdPattern = /^[a-z0-9]{1,40}$/;
