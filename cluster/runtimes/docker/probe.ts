import net from 'node:net';
import type { Docker } from '../../images/docker.ts';
import type { ReadinessCheck } from './plan.ts';

export interface ProbeResult {
  ok: boolean;
  /** What came back, for progress lines: "200", "503", "ECONNREFUSED", "timeout". */
  detail: string;
}

/** Connection-level failures through docker-proxy, all meaning "nothing listens in the container yet". */
const notListening = new Set(['ECONNREFUSED', 'ECONNRESET', 'UND_ERR_SOCKET', 'EPIPE', 'UND_ERR_CLOSED']);

function detailOf(code: string): string {
  return notListening.has(code) ? 'not listening yet' : code;
}

/**
 * A TCP check run inside the container (`node /app/healthcheck.mjs tcp <port>` by docker exec): through a
 * published port it would always pass, since docker-proxy accepts the connection whether or not anything
 * listens behind it.
 */
export async function execTcpProbe(docker: Docker, containerId: string, check: ReadinessCheck): Promise<ProbeResult> {
  try {
    const exec = await docker.getContainer(containerId).exec({
      Cmd: ['node', '/app/healthcheck.mjs', 'tcp', String(check.containerPort)],
      AttachStdout: true,
      AttachStderr: true,
    });
    const stream = await exec.start({ hijack: true, stdin: false });
    let output = '';
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        stream.destroy();
        resolve();
      }, Math.max(3000, check.timeoutMs + 1000));
      stream.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
      stream.on('end', () => (clearTimeout(timer), resolve()));
      stream.on('close', () => (clearTimeout(timer), resolve()));
      stream.on('error', () => (clearTimeout(timer), resolve()));
    });
    const { ExitCode } = await exec.inspect();
    if (ExitCode === 0) return { ok: true, detail: 'accepts connections' };
    const code = /(E[A-Z]+)/.exec(output)?.[1];
    return { ok: false, detail: code ? detailOf(code) : `check exited ${ExitCode}` };
  } catch (err) {
    return { ok: false, detail: (err as Error).message };
  }
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
      socket.once('error', (err: NodeJS.ErrnoException) => done({ ok: false, detail: detailOf(err.code ?? err.message) }));
    });
  }
  try {
    const res = await fetch(`http://127.0.0.1:${hostPort}${check.path ?? '/'}`, { signal: AbortSignal.timeout(timeoutMs), redirect: 'manual' });
    await res.body?.cancel();
    // Kubernetes counts 200–399 as success.
    return { ok: res.status >= 200 && res.status < 400, detail: String(res.status) };
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    return { ok: false, detail: e.name === 'TimeoutError' ? 'timeout' : detailOf(e.cause?.code ?? e.message) };
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
