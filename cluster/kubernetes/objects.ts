/**
 * The manifests as the objects a Kubernetes runtime applies: every object labelled with the checkout, our
 * images named by their built content-hash tags (never `:latest`) with `imagePullPolicy: IfNotPresent`,
 * upstream images swapped for our stand-ins where asked, and the settings that name the runtime set: the
 * browser-facing FRONTEND_URL and app-mapper's provisioner. Pure: no API calls.
 */
import type { KubernetesObject } from '@kubernetes/client-node';
import { LABELS } from '@saas/kit/contracts';
import { resolveEnv } from '../manifests/env.ts';
import { findServiceRefs } from '../manifests/refs.ts';
import type { Container, Deployment, Manifests } from '../manifests/types.ts';
import { addressValue, servicesByNamespace } from '../plan/addressing.ts';
import { browserFacing } from '../plan/env.ts';
import { imageRepository, ownImagePrefix, standIns, type StandIn } from '../plan/stand-ins.ts';
import { IMAGE_GID } from '../images/base.ts';

/** Where a stand-in keeps its data in its pod. */
export const STAND_IN_DATA = '/data';

export interface ObjectsInput {
  manifests: Manifests;
  namespace: string;
  /** The value of LABELS.project on everything made: `down` removes exactly what carries it. */
  checkout: string;
  /** Built tag by images/<name> folder, e.g. users → scope-saas/users:1a2b…; also the stand-ins' and scope's. */
  tags: ReadonlyMap<string, string>;
  /** Upstream repositories (postgres, maildev/maildev) to run our stand-in for. */
  standIn: ReadonlySet<string>;
  /** The URL a browser on this machine reaches the frontend on: the login links in mails. */
  frontendUrl: string;
  /** kind: the frontend Service is a NodePort on this port, which the node publishes on the host. */
  frontendNodePort?: number;
  /** The StorageClass the stand-ins' data is claimed from; unset (no default class), it lives in the pod. */
  storageClass?: string;
}

/** What a stand-in claims for its data. */
export const DATA_CLAIM_SIZE = '1Gi';
export const dataClaimName = (deployment: string): string => `${deployment}-data`;

/** The Service the browser reaches: what a kind port mapping or the forwarder exposes. */
export const FRONTEND_SERVICE = 'frontend';

function tagOf(tags: ReadonlyMap<string, string>, name: string): string {
  const tag = tags.get(name);
  if (!tag) throw new Error(`no built image for images/${name}`);
  return tag;
}

function standInContainer(c: Container, s: StandIn, tags: ReadonlyMap<string, string>): Container {
  const env: Record<string, string> = { HOST: '0.0.0.0', ...s.env({ dataDir: STAND_IN_DATA }) };
  (c.ports ?? []).forEach((p, i) => {
    const variable = s.portEnv.find((x) => x.containerPort === p.containerPort)?.env ?? s.portEnv[i]?.env;
    if (variable) env[variable] = String(p.containerPort);
  });
  const { env: _upstreamEnv, envFrom: _upstreamEnvFrom, command: _command, args: _args, ...rest } = c;
  return {
    ...rest,
    image: tagOf(tags, s.runs),
    imagePullPolicy: 'IfNotPresent',
    env: Object.entries(env).map(([name, value]) => ({ name, value })),
    volumeMounts: [{ name: 'data', mountPath: STAND_IN_DATA }],
  } as Container;
}

function ownContainer(c: Container, d: Deployment, input: ObjectsInput): Container {
  const { manifests: m, tags } = input;
  const name = imageRepository(c.image).slice(ownImagePrefix.length);
  const names = servicesByNamespace(m.services);
  const overrides = new Map<string, string>();
  for (const e of resolveEnv(c, m, d.metadata.namespace)) {
    if (browserFacing.includes(e.name) && findServiceRefs(e.value, names).length) overrides.set(e.name, input.frontendUrl);
    if (e.name === 'PROVISIONER') {
      overrides.set('PROVISIONER', 'kubernetes');
      overrides.set('SCOPE_APP_IMAGE', tagOf(tags, 'scope'));
      overrides.set('APP_LABELS', JSON.stringify({ [LABELS.project]: input.checkout }));
    }
  }
  const addressing = { kind: 'cluster-dns', namespace: input.namespace } as const;
  const env = (c.env ?? []).map((e) => (overrides.has(e.name) ? { name: e.name, value: overrides.get(e.name) ?? '' } : e.value === undefined ? e : { ...e, value: addressValue(e.value, m, addressing) }));
  for (const [k, v] of overrides) if (!env.some((e) => e.name === k)) env.push({ name: k, value: v });
  // The API server drops an empty value and an empty list; applying them anyway rewrites the object every time.
  const stored = env.map((e) => (e.value === '' ? { name: e.name } : e));
  const { env: _written, ...rest } = c;
  return { ...rest, image: tagOf(tags, name), imagePullPolicy: 'IfNotPresent', ...(stored.length ? { env: stored } : {}) };
}

/**
 * Ports with their protocol spelled out: server-side apply before Kubernetes 1.26 rejects a port list whose
 * elements omit `protocol`, a key of the list (kubernetes/kubernetes#113482), though it defaults to TCP.
 */
function withProtocol<P extends { protocol?: string }>(ports: readonly P[] | undefined): P[] | undefined {
  return ports?.map((p) => ({ ...p, protocol: p.protocol ?? 'TCP' }));
}

/** The stand-in a container runs instead of its upstream image, when asked for. */
function standInOf(c: Container, standIn: ReadonlySet<string>): StandIn | undefined {
  const repo = imageRepository(c.image);
  return standIn.has(repo) ? standIns.find((x) => x.upstream === repo) : undefined;
}

