/** What the benches that run the services as processes share: the frontend's process, /proc readings, a probe's report POST. */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { freePort, waitFor } from '@saas/kit/testing';
import { root } from '../test/app-mapper/helpers.ts';

/** utime + stime of a process, in ms (Linux /proc; clock ticks are 100 Hz here). */
export function cpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return Number.NaN;
  }
}

/** Resident memory of a process in MB (VmRSS), NaN once it is gone. */
export function rssMB(pid: number): number {
  try {
    const kb = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? Number(kb) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

export interface FrontendProcess {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** The frontend from its main.ts (or `opts.main`), in front of users and app-mapper; ui-server is left out. */
export async function startFrontendProcess(usersUrl: string, appMapperUrl: string, opts: { logLevel?: string; nodeArgs?: string[]; main?: string } = {}): Promise<FrontendProcess> {
  const port = await freePort();
  const main = opts.main ?? path.join(root, 'images/frontend/src/main.ts');
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), '--import', 'tsx', main], {
    cwd: root,
    env: {
      PATH: process.env.PATH ?? '',
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: opts.logLevel ?? 'info',
      USERS_URL: usersUrl,
      UI_SERVER_URL: `http://127.0.0.1:${await freePort()}`,
      APP_MAPPER_URL: appMapperUrl,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  await waitFor('frontend', async () => (await fetch(`${url}/readyz`)).ok, 60_000, 100);
  return {
    url,
    child,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * POSTs one report body to `${url}/api/report` on the given agent, as a probe does; resolves to the answer's
 * status (0 when the connection failed), never rejects.
 */
export function postReport(url: URL, agent: http.Agent, headers: http.OutgoingHttpHeaders, body: Buffer): Promise<number> {
  return new Promise((resolve) => {
    const req = http.request(
      { host: url.hostname, port: url.port, path: '/api/report', method: 'POST', agent, headers: { ...headers, 'content-length': body.length } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', () => resolve(0));
    req.end(body);
  });
}
