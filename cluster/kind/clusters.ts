/** The kind cluster of a checkout: its name, and creating, listing, deleting it and fetching its kubeconfig. */
import { createHash } from 'node:crypto';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { StepError } from '../events.ts';
import { kind } from './cli.ts';
import { kindConfigProblems } from './config-schema.ts';
import { renderConfig, type KindClusterConfig } from './config.ts';

/** kind's own rule (pkg/internal/apis/config/validate.go) plus the length that keeps `<name>-control-plane` a hostname. */
const NAME_RE = /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/;
const NAME_MAX = 49;

export function clusterNameProblem(name: string): string | undefined {
  if (!NAME_RE.test(name)) return `kind cluster name ${JSON.stringify(name)} must be lower-case letters, digits, '.' and '-', starting and ending with a letter or digit`;
  if (name.length > NAME_MAX) return `kind cluster name ${JSON.stringify(name)} is longer than ${NAME_MAX} characters`;
  return undefined;
}

function requireValidName(name: string): void {
  const problem = clusterNameProblem(name);
  if (problem) throw new StepError({ summary: problem, hint: 'use clusterName(checkout) for the name' });
}

/** `dev-<8 hex of the checkout's .dev folder>`: one cluster per checkout, stable across runs. */
export function clusterName(checkout: string): string {
  return `dev-${createHash('sha256').update(resolve(checkout)).digest('hex').slice(0, 8)}`;
}

export async function getClusters(options: { signal?: AbortSignal } = {}): Promise<string[]> {
  const { stdout } = await kind(['get', 'clusters'], options);
  return stdout.split('\n').map((l) => l.trim()).filter(Boolean);
}

export interface Created {
  name: string;
  /** False when a cluster of that name already existed and was reused. */
  created: boolean;
}

/**
 * Creates the cluster, or reuses one of that name. A create that fails or is aborted half-way deletes what it
 * made, so no half-made cluster is left for the next `up` to reuse.
 */
export async function createCluster(name: string, config: KindClusterConfig, options: { dir: string; signal?: AbortSignal }): Promise<Created> {
  requireValidName(name);
  const problems = kindConfigProblems(config);
  if (problems.length) throw new StepError({ summary: `the generated kind config is invalid: ${problems.join('; ')}`, hint: 'this is a bug in dev; report it with the config shown' });
  if ((await getClusters(options)).includes(name)) return { name, created: false };
  const dir = options.dir;
  await mkdir(dir, { recursive: true });
  const file = configFile(dir, name);
  await writeFile(file, renderConfig(config));
  try {
    await kind(['create', 'cluster', '--name', name, '--config', file], options);
  } catch (err) {
    // Not under the caller's signal: the clean-up must run even when that signal is what stopped the create.
    if ((await getClusters()).includes(name)) await deleteCluster(name);
    throw err;
  }
  return { name, created: true };
}

export async function deleteCluster(name: string, options: { signal?: AbortSignal } = {}): Promise<void> {
  requireValidName(name);
  await kind(['delete', 'cluster', '--name', name], options);
}

/** The kind config a cluster was created with, kept beside its kubeconfig. */
export const configFile = (dir: string, name: string): string => join(dir, `kind-${name}.yaml`);
export const kubeconfigFile = (dir: string, name: string): string => join(dir, `kind-${name}.kubeconfig`);

/** Writes the cluster's kubeconfig to <dir>/kind-<name>.kubeconfig (mode 0600) and returns its path. */
export async function kubeconfig(name: string, options: { dir: string; signal?: AbortSignal }): Promise<string> {
  requireValidName(name);
  const { stdout } = await kind(['get', 'kubeconfig', '--name', name], options);
  const dir = options.dir;
  await mkdir(dir, { recursive: true });
  const file = kubeconfigFile(dir, name);
  await writeFile(file, stdout, { mode: 0o600 });
  await chmod(file, 0o600);
  return file;
}
