import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const devBin = fileURLToPath(new URL('../../../cli/bin/dev.js', import.meta.url));

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the real `dev` binary as a user would; env adds to (or, with undefined, removes from) this process's. */
export function dev(args: string[], env: Record<string, string | undefined> = {}, timeoutMs = 240_000): Promise<Run> {
  return new Promise<Run>((resolve, reject) => {
    const child = spawn(process.execPath, [devBin, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
