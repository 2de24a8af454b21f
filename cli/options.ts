/**
 * Typed command options: each command declares its options once (cli/args.ts), and from that one declaration
 * come the parseArgs configuration, the checks of a value, the help lines and the typed object the command gets.
 */
import { suggest } from './suggest.ts';

interface Described {
  description: string;
  short?: string;
}

export interface FlagOption extends Described {
  type: 'boolean';
}

export interface TextOption extends Described {
  type: 'string';
  /** Placeholder shown in help, e.g. "T". */
  value: string;
  /** Makes the option required; says where the value comes from when it is missing. */
  required?: string;
}

export interface IntegerOption extends Described {
  type: 'integer';
  value: string;
  min: number;
  max?: number;
  default?: number;
}

export interface ChoiceOption<C extends string = string> extends Described {
  type: 'choice';
  value: string;
  /** What is accepted. */
  choices: readonly C[];
  /** What help offers, when fewer than are accepted (a runtime not built yet is accepted, to say so, not offered). */
  offered?: () => readonly C[];
}

export type OptionSpec = FlagOption | TextOption | IntegerOption | ChoiceOption;
export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

type ValueOf<S extends OptionSpec> = S extends FlagOption
  ? boolean
  : S extends IntegerOption
    ? S extends { default: number }
      ? number
      : number | undefined
    : S extends ChoiceOption<infer C>
      ? C | undefined
      : S extends { required: string }
        ? string
        : string | undefined;

/** The object a command receives: one typed value per declared option. */
export type OptionValues<O extends OptionSpecs> = { readonly [K in keyof O]: ValueOf<O[K]> };

/** What parseArgs hands back: strings and booleans, by option name. */
export type RawValues = Readonly<Record<string, string | boolean | undefined>>;

type ParseArgsOption = { type: 'string' | 'boolean'; short?: string; multiple?: false };

export function parseArgsOptions(options: OptionSpecs): Record<string, ParseArgsOption> {
  const out: Record<string, ParseArgsOption> = {};
  for (const [name, o] of Object.entries(options)) out[name] = { type: o.type === 'boolean' ? 'boolean' : 'string', ...(o.short ? { short: o.short } : {}) };
  return out;
}

export const takesValue = (o: OptionSpec): o is Exclude<OptionSpec, FlagOption> => o.type !== 'boolean';

/** Why a given value does not fit its option, or undefined when it does. */
export function checkValue(name: string, o: OptionSpec, v: string | boolean | undefined): string | undefined {
  if (typeof v !== 'string') return undefined;
  if (o.type === 'choice' && !o.choices.includes(v)) {
    const guess = suggest(v, [...o.choices]);
    return `--${name} must be one of ${o.choices.join(', ')}, not '${v}'${guess ? `. Did you mean '--${name} ${guess}'?` : ''}`;
  }
  if (o.type === 'integer') {
    const n = Number(v);
    if (!/^\d+$/.test(v) || n < o.min || (o.max !== undefined && n > o.max)) {
      const range = o.max !== undefined ? `${o.min}..${o.max}` : `≥ ${o.min}`;
      return `--${name} must be a whole number ${range}, not '${v}'`;
    }
  }
  return undefined;
}

/** What to say when a required option was not given. */
export function missingValue(name: string, o: OptionSpec, v: string | boolean | undefined): string | undefined {
  return v === undefined && o.type === 'string' && o.required !== undefined ? `missing --${name} ${o.value} (${o.required})` : undefined;
}

/** The typed values of raw values that passed checkValue, defaults filled in. */
export function decodeOptions<O extends OptionSpecs>(options: O, raw: RawValues): OptionValues<O> {
  const out: Record<string, string | number | boolean | undefined> = {};
  for (const [name, o] of Object.entries(options)) out[name] = decodeValue(o, raw[name]);
  // Built key by key from the same declarations the type is mapped from.
  return out as OptionValues<O>;
}

function decodeValue(o: OptionSpec, v: string | boolean | undefined): string | number | boolean | undefined {
  const text = typeof v === 'string' ? v : undefined;
  switch (o.type) {
    case 'boolean':
      return v === true;
    case 'string':
      return text;
    case 'integer':
      return text !== undefined ? Number(text) : o.default;
    case 'choice':
      return o.choices.find((c) => c === text);
  }
}

/** One help line per option: the flag, then what it does, its choices and its default. */
export function optionHelp(options: OptionSpecs): [flag: string, text: string][] {
  return Object.entries(options).map(([name, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : '    '}--${name}${takesValue(o) ? ` ${o.value}` : ''}`;
    const choices = o.type === 'choice' ? `${(o.offered?.() ?? o.choices).join(' | ')}: ` : '';
    const fallback = o.type === 'integer' && o.default !== undefined ? ` (default ${o.default})` : '';
    const required = o.type === 'string' && o.required !== undefined ? ' (required)' : '';
    return [flag, `${choices}${o.description}${fallback}${required}`];
  });
}
