import net from 'node:net';
import type { ReadinessCheck } from './plan.ts';

export interface ProbeResult {
  ok: boolean;
  /** What came back, for progress lines: "200", "503", "ECONNREFUSED", "timeout". */
  detail: string;
}

/** Runs a readiness check against a loopback port published for the checked container port. */
export async function probe(check: ReadinessCheck, hostPort: number): Promise<ProbeResult> {
  const timeoutMs = Math.max(1000, check.timeoutMs);
  if (check.type === 'tcp') {
    return new Promise((resolve) => {
      const socket = net.connect({ host: '127.0.0.1', port: hostPort });
      const done = (r: ProbeResult) => {
        socket.destroy();
        resolve(r);
      };
      socket.setTimeout(timeoutMs, () => done({ ok: false, detail: 'timeout' }));
      socket.once('connect', () => done({ ok: true, detail: 'accepts connections' }));
      socket.once('error', (err: NodeJS.ErrnoException) => done({ ok: false, detail: err.code ?? err.message }));
    });
  }
  try {
    const res = await fetch(`http://127.0.0.1:${hostPort}${check.path ?? '/'}`, { signal: AbortSignal.timeout(timeoutMs), redirect: 'manual' });
    await res.body?.cancel();
    // Kubernetes counts 200–399 as success.
    return { ok: res.status >= 200 && res.status < 400, detail: String(res.status) };
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    return { ok: false, detail: e.name === 'TimeoutError' ? 'timeout' : (e.cause?.code ?? e.message) };
  }
}

/** Whether a loopback port can be bound right now. */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
