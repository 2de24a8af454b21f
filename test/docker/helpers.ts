import Docker from 'dockerode';
import { ensureDockerDaemon } from '../../cluster/images/docker.ts';

/** The real daemon (started if the socket is silent and we may), shared by the docker tests. */
export async function daemon(): Promise<Docker> {
  return ensureDockerDaemon({ timeoutMs: 60_000 });
}

/** Runs a command in a throwaway container of image and returns its exit code and output. */
export async function runInImage(docker: Docker, image: string, cmd: string[], user?: string): Promise<{ code: number; output: string }> {
  const container = await docker.createContainer({ Image: image, Cmd: cmd, ...(user ? { User: user } : {}), HostConfig: { NetworkMode: 'none' } });
  try {
    await container.start();
    const { StatusCode } = (await container.wait()) as { StatusCode: number };
    const buf = (await container.logs({ stdout: true, stderr: true, follow: false })) as unknown as Buffer;
    let output = '';
    for (let i = 0; i + 8 <= buf.length; ) {
      const size = buf.readUInt32BE(i + 4);
      output += buf.subarray(i + 8, i + 8 + size).toString('utf8');
      i += 8 + size;
    }
    return { code: StatusCode, output };
  } finally {
    await container.remove({ force: true }).catch(() => undefined);
  }
}
