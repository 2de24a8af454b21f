import { readFileSync } from 'node:fs';
import { StepError } from '../cluster/events.ts';
import { COMMANDS, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, commandUsage, parse, usage, type CommandRun, type CommandSpec, type RunnableName } from './args.ts';
import { devDir, openRuntime, pickTarget, projectDir, wantsInk, type Context } from './context.ts';
import { decodeOptions, type OptionSpecs, type RawValues } from './options.ts';
import { PlainRenderer } from './render/plain.ts';
import type { Renderer } from './render/types.ts';

type Invoke = (ctx: Context, values: RawValues, positionals: string[]) => Promise<number>;

/** A command whose module is imported when it runs (so help and usage errors stay instant), given its typed options. */
function lazy<O extends OptionSpecs>(spec: CommandSpec<O>, load: () => Promise<CommandRun<O>>): Invoke {
  return async (ctx, values, positionals) => (await load())(ctx, decodeOptions(spec.options, values), positionals);
}

const commands: Record<RunnableName, Invoke> = {
  up: lazy(COMMANDS.up, async () => (await import('./commands/up.ts')).up),
  down: lazy(COMMANDS.down, async () => (await import('./commands/down.ts')).down),
  status: lazy(COMMANDS.status, async () => (await import('./commands/status.ts')).status),
  logs: lazy(COMMANDS.logs, async () => (await import('./commands/logs.ts')).logs),
  test: lazy(COMMANDS.test, async () => (await import('./commands/test.ts')).test),
  connect: lazy(COMMANDS.connect, async () => (await import('./commands/connect.ts')).connect),
  probe: lazy(COMMANDS.probe, async () => (await import('./commands/probe.ts')).probe),
  build: lazy(COMMANDS.build, async () => (await import('./commands/build.ts')).build),
};

/** Commands that run until interrupted, or clean up on Ctrl-C (stop a probe); the rest just exit on it. */
const handlesInterrupt = new Set<RunnableName>(['logs', 'connect', 'probe', 'test']);

export interface MainOptions {
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WritableStream;
  /** Chooses the renderer; the Ink UI (cli/ui/) plugs in here. */
  createRenderer?: (opts: { out: NodeJS.WritableStream; result: NodeJS.WritableStream }) => Renderer;
}

/** Commands whose events get the live Ink view on a terminal. */
const liveCommands = new Set<RunnableName>(['up', 'test']);

/** The Ink renderer for `dev up`/`dev test` on a terminal, loaded only then (Ink and React take a moment). */
async function inkRenderer(command: RunnableName, json: boolean, out: NodeJS.WritableStream, result: NodeJS.WritableStream): Promise<Renderer | undefined> {
  if (json || !liveCommands.has(command) || !wantsInk(out)) return undefined;
  const { InkRenderer } = await import('./ui/renderer.tsx');
  const plan = command === 'test' ? (await import('../cluster/smoke/steps.ts')).SMOKE_PLAN : [];
  return new InkRenderer({ out, result, title: `dev ${command}`, plan });
}

/** Where the dashboard with the probe token is, when something runs: for `dev probe` without --token. */
async function dashboardLine(): Promise<string> {
  try {
    const project = projectDir();
    const ctx = { projectDir: project, devDir: devDir(project) };
    const endpoints = await (await openRuntime(ctx, pickTarget(ctx, {}))).endpoints();
    return endpoints ? `\nthe dashboard shows the token and the whole probe command: ${endpoints.frontend}/dashboard (sign in first)` : '\nnothing runs yet: dev up, then sign in; the dashboard shows the token';
  } catch {
    return '';
  }
}

/** Runs one `dev` invocation and returns its exit code: 0 ok, 1 failure, 2 usage. */
export async function main(argv: string[], options: MainOptions = {}): Promise<number> {
  const stdout = options.stdout ?? process.stdout;
  const stderr = options.stderr ?? process.stderr;
  const parsed = parse(argv);
  switch (parsed.kind) {
    case 'help':
      stdout.write(`${parsed.command ? commandUsage(parsed.command) : usage()}\n`);
      return EXIT_OK;
    case 'version': {
      const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
      stdout.write(`dev ${pkg.version}\n`);
      return EXIT_OK;
    }
    case 'usage-error': {
      const where = parsed.command === 'probe' && parsed.message.startsWith('missing --token') ? await dashboardLine() : '';
      stderr.write(`dev: ${parsed.message}${where}\n\n${parsed.command ? commandUsage(parsed.command) : usage()}\n`);
      return EXIT_USAGE;
    }
    case 'command':
      break;
  }

  // With --json, stdout carries only the JSON; the event lines go to stderr.
  const json = parsed.values.json === true;
  const out = json ? stderr : stdout;
  const renderer = options.createRenderer
    ? options.createRenderer({ out, result: stdout })
    : ((await inkRenderer(parsed.command, json, out, stdout)) ?? new PlainRenderer({ out, result: stdout }));
  const controller = new AbortController();
  const interruptible = handlesInterrupt.has(parsed.command);
  const onSignal = (sig: NodeJS.Signals) => {
    if (interruptible && !controller.signal.aborted) {
      controller.abort(new Error(`interrupted (${sig})`));
      return;
    }
    // The live view is closed first, so its last frame does not overwrite the message.
    void renderer.close().finally(() => {
      stderr.write(`\ndev ${parsed.command}: interrupted\n`);
      process.exit(130);
    });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const project = projectDir();
  const ctx: Context = { projectDir: project, devDir: devDir(project), renderer, stdout, stderr, signal: controller.signal };
  try {
    return await commands[parsed.command](ctx, parsed.values, parsed.positionals);
  } catch (err) {
    // A StepError was already shown by the renderer, with its diagnosis.
    if (!(err instanceof StepError)) {
      if (controller.signal.aborted) return EXIT_FAILURE;
      const message = (err as Error).message;
      stderr.write(`dev ${parsed.command}: ${message}\n`);
      if (process.env.DEV_DEBUG && err instanceof Error && err.stack) stderr.write(`${err.stack}\n`);
    }
    return EXIT_FAILURE;
  } finally {
    await renderer.close();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
