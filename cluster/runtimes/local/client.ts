/** Talking to the supervisor daemon: find it, start it, call its API. */
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readJson } from '../../host/fsutil.ts';
import { tailLines } from './logfile.ts';
import { markerVariable, type DevPaths } from './paths.ts';
import { isAlive, readStat } from '../../host/procfs.ts';
import type { ApplyMessage, DaemonInfo } from './types.ts';

export const daemonEntry = path.join(path.dirname(fileURLToPath(import.meta.url)), 'daemon.ts');

export class DaemonError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'DaemonError';
  }
}

export function request<T>(d: DaemonInfo, method: string, route: string, body?: unknown, timeoutMs = 30_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request(
      {
        host: '127.0.0.1',
        port: d.port,
        method,
        path: route,
        agent: false,
        timeout: timeoutMs,
        headers: { authorization: `Bearer ${d.token}`, ...(payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown;
          try {
            parsed = JSON.parse(text);
          } catch {
            return reject(new DaemonError(`the supervisor answered ${res.statusCode} with non-JSON: ${text.slice(0, 200)}`, res.statusCode));
          }
          if ((res.statusCode ?? 500) >= 400) {
            const message = (parsed as { errors?: { message: string }[] }).errors?.[0]?.message ?? text;
            return reject(new DaemonError(message, res.statusCode));
          }
          resolve(parsed as T);
        });
      },
    );
    req.on('timeout', () => req.destroy(new DaemonError(`the supervisor did not answer ${method} ${route} within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/** The running daemon of this dev folder, if its recorded process is alive and answers. */
export async function findDaemon(paths: DevPaths): Promise<DaemonInfo | undefined> {
  const d = readJson<DaemonInfo>(paths.daemonFile);
  if (!d || !isAlive(d.pid) || readStat(d.pid)?.startTime !== d.startTime) return undefined;
  try {
    await request(d, 'GET', '/healthz', undefined, 3000);
    return d;
  } catch {
    return undefined;
  }
}

export interface DaemonCommand {
  command: string;
  args: string[];
}

/** Starts a daemon and waits until it answers. Its output goes to .dev/logs/daemon.log. */
export async function startDaemon(paths: DevPaths, how: DaemonCommand, timeoutMs = 15_000): Promise<DaemonInfo> {
  mkdirSync(paths.state, { recursive: true });
  mkdirSync(paths.logs, { recursive: true });
  const out = openSync(paths.daemonLog, 'a');
  const child = spawn(how.command, [...how.args, '--dev-dir', paths.dev, '--project-dir', paths.projectDir], {
    cwd: paths.projectDir,
    env: { ...process.env, [markerVariable]: paths.dev },
    stdio: ['ignore', out, out],
    detached: true,
  });
  closeSync(out);
  child.unref();
  const pid = child.pid;
  let exited: string | undefined;
  child.once('exit', (code, signal) => (exited = signal ? `killed by ${signal}` : `exited with code ${code}`));
  child.once('error', (err) => (exited = err.message));
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exited) break;
    const d = readJson<DaemonInfo>(paths.daemonFile);
    if (d && d.pid === pid) {
      try {
        await request(d, 'GET', '/healthz', undefined, 2000);
        return d;
      } catch {
        // not listening yet
      }
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  const lines = tailLines(paths.daemonLog, 20);
  throw Object.assign(new DaemonError(`the local supervisor ${exited ?? `did not answer within ${timeoutMs} ms`}`), { logLines: lines });
}

/**
 * POST /apply and hand each line to onMessage until onMessage returns true (done), the signal aborts, or the
 * connection ends (an error: the daemon went away).
 */
export function applyStream(d: DaemonInfo, specs: unknown, onMessage: (m: ApplyMessage) => boolean | void, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const payload = JSON.stringify({ specs });
    let finished = false;
    signal?.addEventListener('abort', () => {
      if (finished) return;
      finished = true;
      req.destroy();
      resolve();
    }, { once: true });
    const req = http.request(
      {
        host: '127.0.0.1',
        port: d.port,
        method: 'POST',
        path: '/apply',
        agent: false,
        headers: { authorization: `Bearer ${d.token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
      },
      (res) => {
        if ((res.statusCode ?? 500) >= 400) {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => reject(new DaemonError(`the supervisor refused the apply (${res.statusCode}): ${Buffer.concat(chunks).toString('utf8')}`, res.statusCode)));
          return;
        }
        let buffer = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buffer += chunk;
          let nl: number;
          while (!finished && (nl = buffer.indexOf('\n')) >= 0) {
            const line = buffer.slice(0, nl);
            buffer = buffer.slice(nl + 1);
            if (!line.trim()) continue;
            let done: boolean | void;
            try {
              done = onMessage(JSON.parse(line) as ApplyMessage);
            } catch (err) {
              finished = true;
              req.destroy();
              return reject(err);
            }
            if (done) {
              finished = true;
              req.destroy();
              return resolve();
            }
          }
        });
        res.on('end', () => {
          if (!finished) reject(new DaemonError('the supervisor closed the connection before everything was ready (did it stop?)'));
        });
        res.on('error', (err) => {
          if (!finished) reject(err);
        });
      },
    );
    req.on('error', (err) => {
      if (!finished) reject(err);
    });
    req.end(payload);
  });
}
