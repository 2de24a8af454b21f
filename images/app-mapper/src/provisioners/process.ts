/**
 * The process provisioner (PROVISIONER=process): the app lifecycle over local processes running
 * `node --import tsx images/scope/src/main.ts` with SCOPE_ROLE=app (process-backend.ts).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '@saas/kit';
import { AppLifecycle } from './lifecycle.ts';
import { ProcessBackend, type ProcessApp } from './process-backend.ts';

/** The project root, from this file's place in it (images/app-mapper/src/provisioners/). */
export const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));

export const defaultAppCommand = (): string[] => [process.execPath, '--import', 'tsx', path.join(repoRoot, 'images/scope/src/main.ts')];

/** Splits SCOPE_APP_COMMAND into words: whitespace separates, single or double quotes group. No shell is involved. */
export function parseCommand(raw: string): string[] {
  const words: string[] = [];
  const re = /"([^"]*)"|'([^']*)'|(\S+)/g;
  for (let m = re.exec(raw); m; m = re.exec(raw)) words.push(m[1] ?? m[2] ?? m[3] ?? '');
  if (!words.length) throw new Error('is empty');
  return words;
}

export interface ProcessProvisionerOptions {
  stateDir: string;
  log: Logger;
  /** argv of a Scope app; default: node --import tsx images/scope/src/main.ts. */
  command?: string[];
  /** Working directory of the apps (tsx and relative paths resolve from it); default the project root. */
  cwd?: string;
  /** How long an app may take to answer /readyz. */
  startTimeoutMs?: number;
  /** SIGTERM → SIGKILL grace when stopping an app. */
  stopGraceMs?: number;
  /** Extra environment for every app. */
  env?: Record<string, string>;
}

export class ProcessProvisioner extends AppLifecycle<ProcessApp> {
  constructor(opts: ProcessProvisionerOptions) {
    const backend = new ProcessBackend({ stateDir: opts.stateDir, log: opts.log, command: opts.command ?? defaultAppCommand(), cwd: opts.cwd ?? repoRoot, env: opts.env });
    super({ backend, log: opts.log, startTimeoutMs: opts.startTimeoutMs, stopGraceMs: opts.stopGraceMs });
  }
}
