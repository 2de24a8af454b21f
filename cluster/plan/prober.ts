/**
 * The one prober: an HTTP GET (200–399 passes, as in Kubernetes) or a TCP connect against a port this
 * machine reaches. The local supervisor probes each process's loopback port with it, the docker backend a
 * container's published port. (A TCP check through docker-proxy always connects, so docker runs that one
 * inside the container instead.)
 */
import http from 'node:http';
import net from 'node:net';
import type { ProbeCheck } from './readiness.ts';

/** A check of the readiness spec, aimed at a port this machine reaches (a loopback or published port). */
export type ProbeTarget = Omit<ProbeCheck, 'containerPort'> & {
  port: number;
  /** Default 127.0.0.1. */
  host?: string;
};

export interface ProbeResult {
  ok: boolean;
  /** What came back, in words: "GET /readyz → 503", "tcp 5432: ECONNREFUSED". */
  detail: string;
}

export function probeOnce(p: ProbeTarget): Promise<ProbeResult> {
  const host = p.host ?? '127.0.0.1';
  return new Promise((resolve) => {
    if (p.type === 'tcp') {
      const socket = net.connect({ host, port: p.port });
      const done = (r: ProbeResult) => {
        socket.destroy();
        resolve(r);
      };
      socket.setTimeout(p.timeoutMs, () => done({ ok: false, detail: `tcp ${p.port}: timed out after ${p.timeoutMs} ms` }));
      socket.once('connect', () => done({ ok: true, detail: `tcp ${p.port}: open` }));
      socket.once('error', (err: NodeJS.ErrnoException) => done({ ok: false, detail: `tcp ${p.port}: ${err.code ?? err.message}` }));
      return;
    }
    const target = p.path ?? '/';
    const req = http.get({ host, port: p.port, path: target, agent: false, timeout: p.timeoutMs, headers: { 'user-agent': 'dev-probe' } }, (res) => {
      res.resume();
      const status = res.statusCode ?? 0;
      resolve({ ok: status >= 200 && status < 400, detail: `GET ${target} → ${status}` });
    });
    req.once('timeout', () => {
      req.destroy();
      resolve({ ok: false, detail: `GET ${target}: timed out after ${p.timeoutMs} ms` });
    });
    req.once('error', (err: NodeJS.ErrnoException) => resolve({ ok: false, detail: `GET ${target}: ${err.code ?? err.message}` }));
  });
}
