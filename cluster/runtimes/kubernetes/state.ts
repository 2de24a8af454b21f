/** What a Kubernetes runtime remembers between commands, in .dev/state/kubernetes.json (kind.json for kind). */
import { readFileSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';

export interface KubernetesState {
  kubeconfig: string;
  context: string;
  namespace: string;
  /** Local ports of the forwards: the frontend's stays the same from run to run. */
  ports: { frontend: number; users: number; mail: number };
  forwarder?: { pid: number; startTime: number };
  /** Set when the node publishes the frontend's NodePort on ports.frontend (kind): the forwarder leaves it alone. */
  frontendNodePort?: number;
}

export function readState(file: string): KubernetesState | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as KubernetesState;
  } catch {
    return undefined;
  }
}

export async function writeState(file: string, state: KubernetesState): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(state, null, 2), { mode: 0o600 });
  await rename(tmp, file);
}
