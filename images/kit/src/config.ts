/**
 * Service configuration, read from the environment once at start and validated as a whole, so a
 * misconfigured Deployment fails with one message naming every missing or bad variable.
 */

type Parser<T> = (raw: string) => T;

export interface VariableSpec<T> {
  /** Environment variable name, e.g. DATABASE_URL. */
  env: string;
  parse: Parser<T>;
  /** Used when the variable is unset or empty; without one the variable is required. */
  default?: T;
  /** A short description, shown in errors. */
  doc?: string;
  /** Never echo the value in errors or logs. */
  secret?: boolean;
}

export type ConfigSpec = Record<string, VariableSpec<unknown>>;
export type ConfigOf<S extends ConfigSpec> = { [K in keyof S]: S[K] extends VariableSpec<infer T> ? T : never };

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export function readConfig<S extends ConfigSpec>(spec: S, env: NodeJS.ProcessEnv = process.env): ConfigOf<S> {
  const problems: string[] = [];
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(spec)) {
    const raw = env[v.env];
    if (raw === undefined || raw === '') {
      if ('default' in v) out[key] = v.default;
      else problems.push(`${v.env} is missing${v.doc ? ` (${v.doc})` : ''}`);
      continue;
    }
    try {
      out[key] = v.parse(raw);
    } catch (err) {
      const shown = v.secret ? '' : ` ${JSON.stringify(raw)}`;
      problems.push(`${v.env}${shown} is invalid: ${(err as Error).message}`);
    }
  }
  if (problems.length) throw new ConfigError(problems);
  return out as ConfigOf<S>;
}

export const str = (env: string, opts: Partial<VariableSpec<string>> = {}): VariableSpec<string> => ({
  env,
  parse: (raw) => raw,
  ...opts,
});

export const secret = (env: string, minLength = 16, opts: Partial<VariableSpec<string>> = {}): VariableSpec<string> => ({
  env,
  secret: true,
  parse: (raw) => {
    if (raw.length < minLength) throw new Error(`must be at least ${minLength} characters`);
    return raw;
  },
  ...opts,
});

export const int = (env: string, opts: Partial<VariableSpec<number>> & { min?: number; max?: number } = {}): VariableSpec<number> => ({
  env,
  parse: (raw) => {
    if (!/^-?\d+$/.test(raw.trim())) throw new Error('must be an integer');
    const n = Number(raw);
    if (opts.min !== undefined && n < opts.min) throw new Error(`must be at least ${opts.min}`);
    if (opts.max !== undefined && n > opts.max) throw new Error(`must be at most ${opts.max}`);
    return n;
  },
  ...opts,
});

export const port = (env: string, opts: Partial<VariableSpec<number>> = {}): VariableSpec<number> =>
  int(env, { min: 0, max: 65535, ...opts });

export const url = (env: string, protocols: string[], opts: Partial<VariableSpec<string>> = {}): VariableSpec<string> => ({
  env,
  parse: (raw) => {
    let u: URL;
    try {
      u = new URL(raw);
    } catch {
      throw new Error('is not a URL');
    }
    if (!protocols.includes(u.protocol.replace(/:$/, ''))) {
      throw new Error(`must use ${protocols.map((p) => `${p}://`).join(' or ')}`);
    }
    return raw.replace(/\/+$/, '');
  },
  ...opts,
});

export const bool = (env: string, opts: Partial<VariableSpec<boolean>> = {}): VariableSpec<boolean> => ({
  env,
  parse: (raw) => {
    const v = raw.trim().toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(v)) return true;
    if (['0', 'false', 'no', 'off'].includes(v)) return false;
    throw new Error('must be true or false');
  },
  ...opts,
});

export function oneOf<const T extends string>(env: string, values: readonly T[], opts: Partial<VariableSpec<T>> = {}): VariableSpec<T> {
  return {
    env,
    parse: (raw) => {
      if (!(values as readonly string[]).includes(raw)) throw new Error(`must be one of ${values.join(', ')}`);
      return raw as T;
    },
    ...opts,
  };
}
