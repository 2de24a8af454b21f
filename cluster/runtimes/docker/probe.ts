import type { Docker } from '../../images/docker.ts';
import type { ProbeResult } from '../../plan/prober.ts';
import type { ReadinessCheck } from './plan.ts';


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
