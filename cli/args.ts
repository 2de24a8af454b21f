import { parseArgs } from 'node:util';
import { builtRuntimes, runtimeNames } from '../cluster/runtime.ts';
import type { Context } from './context.ts';
import { checkValue, missingValue, optionHelp, parseArgsOptions, takesValue, type ChoiceOption, type OptionSpecs, type OptionValues, type RawValues } from './options.ts';
import { suggest } from './suggest.ts';

/** Exit codes scripts can rely on. */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export interface CommandSpec<O extends OptionSpecs = OptionSpecs> {
  summary: string;
  /** Positional arguments, e.g. ["<service>"] or ["[URL]"]; `<x>` required, `[x]` optional. */
  args: readonly string[];
  options: O;
}

const runtimeOption = {
  type: 'choice',
  value: 'NAME',
  choices: runtimeNames,
  offered: builtRuntimes,
  description: 'which runtime (default: the last one used, else local)',
} as const satisfies ChoiceOption;

/** Which runtime, and for `--runtime kubernetes` which cluster: every command that acts on a runtime takes these. */
const runtimeTarget = {
  runtime: runtimeOption,
  context: { type: 'string', value: 'NAME', description: 'the kubeconfig context (--runtime kubernetes; default: the last one used, else the current context)' },
  kubeconfig: { type: 'string', value: 'PATH', description: 'the kubeconfig file (--runtime kubernetes; default: KUBECONFIG, else ~/.kube/config)' },
} as const satisfies OptionSpecs;

/** Every command and its options, declared once: parsing, help and each command's typed options come from here. */
export const COMMANDS = {
  up: {
    summary: 'start every service and wait until all are ready',
    args: [],
    options: {
      ...runtimeTarget,
      'stand-ins': { type: 'boolean', description: 'run our pglite and mailcatcher images even where postgres and maildev could be pulled' },
      timeout: { type: 'integer', value: 'SECONDS', min: 1, default: 180, description: 'give up waiting for readiness after this long' },
    },
  },
  down: {
    summary: 'stop everything `dev up` started',
    args: [],
    options: {
      ...runtimeTarget,
      wipe: { type: 'boolean', description: 'also delete data (database, captured mail)' },
    },
  },
  status: {
    summary: 'show services, their state and URLs, and the per-organisation Scope apps',
    args: [],
    options: {
      ...runtimeTarget,
      json: { type: 'boolean', description: 'print {runtime, services, endpoints, apps} as JSON' },
    },
  },
  logs: {
    summary: "print a service's log",
    args: ['<service>'],
    options: {
      ...runtimeTarget,
      follow: { type: 'boolean', short: 'f', description: 'keep printing new lines until Ctrl-C' },
      tail: { type: 'integer', value: 'N', min: 0, default: 100, description: 'start with the last N lines' },
    },
  },
  test: {
    summary: 'run the smoke flow (sign up, approve, log in, probe, map) against the running system',
    args: [],
    options: {
      ...runtimeTarget,
      json: { type: 'boolean', description: 'print a machine-readable result on stdout' },
    },
  },
  connect: {
    summary: 'print the URLs and serve a browser proxy for the in-cluster names',
    args: [],
    options: {
      ...runtimeTarget,
      port: { type: 'integer', value: 'PORT', min: 0, max: 65535, default: 8000, description: 'loopback port of the proxy' },
    },
  },
  probe: {
    summary: 'run a probe on this machine that reports to the frontend (default: the running one)',
    args: ['[URL]'],
    options: {
      ...runtimeTarget,
      token: { type: 'string', value: 'T', required: 'the probe token from the dashboard', description: "the organisation's probe token" },
    },
  },
  build: {
    summary: 'build the service images the docker runtime runs (only what changed)',
    args: ['[image...]'],
    options: {
      force: { type: 'boolean', description: 'build even when an image with the same inputs exists' },
    },
  },
  help: {
    summary: 'show this help, or a command’s',
    args: ['[command]'],
    options: {},
  },
} as const satisfies Record<string, CommandSpec>;

export type CommandName = keyof typeof COMMANDS;
/** The commands that run (help is answered by the parser). */
export type RunnableName = Exclude<CommandName, 'help'>;

/** What a command's module exports: it gets its options typed from its declaration. */
export type CommandRun<O extends OptionSpecs> = (ctx: Context, options: OptionValues<O>, positionals: string[]) => Promise<number>;
export type RunOf<K extends RunnableName> = CommandRun<(typeof COMMANDS)[K]['options']>;

export type Parsed =
  | { kind: 'command'; command: RunnableName; values: RawValues; positionals: string[] }
  | { kind: 'help'; command?: CommandName }
  | { kind: 'version' }
  | { kind: 'usage-error'; message: string; command?: CommandName };

