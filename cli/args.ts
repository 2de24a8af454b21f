import { parseArgs } from 'node:util';

/** Exit codes scripts can rely on. */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export const RUNTIMES = ['local', 'docker', 'kind'] as const;

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  /** Placeholder shown in help, e.g. "N". */
  value?: string;
  description: string;
  choices?: readonly string[];
  /** Must parse as an integer ≥ min. */
  integer?: { min: number; max?: number };
}

export interface CommandSpec {
  name: string;
  summary: string;
  /** Positional arguments, e.g. ["<service>"] or ["[URL]"]; `<x>` required, `[x]` optional. */
  args: string[];
  options: Record<string, OptionSpec>;
}

const runtimeOption: OptionSpec = { type: 'string', value: 'NAME', description: 'local | docker | kind (default: the last one used, else local)', choices: RUNTIMES };

export const COMMANDS: CommandSpec[] = [
  {
    name: 'up',
    summary: 'start every service and wait until all are ready',
    args: [],
    options: {
      runtime: runtimeOption,
      timeout: { type: 'string', value: 'SECONDS', description: 'give up waiting for readiness after this long (default 180)', integer: { min: 1 } },
    },
  },
  {
    name: 'down',
    summary: 'stop everything `dev up` started',
    args: [],
    options: {
      runtime: runtimeOption,
      wipe: { type: 'boolean', description: 'also delete data (database, captured mail)' },
    },
  },
  {
    name: 'status',
    summary: 'show services, their state and URLs, and the per-organisation Scope apps',
    args: [],
    options: {
      runtime: runtimeOption,
      json: { type: 'boolean', description: 'print {runtime, services, endpoints, apps} as JSON' },
    },
  },
  {
    name: 'logs',
    summary: "print a service's log",
    args: ['<service>'],
    options: {
      runtime: runtimeOption,
      follow: { type: 'boolean', short: 'f', description: 'keep printing new lines until Ctrl-C' },
      tail: { type: 'string', value: 'N', description: 'start with the last N lines (default 100)', integer: { min: 0 } },
    },
  },
  {
    name: 'test',
    summary: 'run the smoke flow (sign up, approve, log in, probe, map) against the running system',
    args: [],
    options: {
      runtime: runtimeOption,
      json: { type: 'boolean', description: 'print a machine-readable result on stdout' },
    },
  },
  {
    name: 'connect',
    summary: 'print the URLs and serve a browser proxy for the in-cluster names',
    args: [],
    options: {
      runtime: runtimeOption,
      port: { type: 'string', value: 'PORT', description: 'loopback port of the proxy (default 8000)', integer: { min: 0, max: 65535 } },
    },
  },
  {
    name: 'probe',
    summary: 'run a probe on this machine that reports to the frontend (default: the running one)',
    args: ['[URL]'],
    options: {
      runtime: runtimeOption,
      token: { type: 'string', value: 'T', description: "the organisation's probe token (required)" },
    },
  },
  {
    name: 'build',
    summary: 'build the service images the docker runtime runs (only what changed)',
    args: ['[image...]'],
    options: {
      force: { type: 'boolean', description: 'build even when an image with the same inputs exists' },
    },
  },
  {
    name: 'help',
    summary: 'show this help, or a command’s',
    args: ['[command]'],
    options: {},
  },
];

export type Parsed =
  | { kind: 'command'; command: string; values: Record<string, string | boolean | undefined>; positionals: string[] }
  | { kind: 'help'; command?: string }
  | { kind: 'version' }
  | { kind: 'usage-error'; message: string; command?: string };

/** Edit distance counting a swap of two neighbours as one edit (optimal string alignment), for "did you mean". */
export function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/** The closest candidate, if it is close enough to be what was meant. */
export function suggest(input: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = c.startsWith(input) && input.length >= 2 ? 1 : distance(input, c);
    if (d < bestD) {
      best = c;
      bestD = d;
    }
  }
  return best !== undefined && bestD <= Math.max(1, Math.floor(best.length / 3)) ? best : undefined;
}

export function findCommand(name: string): CommandSpec | undefined {
  return COMMANDS.find((c) => c.name === name);
}

