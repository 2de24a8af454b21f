/**
 * `--runtime kind`: a kind cluster named for the checkout, made with the node image pinned by digest and the
 * frontend's NodePort published on 127.0.0.1:<frontend port>; an existing one of that name is reused. Images
 * go in with `kind load` (only those the node lacks); `down` deletes the cluster and its files.
 */
import { existsSync, readFileSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { parse } from 'yaml';
import { StepError, step } from '../../events.ts';
import { connectDocker } from '../../images/docker.ts';
import { clusterName, configFile, createCluster, deleteCluster, fullReference, getClusters, kindConfig, kubeconfig, kubeconfigFile, loadEach, nodeImageReferences, type KindClusterConfig } from '../../kind/index.ts';
import type { ImageLoader } from '../../kubernetes/images.ts';
import type { ClusterTarget } from '../../runtime.ts';
import type { ClusterProvider } from '../kubernetes/provider.ts';

/** kind names the context of cluster NAME `kind-NAME`. */
export const kindContext = (name: string): string => `kind-${name}`;

/** A NodePort (30000–32767) of the cluster's own, so two checkouts' clusters never ask for the same one. */
export function frontendNodePort(name: string): number {
  return 30000 + (parseInt(createHash('sha256').update(name).digest('hex').slice(0, 8), 16) % 2768);
}

/** The host port the cluster's config maps the frontend on, read back from the config dev wrote. */
function mappedHostPort(file: string): number | undefined {
  if (!existsSync(file)) return undefined;
  const config = parse(readFileSync(file, 'utf8')) as KindClusterConfig;
  return config.nodes?.flatMap((n) => n.extraPortMappings ?? []).find((m) => m.hostPort !== undefined)?.hostPort;
}

export function kindProvider(dir: string): ClusterProvider & { readonly cluster: string } {
  const name = clusterName(dir);
  const nodePort = frontendNodePort(name);
  // Present while `kind create cluster` runs: a cluster found with it was left by an interrupted up (Ctrl-C, kill).
  const creating = `${configFile(dir, name)}.creating`;
  // `kind get clusters`, asked once per command (boundFrontendPort, then ensure).
  let listed: Promise<string[]> | undefined;
  const exists = async () => (await (listed ??= getClusters())).includes(name);
  const target = (): ClusterTarget => ({ kubeconfig: kubeconfigFile(dir, name), context: kindContext(name) });

  const images = async (): Promise<ImageLoader> => {
    const file = kubeconfigFile(dir, name);
    return {
      present: async (refs) => {
        const held = await nodeImageReferences(file);
        return new Set(refs.filter((r) => held.has(fullReference(r))));
      },
      // The runtime asks present() first and loads only what is missing.
      load: async (refs) => void (await loadEach(refs, { cluster: name })),
      obtainable: async (refs) => {
        const docker = connectDocker();
        const found = await Promise.all(refs.map(async (r) => ((await docker.getImage(r).inspect().then(() => true, () => false)) ? r : undefined)));
        return new Set(found.filter((r): r is string => r !== undefined));
      },
    };
  };

  return {
    runtime: 'kind',
    cluster: name,
    frontendNodePort: nodePort,
    async ensure(emit, frontendPort) {
      await step(emit, 'cluster/create', 'cluster', `create the kind cluster ${name}`, async (progress) => {
        let found = await exists();
        if (found && existsSync(creating)) {
          progress(`deleting ${name}, left half-made by an interrupted dev up`);
          await deleteCluster(name);
          found = false;
        }
        if (found && existsSync(kubeconfigFile(dir, name)) && existsSync(configFile(dir, name))) return false;
        if (!found) {
          progress(`frontend on 127.0.0.1:${frontendPort}; this takes about a minute`);
          await writeFile(creating, `${process.pid}\n`);
        }
        const made = await createCluster(name, kindConfig({ nodePort, hostPort: frontendPort }), { dir });
        await kubeconfig(name, { dir });
        await rm(creating, { force: true });
        return made.created;
      }, (created) => (created ? `created ${name}` : `reused ${name}`));
      return target();
    },
    existing: () => (existsSync(kubeconfigFile(dir, name)) ? target() : undefined),
    async boundFrontendPort() {
      if (existsSync(creating) || !(await exists())) return undefined;
      const port = mappedHostPort(configFile(dir, name));
      if (port === undefined) {
        throw new StepError({
          summary: `a kind cluster named ${name} exists, but this checkout has no record of making it (${configFile(dir, name)} is missing)`,
          hint: `delete it with \`kind delete cluster --name ${name}\` and run dev up again`,
        });
      }
      return port;
    },
    images,
    async remove(emit) {
      await step(emit, 'cluster/delete', 'cluster', `delete the kind cluster ${name}`, async () => {
        const existed = await exists();
        if (existed) await deleteCluster(name);
        await rm(kubeconfigFile(dir, name), { force: true });
        await rm(configFile(dir, name), { force: true });
        await rm(creating, { force: true });
        listed = undefined;
        return existed;
      }, (existed) => (existed ? `deleted ${name}` : `no cluster ${name} to delete`));
    },
  };
}
