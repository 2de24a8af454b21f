/**
 * Loopback ports for Service ports. Each `<deployment>/<containerPort>` gets one port on 127.0.0.1 and keeps it
 * across runs (.dev/state/ports.json), so URLs stay put. A preferred port (the frontend's 4046) is used when free.
 */
import net from 'node:net';
import { readJson, writeJsonAtomic } from './fsutil.ts';
import { portHolder } from './procfs.ts';

interface PortsFile {
  ports: Record<string, number>;
}

export interface PortRequest {
  key: string;
  /** Wanted port when nothing is remembered yet. */
  preferred?: number;
  /** Must be exactly this port (a flag or env var asked for it): fail instead of moving. */
  required?: number;
  /** How the user can pick another port, for the messages. */
  howToChange?: string;
  /** What the port is for, e.g. "the frontend". */
  label: string;
}

export interface PortNotice {
  key: string;
  message: string;
}

export class PortTakenError extends Error {
  constructor(
    readonly port: number,
    readonly holder: { pid: number; command: string } | undefined,
    readonly label: string,
    readonly howToChange: string | undefined,
  ) {
    super(`port ${port} (${label}) is already in use${holder ? ` by pid ${holder.pid} (${holder.command || 'unknown command'})` : ''}`);
    this.name = 'PortTakenError';
  }
}

export function canListen(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

async function osPort(avoid: ReadonlySet<number>): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = net.createServer();
      server.unref();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const a = server.address();
        server.close(() => (a && typeof a !== 'string' ? resolve(a.port) : reject(new Error('no port'))));
      });
    });
    if (!avoid.has(port)) return port;
  }
}

/**
 * @param ours ports our own running services hold right now: kept without a check.
 */
export async function allocatePorts(file: string, requests: readonly PortRequest[], ours: ReadonlySet<number>): Promise<{ ports: Map<string, number>; notices: PortNotice[] }> {
  const saved = readJson<PortsFile>(file)?.ports ?? {};
  const result = new Map<string, number>();
  const notices: PortNotice[] = [];
  const used = new Set<number>();
  const free = async (port: number) => ours.has(port) || (await canListen(port));

  for (const r of requests) {
    if (r.required !== undefined) {
      if (used.has(r.required) || !(await free(r.required))) throw new PortTakenError(r.required, portHolder(r.required), r.label, r.howToChange);
      result.set(r.key, r.required);
      used.add(r.required);
      continue;
    }
    const remembered = saved[r.key];
    const candidates = [remembered, r.preferred].filter((p): p is number => p !== undefined && p > 0);
    let chosen: number | undefined;
    for (const c of candidates) {
      if (!used.has(c) && (await free(c))) {
        chosen = c;
        break;
      }
    }
    if (chosen === undefined) {
      chosen = await osPort(new Set([...used, ...ours]));
      const wanted = candidates[0];
      if (wanted !== undefined) {
        const holder = portHolder(wanted);
        notices.push({
          key: r.key,
          message: `port ${wanted} for ${r.label} is taken${holder ? ` by pid ${holder.pid} (${holder.command || 'unknown'})` : ''}; using ${chosen} instead${r.howToChange ? ` (${r.howToChange})` : ''}`,
        });
      }
    }
    result.set(r.key, chosen);
    used.add(chosen);
  }
  writeJsonAtomic(file, { ports: { ...saved, ...Object.fromEntries(result) } } satisfies PortsFile);
  return { ports: result, notices };
}

/** A port the OS hands out on 127.0.0.1 right now, other than those in avoid. */
export const freeLoopbackPort = (avoid: ReadonlySet<number> = new Set()): Promise<number> => osPort(avoid);
