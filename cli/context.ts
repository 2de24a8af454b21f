import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isRuntimeName, type ClusterTarget, type Runtime, type RuntimeName, type RuntimeOptions } from '../cluster/runtime.ts';
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
  /** The cluster the kubernetes runtime was last brought up on. */
  cluster?: ClusterTarget;
  updatedAt?: string;
}

/** .dev/state/ is shared with the runtimes (their pids, ports); the CLI keeps its own file there. */
function stateFile(dir: string): string {
  return path.join(dir, 'state', 'cli.json');
}

export function readState(dir: string): CliState {
  try {
    if (!statSync(stateFile(dir)).isFile()) return {};
    const parsed = JSON.parse(readFileSync(stateFile(dir), 'utf8')) as { runtime?: unknown; cluster?: unknown; updatedAt?: unknown } | null;
    if (!parsed || typeof parsed !== 'object') return {};
    const cluster = clusterTargetOf(parsed.cluster);
    return {
      ...(typeof parsed.runtime === 'string' && isRuntimeName(parsed.runtime) ? { runtime: parsed.runtime } : {}),
      ...(cluster ? { cluster } : {}),
      ...(typeof parsed.updatedAt === 'string' ? { updatedAt: parsed.updatedAt } : {}),
    };
  } catch {
    return {};
  }
}

function clusterTargetOf(v: unknown): ClusterTarget | undefined {
  if (!v || typeof v !== 'object') return undefined;
  const { context, kubeconfig } = v as Record<string, unknown>;
  return {
    ...(typeof context === 'string' ? { context } : {}),
    ...(typeof kubeconfig === 'string' ? { kubeconfig } : {}),
  };
}

export function writeState(dir: string, state: CliState): void {
  mkdirSync(path.dirname(stateFile(dir)), { recursive: true });
  writeFileSync(stateFile(dir), `${JSON.stringify({ ...readState(dir), ...state, updatedAt: new Date().toISOString() }, null, 2)}\n`);
}

/** The runtime a command acts on: --runtime, else the last one `dev up` used, else local. */
export function pickRuntime(ctx: Pick<Context, 'devDir'>, flag: RuntimeName | undefined): RuntimeName {
  return flag ?? readState(ctx.devDir).runtime ?? 'local';
}

/** What a command's --runtime, --context and --kubeconfig flags said. */
export interface TargetFlags {
  readonly runtime?: RuntimeName | undefined;
  readonly context?: string | undefined;
  readonly kubeconfig?: string | undefined;
}

export interface Target {
  name: RuntimeName;
  cluster?: ClusterTarget;
}

/**
 * The runtime and cluster a command acts on. The flags win; what they leave out comes from the last `dev up`
 * when it used the same runtime. --context without --runtime means the kubernetes runtime.
 */
export function pickTarget(ctx: Pick<Context, 'devDir'>, flags: TargetFlags): Target {
  const state = readState(ctx.devDir);
  const named = flags.runtime ?? (flags.context !== undefined || flags.kubeconfig !== undefined ? 'kubernetes' : (state.runtime ?? 'local'));
  const name = named;
  const wrong = clusterFlagsProblem({ ...flags, name });
  if (wrong) throw new Error(`${wrong}; to pick a cluster: dev up --runtime kubernetes --context NAME`);
  const remembered = state.runtime === name ? state.cluster : undefined;
  const context = flags.context ?? remembered?.context;
  const kubeconfig = flags.kubeconfig !== undefined ? path.resolve(flags.kubeconfig) : remembered?.kubeconfig;
  const cluster: ClusterTarget = { ...(context !== undefined ? { context } : {}), ...(kubeconfig !== undefined ? { kubeconfig } : {}) };
  return { name, ...(Object.keys(cluster).length ? { cluster } : {}) };
}

/** Refuses cluster flags a runtime does not read, so nobody believes they picked a cluster when they did not. */
function clusterFlagsProblem(target: TargetFlags & { name: RuntimeName }): string | undefined {
  if (target.name === 'kubernetes') return undefined;
  const given = [target.context !== undefined ? '--context' : '', target.kubeconfig !== undefined ? '--kubeconfig' : ''].filter(Boolean);
  return given.length ? `${given.join(' and ')} ${given.length > 1 ? 'apply' : 'applies'} only to --runtime kubernetes (not ${target.name})` : undefined;
}

/** Loaded on demand, so `dev --help` and usage errors never load a runtime. */
export async function openRuntime(ctx: Pick<Context, 'projectDir' | 'devDir'>, target: RuntimeName | Target, extra: Pick<RuntimeOptions, 'standIns'> = {}): Promise<Runtime> {
  const { createRuntime } = await import('../cluster/runtimes/index.ts');
  const t = typeof target === 'string' ? { name: target } : target;
  const options: RuntimeOptions = { projectDir: ctx.projectDir, devDir: ctx.devDir, ...(t.cluster ? { cluster: t.cluster } : {}), ...extra };
  return createRuntime(t.name, options);
}
