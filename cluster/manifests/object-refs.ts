/**
 * References between objects that only fail once a pod starts: a RoleBinding's Role and ServiceAccounts, a
 * Deployment's serviceAccountName, and the ConfigMaps, Secrets and keys its containers' env and envFrom name.
 */
import type { ObjectLists } from './kinds.ts';
import type { ConfigMap, Container, KeyRef, ManifestProblem, ObjectMeta, Secret } from './types.ts';

const rbacGroup = 'rbac.authorization.k8s.io';
/** Every namespace has one; manifests need not declare it. */
const defaultServiceAccount = 'default';

const namespaceOf = (m: ObjectMeta) => m.namespace ?? 'default';
const inNamespace = <T extends { metadata: ObjectMeta }>(objects: readonly T[], ns: string) => objects.filter((o) => namespaceOf(o.metadata) === ns);
const names = (objects: readonly { metadata: ObjectMeta }[]) => objects.map((o) => o.metadata.name).sort().join(', ') || 'none';

/** The keys a container can read from a ConfigMap or Secret. */
export function keysOf(source: ConfigMap | Secret): string[] {
  return source.kind === 'ConfigMap' ? Object.keys(source.data ?? {}) : [...new Set([...Object.keys(source.data ?? {}), ...Object.keys(source.stringData ?? {})])];
}

export function objectRefProblems(m: ObjectLists, sources: Record<string, string>): ManifestProblem[] {
  const problems: ManifestProblem[] = [];
  const at = (kind: string, name: string) => (path: string, message: string) =>
    problems.push({ file: sources[`${kind}/${name}`] ?? '?', object: `${kind}/${name}`, path, message });

  for (const b of m.roleBindings) {
    const report = at('RoleBinding', b.metadata.name);
    const ns = namespaceOf(b.metadata);
    const { roleRef } = b;
    if (roleRef.apiGroup !== rbacGroup) report('roleRef.apiGroup', `must be ${rbacGroup} (got ${JSON.stringify(roleRef.apiGroup)})`);
    if (roleRef.kind !== 'Role') report('roleRef.kind', `must be Role: the manifests hold Roles, not ${JSON.stringify(roleRef.kind)}`);
    else if (!inNamespace(m.roles, ns).some((r) => r.metadata.name === roleRef.name)) {
      report('roleRef.name', `names Role ${roleRef.name}, which does not exist in namespace ${ns} (Roles: ${names(inNamespace(m.roles, ns))})`);
    }
    (b.subjects ?? []).forEach((s, i) => {
      if (s.kind !== 'ServiceAccount') return;
      const subjectNs = s.namespace ?? ns;
      const accounts = inNamespace(m.serviceAccounts, subjectNs);
      if (s.name !== defaultServiceAccount && !accounts.some((a) => a.metadata.name === s.name)) {
        report(`subjects[${i}].name`, `names ServiceAccount ${s.name}, which does not exist in namespace ${subjectNs} (ServiceAccounts: ${names(accounts)})`);
      }
    });
  }

  for (const d of m.deployments) {
    const report = at('Deployment', d.metadata.name);
    const ns = namespaceOf(d.metadata);
    const account = d.spec.template.spec.serviceAccountName;
    const accounts = inNamespace(m.serviceAccounts, ns);
    if (account !== undefined && account !== defaultServiceAccount && !accounts.some((a) => a.metadata.name === account)) {
      report('spec.template.spec.serviceAccountName', `names ServiceAccount ${account}, which does not exist in namespace ${ns} (ServiceAccounts: ${names(accounts)})`);
    }
    d.spec.template.spec.containers.forEach((c, ci) => {
      for (const p of containerRefProblems(c, { configMaps: inNamespace(m.configMaps, ns), secrets: inNamespace(m.secrets, ns) })) {
        report(`spec.template.spec.containers[${ci}].${p.path}`, p.message);
      }
    });
  }
  return problems;
}

type Sources = Pick<ObjectLists, 'configMaps' | 'secrets'>;

function keyRefProblem(ref: KeyRef, kind: 'ConfigMap' | 'Secret', candidates: readonly (ConfigMap | Secret)[]): string | undefined {
  const source = candidates.find((s) => s.metadata.name === ref.name);
  if (!source) return ref.optional ? undefined : `names ${kind} ${ref.name}, which does not exist (${kind}s: ${names(candidates)}; or set optional: true)`;
  const keys = keysOf(source);
  if (!keys.includes(ref.key) && !ref.optional) return `names key ${ref.key} of ${kind} ${ref.name}, which only has ${keys.sort().join(', ') || 'no keys'}`;
  return undefined;
}

function containerRefProblems(c: Container, sources: Sources): { path: string; message: string }[] {
  const problems: { path: string; message: string }[] = [];
  (c.env ?? []).forEach((e, i) => {
    const from = e.valueFrom;
    if (!from) return;
    if (e.value !== undefined) problems.push({ path: `env[${i}]`, message: `${e.name} has both value and valueFrom: keep one` });
    const unsupported = (['fieldRef', 'resourceFieldRef', 'fileKeyRef'] as const).filter((k) => from[k] !== undefined);
    if (unsupported.length) problems.push({ path: `env[${i}].valueFrom.${unsupported[0]}`, message: 'is not something the runtimes can resolve (supported: configMapKeyRef, secretKeyRef)' });
    if (from.configMapKeyRef && from.secretKeyRef) problems.push({ path: `env[${i}].valueFrom`, message: 'must have exactly one of configMapKeyRef, secretKeyRef' });
    const configMap = from.configMapKeyRef && keyRefProblem(from.configMapKeyRef, 'ConfigMap', sources.configMaps);
    if (configMap) problems.push({ path: `env[${i}].valueFrom.configMapKeyRef`, message: configMap });
    const secret = from.secretKeyRef && keyRefProblem(from.secretKeyRef, 'Secret', sources.secrets);
    if (secret) problems.push({ path: `env[${i}].valueFrom.secretKeyRef`, message: secret });
  });
  (c.envFrom ?? []).forEach((f, i) => {
    const refs = [f.configMapRef && (['ConfigMap', f.configMapRef, sources.configMaps] as const), f.secretRef && (['Secret', f.secretRef, sources.secrets] as const)].filter((r) => r !== undefined);
    if (refs.length !== 1) problems.push({ path: `envFrom[${i}]`, message: 'must have exactly one of configMapRef, secretRef' });
    for (const [kind, ref, candidates] of refs) {
      if (!ref.optional && !candidates.some((s) => s.metadata.name === ref.name)) {
        problems.push({ path: `envFrom[${i}].${kind === 'ConfigMap' ? 'configMapRef' : 'secretRef'}.name`, message: `names ${kind} ${ref.name}, which does not exist (${kind}s: ${names(candidates)}; or set optional: true)` });
      }
    }
  });
  return problems;
}
