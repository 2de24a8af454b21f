import type { Logger } from '@saas/kit';
import { containerProvisionerFromEnv } from './container.ts';
import { kubernetesProvisionerFromEnv } from './kubernetes.ts';
import { ProcessProvisioner } from './process.ts';
import type { AppLifecycle } from './lifecycle.ts';
import type { ProvisionerKind } from './types.ts';

export interface ProvisionerSettings {
  kind: ProvisionerKind;
  log: Logger;
  stateDir: string;
  appCommand?: string[];
  startTimeoutMs: number;
}

/** The provisioner for the runtime . */
export function createProvisioner(s: ProvisionerSettings): AppLifecycle {
  switch (s.kind) {
    case 'process':
      return new ProcessProvisioner({ stateDir: s.stateDir, log: s.log.child({ provisioner: 'process' }), command: s.appCommand, startTimeoutMs: s.startTimeoutMs });
    case 'docker':
      // Its settings (DOCKER_NETWORK, SCOPE_APP_IMAGE, …) come from the docker runtime; a missing one stops the start.
      return containerProvisionerFromEnv({ log: s.log.child({ provisioner: 'docker' }), startTimeoutMs: s.startTimeoutMs });
    case 'kubernetes':
      return kubernetesProvisionerFromEnv({ log: s.log.child({ provisioner: 'kubernetes' }), startTimeoutMs: s.startTimeoutMs });
  }
}

export type { AppBackend, AppHandle, AppInstance, AppLiveness, AppState, ProvisionerKind } from './types.ts';
export { AppLifecycle } from './lifecycle.ts';
export { killRecordedApps } from './process-reaper.ts';