export function parse(argv: string[]): Parsed {
  const first = argv[0];
  if (first === undefined || first === '-h' || first === '--help') return { kind: 'help' };
  if (first === '--version' || first === '-v') return { kind: 'version' };
  if (first.startsWith('-')) {
    return { kind: 'usage-error', message: `unknown option '${first}' (options go after the command, e.g. dev up --runtime local)` };
  }
  const spec = findCommand(first);
  if (!spec) {
    const guess = suggest(first, COMMANDS.map((c) => c.name));
    return { kind: 'usage-error', message: `unknown command '${first}'${guess ? `. Did you mean 'dev ${guess}'?` : ''}` };
  }
  const rest = argv.slice(1);
  if (rest.includes('-h') || rest.includes('--help')) return { kind: 'help', command: spec.name };
  if (spec.name === 'help') {
    const target = rest[0];
    if (target === undefined) return { kind: 'help' };
    if (!findCommand(target)) {
      const guess = suggest(target, COMMANDS.map((c) => c.name));
      return { kind: 'usage-error', message: `unknown command '${target}'${guess ? `. Did you mean '${guess}'?` : ''}` };
    }
    return { kind: 'help', command: target };
  }

  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {};
  for (const [name, o] of Object.entries(spec.options)) options[name] = o.short ? { type: o.type, short: o.short } : { type: o.type };
  let values: Record<string, string | boolean | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({ args: rest, options, allowPositionals: true, strict: true }) as {
      values: Record<string, string | boolean | undefined>;
      positionals: string[];
    });
  } catch (err) {
    return { kind: 'usage-error', command: spec.name, message: explainParseError(err as Error & { code?: string }, spec, rest) };
  }

  for (const [name, o] of Object.entries(spec.options)) {
    const v = values[name];
    if (typeof v !== 'string') continue;
    if (o.choices && !o.choices.includes(v)) {
      const guess = suggest(v, [...o.choices]);
      return {
        kind: 'usage-error',
        command: spec.name,
        message: `--${name} must be one of ${o.choices.join(', ')}, not '${v}'${guess ? `. Did you mean '--${name} ${guess}'?` : ''}`,
      };
    }
    if (o.integer) {
      const n = Number(v);
      if (!/^\d+$/.test(v) || n < o.integer.min || (o.integer.max !== undefined && n > o.integer.max)) {
        const range = o.integer.max !== undefined ? `${o.integer.min}..${o.integer.max}` : `≥ ${o.integer.min}`;
        return { kind: 'usage-error', command: spec.name, message: `--${name} must be a whole number ${range}, not '${v}'` };
      }
    }
  }

  const required = spec.args.filter((a) => a.startsWith('<')).length;
  if (positionals.length < required) {
    return { kind: 'usage-error', command: spec.name, message: `missing ${spec.args.slice(positionals.length, required).join(' ')}` };
  }
  const variadic = spec.args.some((a) => a.endsWith('...]'));
  if (!variadic && positionals.length > spec.args.length) {
    const extra = positionals[spec.args.length]!;
    return { kind: 'usage-error', command: spec.name, message: `unexpected argument '${extra}'` };
  }
  if (spec.name === 'probe' && typeof values.token !== 'string') {
    return { kind: 'usage-error', command: spec.name, message: 'missing --token T (the probe token from the dashboard)' };
  }
  return { kind: 'command', command: spec.name, values, positionals };
}

function explainParseError(err: Error & { code?: string }, spec: CommandSpec, args: string[]): string {
  const names = Object.keys(spec.options);
  if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const m = /Unknown option '([^']+)'/.exec(err.message);
    const raw = m?.[1] ?? args.find((a) => a.startsWith('-')) ?? '';
    const bare = raw.replace(/^-+/, '').split('=')[0]!;
    const guess = suggest(bare, names);
    return `unknown option '${raw}' for 'dev ${spec.name}'${guess ? `. Did you mean '--${guess}'?` : ''}`;
  }
  if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    const m = /Option '(?:-\w, )?--([\w-]+)/.exec(err.message);
    const name = m?.[1];
    const o = name ? spec.options[name] : undefined;
    if (name && o?.type === 'string') return `--${name} needs a value (--${name} ${o.value ?? 'VALUE'})`;
    if (name) return `--${name} takes no value`;
  }
  return err.message;
}

export function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => `${c.name} ${c.args.join(' ')}`.length));
  const lines = [
    'usage: dev <command> [options]',
    '',
    'commands:',
    ...COMMANDS.map((c) => `  ${`${c.name} ${c.args.join(' ')}`.padEnd(width)}  ${c.summary}`),
    '',
    "run 'dev <command> --help' for a command's options. Exit codes: 0 ok, 1 failure, 2 usage.",
  ];
  return lines.join('\n');
}

export function commandUsage(name: string): string {
  const spec = findCommand(name);
  if (!spec) return usage();
  const opts = Object.entries(spec.options).map(([n, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : '    '}--${n}${o.type === 'string' ? ` ${o.value ?? 'VALUE'}` : ''}`;
    return [flag, o.description] as const;
  });
  const width = Math.max(0, ...opts.map(([f]) => f.length));
  return [
    `usage: dev ${spec.name}${spec.args.length ? ` ${spec.args.join(' ')}` : ''}${opts.length ? ' [options]' : ''}`,
    '',
    `  ${spec.summary}`,
    ...(opts.length ? ['', 'options:', ...opts.map(([f, d]) => `  ${f.padEnd(width)}  ${d}`)] : []),
  ].join('\n');
}
