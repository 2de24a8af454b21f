import os from 'node:os';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { Scanner, randomProbeID, type ScannerOptions } from '../../images/scope/src/probe/scan.ts';

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

/** A scanner of this machine's real /proc, Docker and Kubernetes off unless overrides turn them on. */
export function procScanner(overrides: Partial<ScannerOptions> = {}): Scanner {
  const hostName = os.hostname();
  return new Scanner({
    procRoot: '/proc',
    hostID: hostName,
    hostName,
    probeID: randomProbeID(),
    version: '1.13.2',
    log: captureLog().log,
    docker: false,
    kubernetes: false,
    windowMs: 3000,
    ...overrides,
  });
}
