import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';

export interface CapturedLog {
  log: Logger;
  lines: { level: string; msg: string; [k: string]: unknown }[];
  messages: () => string[];
}

/** A real pino logger whose JSON lines are kept in memory, so tests can read what the probe said. */
export function captureLog(): CapturedLog {
  const lines: CapturedLog['lines'] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) lines.push(JSON.parse(line) as CapturedLog['lines'][number]);
      cb();
    },
  });
  const log = pino({ level: 'debug', formatters: { level: (label) => ({ level: label }) } }, stream);
  return { log, lines, messages: () => lines.map((l) => l.msg) };
}
