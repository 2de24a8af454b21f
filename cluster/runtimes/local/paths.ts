import path from 'node:path';

/** Where the local runtime keeps everything: all under .dev/, which survives `down` (data too, unless wiped). */
export interface DevPaths {
  projectDir: string;
  dev: string;
  state: string;
  logs: string;
  data: string;
  build: string;
  /** app-mapper's STATE_DIR: its process provisioner keeps one pid file per Scope app here. */
  apps: string;
  /** The supervisor daemon's address and credentials. */
  daemonFile: string;
  /** The daemon's view of every service (pids, ports, readiness, restarts), rewritten atomically on change. */
  localState: string;
  /** Loopback ports allocated to Service ports, kept so URLs stay stable across runs. */
  portsFile: string;
  /** Held by a running `dev up` / `dev down`. */
  lockFile: string;
  daemonLog: string;
}

export function devPaths(projectDir: string, devDir?: string): DevPaths {
  const dev = path.resolve(devDir ?? path.join(projectDir, '.dev'));
  const state = path.join(dev, 'state');
  const logs = path.join(dev, 'logs');
  return {
    projectDir: path.resolve(projectDir),
    dev,
    state,
    logs,
    data: path.join(dev, 'data'),
    build: path.join(dev, 'build'),
    apps: path.join(state, 'apps'),
    daemonFile: path.join(state, 'daemon.json'),
    localState: path.join(state, 'local.json'),
    portsFile: path.join(state, 'ports.json'),
    lockFile: path.join(state, 'up.lock'),
    daemonLog: path.join(logs, 'daemon.log'),
  };
}

export { LOCAL_MARKER_ENV as markerVariable } from '@saas/kit/contracts';

/** How services run: esbuild bundles (the default, faster to start), or the sources through tsx (DEV_LOCAL_EXEC=tsx). */
export type ExecMode = 'bundle' | 'tsx';
export const execMode = (): ExecMode => (process.env.DEV_LOCAL_EXEC === 'tsx' ? 'tsx' : 'bundle');
