import { fold, initialState, stepTitle, totals, type Diagnosis, type EngineEvent, type RunState } from '../../cluster/events.ts';
import type { Renderer, RendererOptions } from './types.ts';

const INDENT = ' '.repeat(11);

/** Elapsed seconds since start, right-aligned in a fixed-width column: "[   1.2s]". */
export function elapsed(at: number, start: number): string {
  return `[${(Math.max(0, at - start) / 1000).toFixed(1).padStart(6)}s]`;
}

export function duration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

/** A service log line made readable: pino JSON becomes "time level msg", anything else is kept as is. */
export function formatLogLine(line: string): string {
  if (!line.startsWith('{')) return line;
  try {
    const o = JSON.parse(line) as Record<string, unknown>;
    const msg = typeof o.msg === 'string' ? o.msg : undefined;
    if (msg === undefined) return line;
    const time = typeof o.time === 'string' ? o.time.slice(11, 19) : typeof o.time === 'number' ? new Date(o.time).toISOString().slice(11, 19) : '';
    const level = typeof o.level === 'string' ? o.level : typeof o.level === 'number' ? pinoLevel(o.level) : '';
    const err =
      typeof o.err === 'string'
        ? `: ${o.err}`
        : o.err && typeof o.err === 'object' && typeof (o.err as { message?: unknown }).message === 'string'
          ? `: ${(o.err as { message: string }).message}`
          : '';
    const req = o.req && typeof o.req === 'object' ? (o.req as { method?: string; url?: string }) : undefined;
    const res = o.res && typeof o.res === 'object' ? (o.res as { statusCode?: number }) : undefined;
    const http = req?.method ? ` ${req.method} ${req.url ?? ''}` : res?.statusCode ? ` ${res.statusCode}` : '';
    return [time, level.padEnd(5), `${msg}${http}${err}`].filter(Boolean).join(' ');
  } catch {
    return line;
  }
}

function pinoLevel(n: number): string {
  return n >= 60 ? 'fatal' : n >= 50 ? 'error' : n >= 40 ? 'warn' : n >= 30 ? 'info' : n >= 20 ? 'debug' : 'trace';
}

/** The lines a diagnosis is shown as, without indentation. */
export function diagnosisLines(d: Diagnosis): string[] {
  const lines: string[] = [];
  if (d.expected !== undefined) lines.push(`expected: ${d.expected}`);
  if (d.actual !== undefined) lines.push(...prefixed('got:      ', d.actual));
  if (d.hint !== undefined) lines.push(`hint:     ${d.hint}`);
  for (const log of d.logs ?? []) {
    lines.push(`── ${log.source} (last ${log.lines.length} line${log.lines.length === 1 ? '' : 's'}) ──`);
    if (log.lines.length === 0) lines.push('(no log lines)');
    for (const l of log.lines) lines.push(formatLogLine(l));
  }
  return lines;
}

function prefixed(prefix: string, text: string): string[] {
  return text.split('\n').map((l, i) => (i === 0 ? prefix : ' '.repeat(prefix.length)) + l);
}

/** Renders engine events as plain lines, one per event, with an elapsed column; fit for logs and CI. */
export class PlainRenderer implements Renderer {
  private readonly out: NodeJS.WritableStream;
  private readonly result: NodeJS.WritableStream;
  private readonly start: number;
  private readonly progress: boolean;
  private state: RunState = initialState();

  constructor(options: RendererOptions) {
    this.out = options.out;
    this.result = options.result ?? options.out;
    this.start = options.startedAt ?? Date.now();
    this.progress = options.progress ?? true;
  }

  event(e: EngineEvent): void {
    this.state = fold(this.state, e);
    const lines = renderEvent(e, this.state, this.start, this.progress);
    if (lines.length > 0) this.out.write(`${lines.join('\n')}\n`);
  }

  print(text: string): void {
    this.result.write(text.endsWith('\n') ? text : `${text}\n`);
  }

  async close(): Promise<void> {}
}

/** One event as lines, read against the state it was just folded into (which names its step). */
export function renderEvent(e: EngineEvent, state: RunState, start: number, progress = true): string[] {
  const t = elapsed(e.at, start);
  switch (e.type) {
    case 'started':
      return [`${t} ▸ ${e.title}`];
    case 'progress': {
      if (!progress) return [];
      const pct = e.fraction !== undefined ? ` (${Math.round(e.fraction * 100)}%)` : '';
      // With several steps under way, a progress line says whose it is.
      const whose = totals(state).running > 1 ? `${stepTitle(state, e.step)}: ` : '';
      return [`${t}   · ${whose}${e.message}${pct}`];
    }
    case 'done':
      return [`${t} ✓ ${stepTitle(state, e.step)} (${duration(e.durationMs)})${e.message ? `: ${e.message}` : ''}`];
    case 'failed':
      return [`${t} ✗ ${stepTitle(state, e.step)} (${duration(e.durationMs)}): ${e.diagnosis.summary}`, ...diagnosisLines(e.diagnosis).map((l) => INDENT + l)];
    case 'notice':
      return [`${t} ${e.level === 'warn' ? '!' : 'i'} ${e.message}`];
  }
}
