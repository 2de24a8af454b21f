import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isRuntimeName, type Runtime, type RuntimeName, type RuntimeOptions } from '../cluster/runtime.ts';
import type { Renderer } from './render/types.ts';

/** What every command gets: where the project is, where state lives, how to talk to the user. */
export interface Context {
  projectDir: string;
  devDir: string;
  renderer: Renderer;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** Aborted on Ctrl-C (SIGINT) or SIGTERM. */
  signal: AbortSignal;
}

/** Whether this terminal gets the Ink UI: a TTY that is not "dumb", unless DEV_PLAIN asks for plain lines. */
export function wantsInk(stream: NodeJS.WritableStream): stream is NodeJS.WriteStream {
  return (stream as NodeJS.WriteStream).isTTY === true && !process.env.DEV_PLAIN && process.env.TERM !== 'dumb' && !process.env.CI;
}

/** The repository root (cli/..), or DEV_PROJECT_DIR. */
export function projectDir(): string {
  return path.resolve(process.env.DEV_PROJECT_DIR ?? fileURLToPath(new URL('..', import.meta.url)));
}

/** Where runtimes keep state, logs and data: DEV_DIR, else <project>/.dev. */
export function devDir(project: string): string {
  return path.resolve(process.env.DEV_DIR ?? path.join(project, '.dev'));
}

interface CliState {
  runtime?: RuntimeName;
  updatedAt?: string;
}

/** .dev/state/ is shared with the runtimes (their pids, ports); the CLI keeps its own file there. */
function stateFile(dir: string): string {
  return path.join(dir, 'state', 'cli.json');
}

export function readState(dir: string): CliState {
  try {
    if (!statSync(stateFile(dir)).isFile()) return {};
    const parsed = JSON.parse(readFileSync(stateFile(dir), 'utf8')) as { runtime?: unknown; updatedAt?: unknown } | null;
    if (!parsed || typeof parsed !== 'object') return {};
    return {
      ...(typeof parsed.runtime === 'string' && isRuntimeName(parsed.runtime) ? { runtime: parsed.runtime } : {}),
      ...(typeof parsed.updatedAt === 'string' ? { updatedAt: parsed.updatedAt } : {}),
    };
  } catch {
    return {};
  }
}

export function writeState(dir: string, state: CliState): void {
  mkdirSync(path.dirname(stateFile(dir)), { recursive: true });
  writeFileSync(stateFile(dir), `${JSON.stringify({ ...readState(dir), ...state, updatedAt: new Date().toISOString() }, null, 2)}\n`);
}

/** The runtime a command acts on: --runtime, else the last one `dev up` used, else local. */
export function pickRuntime(ctx: Pick<Context, 'devDir'>, flag: RuntimeName | undefined): RuntimeName {
  return flag ?? readState(ctx.devDir).runtime ?? 'local';
}

/** Loaded on demand, so `dev --help` and usage errors never load a runtime. */
export async function openRuntime(ctx: Pick<Context, 'projectDir' | 'devDir'>, name: RuntimeName): Promise<Runtime> {
  const { createRuntime } = await import('../cluster/runtimes/index.ts');
  const options: RuntimeOptions = { projectDir: ctx.projectDir, devDir: ctx.devDir };
  return createRuntime(name, options);
}