/** Whether the Deployment runs a stand-in, which keeps its data in the `data` volume. */
const keepsData = (d: Deployment, standIn: ReadonlySet<string>): boolean => d.spec.template.spec.containers.some((c) => standInOf(c, standIn));

function deploymentObject(d: Deployment, input: ObjectsInput): KubernetesObject {
  const spec = d.spec.template.spec;
  const needsData = keepsData(d, input.standIn);
  const containers = spec.containers.map((c) => ({ ...c, ports: withProtocol(c.ports) })).map((c) => {
    if (imageRepository(c.image).startsWith(ownImagePrefix)) return ownContainer(c, d, input);
    const s = standInOf(c, input.standIn);
    return s ? standInContainer(c, s, input.tags) : c;
  });
  const labels = { ...d.spec.template.metadata.labels, [LABELS.project]: input.checkout, [LABELS.deployment]: d.metadata.name };
  const claimed = needsData && input.storageClass !== undefined;
  const volumes = !needsData ? [] : claimed ? [{ name: 'data', persistentVolumeClaim: { claimName: dataClaimName(d.metadata.name) } }] : [{ name: 'data', emptyDir: {} }];
  return {
    ...d,
    metadata: { ...meta(d.metadata, input) },
    spec: {
      ...d.spec,
      // A ReadWriteOnce claim is held by one pod at a time: the old pod goes before the new one starts.
      ...(claimed ? { strategy: { type: 'Recreate' } } : {}),
      template: {
        ...d.spec.template,
        metadata: { ...d.spec.template.metadata, labels },
        spec: { ...spec, containers, ...(volumes.length ? { volumes } : {}), ...(claimed ? { securityContext: { ...(spec as { securityContext?: object }).securityContext, fsGroup: IMAGE_GID } } : {}) },
      },
    },
  } as KubernetesObject;
}

/** The claims of the Deployments whose stand-in keeps data, when there is a StorageClass to claim from. */
function dataClaims(input: ObjectsInput): KubernetesObject[] {
  if (input.storageClass === undefined) return [];
  return input.manifests.deployments
    .filter((d) => keepsData(d, input.standIn))
    .map((d) => ({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: meta({ name: dataClaimName(d.metadata.name), labels: { [LABELS.deployment]: d.metadata.name } }, input),
      spec: { accessModes: ['ReadWriteOnce'], storageClassName: input.storageClass, resources: { requests: { storage: DATA_CLAIM_SIZE } } },
    }) as KubernetesObject);
}

function meta(m: { name: string; namespace?: string; labels?: Record<string, string> }, input: ObjectsInput) {
  return { ...m, namespace: input.namespace, labels: { ...m.labels, [LABELS.project]: input.checkout } };
}

/** The Service as a NodePort whose first port is on nodePort (the one a kind port mapping publishes). */
function nodePortSpec<S extends { ports?: { protocol?: string }[] }>(spec: S, nodePort: number): S & { type: 'NodePort' } {
  return { ...spec, type: 'NodePort', ports: spec.ports?.map((p, i) => (i === 0 ? { ...p, nodePort } : p)) };
}

/** Every object of the manifests, ready for a server-side apply; RBAC and config before what uses them. */
export function kubeObjects(input: ObjectsInput): KubernetesObject[] {
  const m = input.manifests;
  const plain = [...m.serviceAccounts, ...m.roles, ...m.roleBindings, ...m.configMaps, ...m.secrets, ...m.services];
  const objects: KubernetesObject[] = plain.map((o) => {
    const copy = { ...o, metadata: meta(o.metadata, input) } as KubernetesObject & { subjects?: { kind: string; namespace?: string }[]; spec?: { ports?: { protocol?: string }[] } };
    if (copy.kind === 'Service' && copy.spec) copy.spec = { ...copy.spec, ports: withProtocol(copy.spec.ports) };
    if (copy.kind === 'Service' && copy.spec && o.metadata.name === FRONTEND_SERVICE && input.frontendNodePort !== undefined) copy.spec = nodePortSpec(copy.spec, input.frontendNodePort);
    // A RoleBinding's ServiceAccount subjects live in the namespace we apply to.
    if (copy.kind === 'RoleBinding' && copy.subjects) copy.subjects = copy.subjects.map((s) => (s.kind === 'ServiceAccount' ? { ...s, namespace: input.namespace } : s));
    return copy;
  });
  return [...objects, ...dataClaims(input), ...m.deployments.map((d) => deploymentObject(d, input))];
}

/** The images/<name> folders the objects run: our services, the stand-ins asked for, and the per-org scope app. */
export function imagesNeeded(m: Manifests, standIn: ReadonlySet<string>): string[] {
  const names = new Set<string>();
  for (const d of m.deployments) {
    for (const c of d.spec.template.spec.containers) {
      const repo = imageRepository(c.image);
      if (repo.startsWith(ownImagePrefix)) names.add(repo.slice(ownImagePrefix.length));
      const s = standInOf(c, standIn);
      if (s) names.add(s.runs);
      if (resolveEnv(c, m, d.metadata.namespace).some((e) => e.name === 'PROVISIONER')) names.add('scope');
    }
  }
  return [...names].sort();
}

/** The upstream images of the manifests that have a stand-in, e.g. postgres:16-alpine. */
export function upstreamImages(m: Manifests): string[] {
  const out = new Set<string>();
  for (const d of m.deployments) for (const c of d.spec.template.spec.containers) if (standIns.some((s) => s.upstream === imageRepository(c.image))) out.add(c.image);
  return [...out].sort();
}
