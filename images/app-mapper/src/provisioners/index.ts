import type { Logger } from '@saas/kit';
import { ProcessProvisioner } from './process.ts';
import type { Provisioner, ProvisionerKind } from './types.ts';

export interface ProvisionerSettings {
  kind: ProvisionerKind;
  log: Logger;
  stateDir: string;
  appCommand?: string[];
  startTimeoutMs: number;
}

/** The provisioner for the runtime. Only the process provisioner exists so far; config validation says so too. */
export function createProvisioner(s: ProvisionerSettings): Provisioner {
  switch (s.kind) {
    case 'process':
      return new ProcessProvisioner({ stateDir: s.stateDir, log: s.log.child({ provisioner: 'process' }), command: s.appCommand, startTimeoutMs: s.startTimeoutMs });
    case 'docker':
    case 'kubernetes':
      throw new Error(`PROVISIONER=${s.kind} is not built yet; use PROVISIONER=process`);
  }
}

export type { Provisioner, AppInstance, AppState, ProvisionerKind } from './types.ts';
export { killRecordedApps } from './process-reaper.ts';
