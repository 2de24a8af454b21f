/**
 * A container's environment as a process sees it: envFrom's ConfigMaps and Secrets first (with their prefix),
 * then env, later names replacing earlier ones, as the kubelet builds it. Secret data is decoded from base64.
 */
import { keysOf } from './object-refs.ts';
import type { ConfigMap, Container, KeyRef, Manifests, Secret } from './types.ts';

export interface ResolvedEnvVar {
  name: string;
  value: string;
}

/** The kubelet skips envFrom keys that are not variable names. */
const variableName = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

function valueOf(source: ConfigMap | Secret, key: string): string | undefined {
  if (source.kind === 'ConfigMap') return source.data?.[key];
  const plain = source.stringData?.[key];
  if (plain !== undefined) return plain;
  const encoded = source.data?.[key];
  return encoded === undefined ? undefined : Buffer.from(encoded, 'base64').toString('utf8');
}

/**
 * @throws Error naming the variable and the missing ConfigMap, Secret or key (validated manifests never do,
 *   except for a reference marked optional, which is left out).
 */
export function resolveEnv(c: Container, m: Pick<Manifests, 'configMaps' | 'secrets'>, namespace = 'default'): ResolvedEnvVar[] {
  const find = <T extends ConfigMap | Secret>(list: readonly T[], name: string) => list.find((s) => s.metadata.name === name && (s.metadata.namespace ?? 'default') === namespace);
  const env = new Map<string, string>();
  for (const f of c.envFrom ?? []) {
    const ref = f.configMapRef ?? f.secretRef;
    if (!ref) continue;
    const kind = f.configMapRef ? 'ConfigMap' : 'Secret';
    const source = f.configMapRef ? find(m.configMaps, ref.name) : find(m.secrets, ref.name);
    if (!source) {
      if (ref.optional) continue;
      throw new Error(`container ${c.name}: envFrom names ${kind} ${namespace}/${ref.name}, which does not exist`);
    }
    for (const key of keysOf(source)) {
      const name = `${f.prefix ?? ''}${key}`;
      if (variableName.test(name)) env.set(name, valueOf(source, key)!);
    }
  }
  const fromKey = (variable: string, kind: 'ConfigMap' | 'Secret', ref: KeyRef): string | undefined => {
    const source = kind === 'ConfigMap' ? find(m.configMaps, ref.name) : find(m.secrets, ref.name);
    const value = source && valueOf(source, ref.key);
    if (value === undefined && !ref.optional) throw new Error(`container ${c.name}: ${variable} names key ${ref.key} of ${kind} ${namespace}/${ref.name}, which does not exist`);
    return value;
  };
  for (const e of c.env ?? []) {
    const { configMapKeyRef, secretKeyRef } = e.valueFrom ?? {};
    const value = configMapKeyRef ? fromKey(e.name, 'ConfigMap', configMapKeyRef) : secretKeyRef ? fromKey(e.name, 'Secret', secretKeyRef) : (e.value ?? '');
    if (value !== undefined) env.set(e.name, value);
  }
  return [...env].map(([name, value]) => ({ name, value }));
}