const commandNames = Object.keys(COMMANDS) as CommandName[];

export function isCommandName(name: string): name is CommandName {
  return Object.hasOwn(COMMANDS, name);
}

export function parse(argv: string[]): Parsed {
  const first = argv[0];
  if (first === undefined || first === '-h' || first === '--help') return { kind: 'help' };
  if (first === '--version' || first === '-v') return { kind: 'version' };
  if (first.startsWith('-')) {
    return { kind: 'usage-error', message: `unknown option '${first}' (options go after the command, e.g. dev up --runtime local)` };
  }
  if (!isCommandName(first)) {
    const guess = suggest(first, commandNames);
    return { kind: 'usage-error', message: `unknown command '${first}'${guess ? `. Did you mean 'dev ${guess}'?` : ''}` };
  }
  const rest = argv.slice(1);
  if (rest.includes('-h') || rest.includes('--help')) return { kind: 'help', command: first };
  if (first === 'help') {
    const target = rest[0];
    if (target === undefined) return { kind: 'help' };
    if (!isCommandName(target)) {
      const guess = suggest(target, commandNames);
      return { kind: 'usage-error', message: `unknown command '${target}'${guess ? `. Did you mean '${guess}'?` : ''}` };
    }
    return { kind: 'help', command: target };
  }

  const spec: CommandSpec = COMMANDS[first];
  let values: RawValues;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({ args: rest, options: parseArgsOptions(spec.options), allowPositionals: true, strict: true }));
  } catch (err) {
    return { kind: 'usage-error', command: first, message: explainParseError(err as Error & { code?: string }, first, spec, rest) };
  }

  for (const [name, o] of Object.entries(spec.options)) {
    const wrong = checkValue(name, o, values[name]);
    if (wrong) return { kind: 'usage-error', command: first, message: wrong };
  }
  const required = spec.args.filter((a) => a.startsWith('<')).length;
  if (positionals.length < required) {
    return { kind: 'usage-error', command: first, message: `missing ${spec.args.slice(positionals.length, required).join(' ')}` };
  }
  const variadic = spec.args.some((a) => a.endsWith('...]'));
  if (!variadic && positionals.length > spec.args.length) {
    const extra = positionals[spec.args.length]!;
    return { kind: 'usage-error', command: first, message: `unexpected argument '${extra}'` };
  }
  for (const [name, o] of Object.entries(spec.options)) {
    const missing = missingValue(name, o, values[name]);
    if (missing) return { kind: 'usage-error', command: first, message: missing };
  }
  return { kind: 'command', command: first, values, positionals };
}

function explainParseError(err: Error & { code?: string }, command: CommandName, spec: CommandSpec, args: string[]): string {
  const names = Object.keys(spec.options);
  if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const m = /Unknown option '([^']+)'/.exec(err.message);
    const raw = m?.[1] ?? args.find((a) => a.startsWith('-')) ?? '';
    const bare = raw.replace(/^-+/, '').split('=')[0]!;
    const guess = suggest(bare, names);
    return `unknown option '${raw}' for 'dev ${command}'${guess ? `. Did you mean '--${guess}'?` : ''}`;
  }
  if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    const m = /Option '(?:-\w, )?--([\w-]+)/.exec(err.message);
    const name = m?.[1];
    const o = name ? spec.options[name] : undefined;
    if (name && o && takesValue(o)) return `--${name} needs a value (--${name} ${o.value})`;
    if (name) return `--${name} takes no value`;
  }
  return err.message;
}

const synopsis = (name: CommandName) => `${name} ${COMMANDS[name].args.join(' ')}`;

export function usage(): string {
  const width = Math.max(...commandNames.map((c) => synopsis(c).length));
  const lines = [
    'usage: dev <command> [options]',
    '',
    'commands:',
    ...commandNames.map((c) => `  ${synopsis(c).padEnd(width)}  ${COMMANDS[c].summary}`),
    '',
    "run 'dev <command> --help' for a command's options. Exit codes: 0 ok, 1 failure, 2 usage.",
  ];
  return lines.join('\n');
}

export function commandUsage(name: CommandName): string {
  const spec: CommandSpec = COMMANDS[name];
  const opts = optionHelp(spec.options);
  const width = Math.max(0, ...opts.map(([f]) => f.length));
  return [
    `usage: dev ${name}${spec.args.length ? ` ${spec.args.join(' ')}` : ''}${opts.length ? ' [options]' : ''}`,
    '',
    `  ${spec.summary}`,
    ...(opts.length ? ['', 'options:', ...opts.map(([f, d]) => `  ${f.padEnd(width)}  ${d}`)] : []),
  ].join('\n');
}
