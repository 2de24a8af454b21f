import { $, ProcessOutput, which } from 'zx';
import { KIND_VERSION } from './config.ts';

export const INSTALL_HINT =
  `install kind (https://kind.sigs.k8s.io/docs/user/quick-start/#installation, e.g. \`go install sigs.k8s.io/kind@${KIND_VERSION}\`) and put it on PATH`;

/** A `kind` command that exited non-zero; `stderr` is kind's own text (load.ts matches kind issue 3795 on it). */
export class KindFailed extends Error {
  constructor(readonly args: readonly string[], readonly exitCode: number | null, readonly stderr: string) {
    super(`kind ${args.join(' ')} failed (exit ${exitCode}): ${stderr.trim()}`);
    this.name = 'KindFailed';
  }
}

/** Runs `kind <args>` from PATH; a missing binary throws with how to install kind. */
export async function kind(args: readonly string[], options: { signal?: AbortSignal } = {}): Promise<{ stdout: string }> {
  const bin = await which('kind', { nothrow: true });
  if (!bin) throw new Error(`kind is not on PATH: ${INSTALL_HINT}`);
  try {
    const out = await $({ quiet: true, signal: options.signal })`${bin} ${args}`;
    return { stdout: out.stdout };
  } catch (error) {
    if (error instanceof ProcessOutput) throw new KindFailed(args, error.exitCode, error.stderr);
    throw error;
  }
}
