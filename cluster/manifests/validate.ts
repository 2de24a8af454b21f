/**
 * Validates manifests against the subset of the Kubernetes schema the runtimes support (Deployment apps/v1,
 * Service v1), then cross-checks them as a cluster would only discover at run time: every Service selects a
 * Deployment, every targetPort is a containerPort, every probe port exists, every env reference to a Service
 * names an existing Service port. Every problem is collected, each with its file, object and field path.
 */
import type { Container, Deployment, ManifestProblem, Service } from './types.ts';
import { findServiceRefs } from './refs.ts';

type Schema =
  | { type: 'string'; pattern?: RegExp; patternDoc?: string; enum?: readonly string[]; minLength?: number }
  | { type: 'int'; min?: number; max?: number }
  | { type: 'intOrString'; min: number; max: number; pattern: RegExp; patternDoc: string }
  | { type: 'bool' }
  | { type: 'object'; fields: Record<string, Field> }
  | { type: 'array'; items: Schema; minItems?: number }
  | { type: 'map'; values: Schema; keyPattern?: RegExp; keyDoc?: string };

interface Field {
  schema: Schema;
  required?: boolean;
}

const req = (schema: Schema): Field => ({ schema, required: true });
const opt = (schema: Schema): Field => ({ schema });

const dnsLabel = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const dnsLabelDoc = 'a lowercase DNS label (a-z, 0-9 and "-", starting and ending with a letter or digit, at most 63 characters)';
const portNamePattern = /^(?=.*[a-z])[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const portNameDoc = 'a port name (lowercase letters, digits and "-", at most 15 characters, at least one letter)';
const envNamePattern = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;
const labelKey = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const labelValue = /^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/;

const name: Schema = { type: 'string', pattern: dnsLabel, patternDoc: dnsLabelDoc };
const labels: Schema = { type: 'map', keyPattern: labelKey, keyDoc: 'a label key', values: { type: 'string', pattern: labelValue, patternDoc: 'a label value (at most 63 letters, digits, "-", "_" or ".")' } };
const portNumber: Schema = { type: 'int', min: 1, max: 65535 };
const portRef: Schema = { type: 'intOrString', min: 1, max: 65535, pattern: portNamePattern, patternDoc: portNameDoc };
const seconds: Schema = { type: 'int', min: 0, max: 3600 };
const positive: Schema = { type: 'int', min: 1, max: 3600 };
const protocol: Schema = { type: 'string', enum: ['TCP', 'UDP'] };
const quantity: Schema = { type: 'map', values: { type: 'intOrString', min: 0, max: Number.MAX_SAFE_INTEGER, pattern: /^[0-9.]+[a-zA-Z]*$/, patternDoc: 'a quantity such as 100m or 128Mi' } };

const metadata: Schema = {
  type: 'object',
  fields: { name: req(name), namespace: opt(name), labels: opt(labels), annotations: opt({ type: 'map', values: { type: 'string' } }) },
};

const probe: Schema = {
  type: 'object',
  fields: {
    httpGet: opt({ type: 'object', fields: { path: req({ type: 'string', pattern: /^\//, patternDoc: 'an absolute path starting with "/"' }), port: req(portRef), scheme: opt({ type: 'string', enum: ['HTTP'] }) } }),
    tcpSocket: opt({ type: 'object', fields: { port: req(portRef) } }),
    initialDelaySeconds: opt(seconds),
    periodSeconds: opt(positive),
    timeoutSeconds: opt(positive),
    successThreshold: opt({ type: 'int', min: 1, max: 1 }),
    failureThreshold: opt(positive),
  },
};

const container: Schema = {
  type: 'object',
  fields: {
    name: req(name),
    image: req({ type: 'string', pattern: /^[a-z0-9][a-z0-9._\/-]*(:[\w][\w.-]{0,127})?(@sha256:[a-f0-9]{64})?$/, patternDoc: 'an image reference such as scope-saas/users or postgres:16-alpine' }),
    imagePullPolicy: opt({ type: 'string', enum: ['Always', 'IfNotPresent', 'Never'] }),
    command: opt({ type: 'array', items: { type: 'string' } }),
    args: opt({ type: 'array', items: { type: 'string' } }),
    env: opt({ type: 'array', items: { type: 'object', fields: { name: req({ type: 'string', pattern: envNamePattern, patternDoc: 'an environment variable name' }), value: req({ type: 'string' }) } } }),
    ports: opt({ type: 'array', items: { type: 'object', fields: { name: opt({ type: 'string', pattern: portNamePattern, patternDoc: portNameDoc }), containerPort: req(portNumber), protocol: opt(protocol) } } }),
    readinessProbe: opt(probe),
    livenessProbe: opt(probe),
    resources: opt({ type: 'object', fields: { requests: opt(quantity), limits: opt(quantity) } }),
  },
};

const deploymentSchema: Schema = {
  type: 'object',
  fields: {
    apiVersion: req({ type: 'string', enum: ['apps/v1'] }),
    kind: req({ type: 'string', enum: ['Deployment'] }),
    metadata: req(metadata),
    spec: req({
      type: 'object',
      fields: {
        replicas: opt({ type: 'int', min: 0, max: 1 }),
        selector: req({ type: 'object', fields: { matchLabels: req(labels) } }),
        template: req({
          type: 'object',
          fields: {
            metadata: req({ type: 'object', fields: { labels: req(labels), annotations: opt({ type: 'map', values: { type: 'string' } }) } }),
            spec: req({ type: 'object', fields: { containers: req({ type: 'array', items: container, minItems: 1 }) } }),
          },
        }),
      },
    }),
  },
};

const serviceSchema: Schema = {
  type: 'object',
  fields: {
    apiVersion: req({ type: 'string', enum: ['v1'] }),
    kind: req({ type: 'string', enum: ['Service'] }),
    metadata: req(metadata),
    spec: req({
      type: 'object',
      fields: {
        type: opt({ type: 'string', enum: ['ClusterIP', 'NodePort', 'LoadBalancer'] }),
        selector: req(labels),
        ports: req({
          type: 'array',
          minItems: 1,
          items: { type: 'object', fields: { name: opt({ type: 'string', pattern: portNamePattern, patternDoc: portNameDoc }), port: req(portNumber), targetPort: opt(portRef), protocol: opt(protocol), nodePort: opt(portNumber) } },
        }),
      },
    }),
  },
};

export const supportedKinds = { Deployment: 'apps/v1', Service: 'v1' } as const;
const supportedList = Object.entries(supportedKinds).map(([k, v]) => `${k} (${v})`).join(', ');

const typeName = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v === 'object' ? 'a mapping' : `a ${typeof v}`);
const join = (base: string, key: string) => (base ? `${base}.${key}` : key);

function check(value: unknown, schema: Schema, at: string, report: (path: string, message: string) => void): void {
  switch (schema.type) {
    case 'string': {
      if (typeof value !== 'string') return report(at, `must be a string, not ${typeName(value)}`);
      if (schema.enum && !schema.enum.includes(value)) return report(at, `must be one of ${schema.enum.join(', ')} (got ${JSON.stringify(value)})`);
      if (schema.pattern && !(schema.pattern.test(value) && (schema.pattern !== dnsLabel || value.length <= 63) && (schema.pattern !== portNamePattern || value.length <= 15))) {
        return report(at, `must be ${schema.patternDoc ?? `matching ${schema.pattern}`} (got ${JSON.stringify(value)})`);
      }
      return;
    }
    case 'int': {
      const range = schema.min !== undefined && schema.max !== undefined ? ` ${schema.min}-${schema.max}` : '';
      if (typeof value !== 'number' || !Number.isInteger(value)) return report(at, `must be an integer${range} (got ${JSON.stringify(value)})`);
      if ((schema.min !== undefined && value < schema.min) || (schema.max !== undefined && value > schema.max)) return report(at, `must be an integer${range} (got ${value})`);
      return;
    }
    case 'intOrString': {
      if (typeof value === 'number') {
        if (!Number.isInteger(value) || value < schema.min || value > schema.max) report(at, `must be an integer ${schema.min}-${schema.max} or ${schema.patternDoc} (got ${value})`);
        return;
      }
      if (typeof value !== 'string' || !schema.pattern.test(value)) report(at, `must be an integer ${schema.min}-${schema.max} or ${schema.patternDoc} (got ${JSON.stringify(value)})`);
      return;
    }
    case 'bool':
      if (typeof value !== 'boolean') report(at, `must be true or false, not ${typeName(value)}`);
      return;
    case 'array': {
      if (!Array.isArray(value)) return report(at, `must be a list, not ${typeName(value)}`);
      if (schema.minItems !== undefined && value.length < schema.minItems) return report(at, `must have at least ${schema.minItems} item${schema.minItems === 1 ? '' : 's'}`);
      value.forEach((item, i) => check(item, schema.items, `${at}[${i}]`, report));
      return;
    }
    case 'map': {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) return report(at, `must be a mapping, not ${typeName(value)}`);
      for (const [k, v] of Object.entries(value)) {
        if (schema.keyPattern && !schema.keyPattern.test(k)) report(join(at, k), `is not ${schema.keyDoc ?? 'a valid key'}`);
        check(v, schema.values, join(at, k), report);
      }
      return;
    }
    case 'object': {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) return report(at, `must be a mapping, not ${typeName(value)}`);
      const obj = value as Record<string, unknown>;
      for (const [k, field] of Object.entries(schema.fields)) {
        if (obj[k] === undefined || obj[k] === null) {
          if (field.required) report(join(at, k), 'is required');
        } else check(obj[k], field.schema, join(at, k), report);
      }
      for (const k of Object.keys(obj)) {
        if (!(k in schema.fields)) report(join(at, k), `unknown field (supported here: ${Object.keys(schema.fields).join(', ')})`);
      }
      return;
    }
  }
}

export interface SourcedObject {
  file: string;
  /** 1-based position of the YAML document in its file. */
  index: number;
  value: unknown;
}

export interface ValidationResult {
  deployments: Deployment[];
  services: Service[];
  sources: Record<string, string>;
  problems: ManifestProblem[];
}

const describe = (o: SourcedObject): string => {
  const v = o.value as { kind?: unknown; metadata?: { name?: unknown } } | null;
  const kind = typeof v?.kind === 'string' ? v.kind : undefined;
  const objName = typeof v?.metadata?.name === 'string' ? v.metadata.name : undefined;
  if (kind && objName) return `${kind}/${objName}`;
  return `document ${o.index}${kind ? ` (${kind})` : ''}`;
};

/** Schema-checks each object, then cross-checks the valid ones against each other. */
export function validateObjects(objects: readonly SourcedObject[]): ValidationResult {
  const problems: ManifestProblem[] = [];
  const deployments: Deployment[] = [];
  const services: Service[] = [];
  const sources: Record<string, string> = {};
  const seen = new Map<string, string>();

  for (const o of objects) {
    const object = describe(o);
    const report = (path: string, message: string) => problems.push({ file: o.file, object, path, message });
    const v = o.value;
    if (v === null || typeof v !== 'object' || Array.isArray(v)) {
      report('', `must be a Kubernetes object (a mapping with apiVersion, kind, metadata), not ${typeName(v)}`);
      continue;
    }
    const kind = (v as { kind?: unknown }).kind;
    if (kind === undefined) {
      report('kind', `is required (supported: ${supportedList})`);
      continue;
    }
    if (typeof kind !== 'string' || !(kind in supportedKinds)) {
      report('kind', `unsupported kind ${JSON.stringify(kind)} (supported: ${supportedList})`);
      continue;
    }
    const before = problems.length;
    check(v, kind === 'Deployment' ? deploymentSchema : serviceSchema, '', report);
    if (problems.length > before) continue;
    const key = object;
    const ns = (v as Deployment | Service).metadata.namespace ?? 'default';
    const dupKey = `${key}@${ns}`;
    if (seen.has(dupKey)) {
      report('metadata.name', `${key} is already defined in ${seen.get(dupKey)}`);
      continue;
    }
    seen.set(dupKey, o.file);
    sources[key] = o.file;
    if (kind === 'Deployment') deployments.push(v as Deployment);
    else services.push(v as Service);
  }

  problems.push(...crossCheck(deployments, services, sources));
  return { deployments, services, sources, problems };
}

const matches = (selector: Record<string, string>, labelsOf: Record<string, string>) =>
  Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labelsOf[k] === v);
const showLabels = (l: Record<string, string>) => Object.entries(l).map(([k, v]) => `${k}=${v}`).join(',');

/** The containerPort a Service port / probe port designates in a container, or undefined. */
export function resolveContainerPort(c: Container, port: number | string): number | undefined {
  if (typeof port === 'number') return (c.ports ?? []).some((p) => p.containerPort === port) ? port : undefined;
  return (c.ports ?? []).find((p) => p.name === port)?.containerPort;
}

/** The Deployment a Service selects (the first whose pod labels match). */
export function selectedDeployment(s: Service, deployments: readonly Deployment[]): Deployment | undefined {
  const ns = s.metadata.namespace ?? 'default';
  return deployments.find((d) => (d.metadata.namespace ?? 'default') === ns && matches(s.spec.selector, d.spec.template.metadata.labels));
}

function crossCheck(deployments: Deployment[], services: Service[], sources: Record<string, string>): ManifestProblem[] {
  const problems: ManifestProblem[] = [];
  const at = (kind: string, objName: string) => (path: string, message: string) =>
    problems.push({ file: sources[`${kind}/${objName}`] ?? '?', object: `${kind}/${objName}`, path, message });

  const byNamespace = new Map<string, Set<string>>();
  for (const s of services) {
    const ns = s.metadata.namespace ?? 'default';
    if (!byNamespace.has(ns)) byNamespace.set(ns, new Set());
    byNamespace.get(ns)!.add(s.metadata.name);
  }

  for (const d of deployments) {
    const report = at('Deployment', d.metadata.name);
    const podLabels = d.spec.template.metadata.labels;
    if (!matches(d.spec.selector.matchLabels, podLabels)) {
      report('spec.selector.matchLabels', `(${showLabels(d.spec.selector.matchLabels) || 'empty'}) does not select the pod template's labels (${showLabels(podLabels)})`);
    }
    const containerNames = new Set<string>();
    d.spec.template.spec.containers.forEach((c, ci) => {
      const base = `spec.template.spec.containers[${ci}]`;
      if (containerNames.has(c.name)) report(`${base}.name`, `duplicate container name ${JSON.stringify(c.name)}`);
      containerNames.add(c.name);
      const portNumbers = new Set<number>();
      const portNames = new Set<string>();
      (c.ports ?? []).forEach((p, pi) => {
        if (portNumbers.has(p.containerPort)) report(`${base}.ports[${pi}].containerPort`, `duplicate containerPort ${p.containerPort}`);
        portNumbers.add(p.containerPort);
        if (p.name !== undefined) {
          if (portNames.has(p.name)) report(`${base}.ports[${pi}].name`, `duplicate port name ${JSON.stringify(p.name)}`);
          portNames.add(p.name);
        }
      });
      for (const probeName of ['readinessProbe', 'livenessProbe'] as const) {
        const probe = c[probeName];
        if (!probe) continue;
        const kinds = [probe.httpGet ? 'httpGet' : '', probe.tcpSocket ? 'tcpSocket' : ''].filter(Boolean);
        if (kinds.length !== 1) {
          report(`${base}.${probeName}`, `must have exactly one of httpGet, tcpSocket${kinds.length ? ` (has ${kinds.join(' and ')})` : ''}`);
          continue;
        }
        const handler = probe.httpGet ? 'httpGet' : 'tcpSocket';
        const port = (probe.httpGet ?? probe.tcpSocket)!.port;
        if (resolveContainerPort(c, port) === undefined) {
          report(`${base}.${probeName}.${handler}.port`, `${JSON.stringify(port)} is not a port of this container (ports: ${describePorts(c)})`);
        }
      }
      const envNames = new Set<string>();
      (c.env ?? []).forEach((e, ei) => {
        if (envNames.has(e.name)) report(`${base}.env[${ei}].name`, `duplicate variable ${e.name}`);
        envNames.add(e.name);
        for (const ref of findServiceRefs(e.value, byNamespace)) {
          const target = services.find((s) => s.metadata.name === ref.service && (s.metadata.namespace ?? 'default') === ref.namespace);
          const where = `${base}.env[${ei}].value`;
          if (!target) {
            report(where, `${e.name} refers to Service ${ref.namespace === 'default' ? '' : `${ref.namespace}/`}${ref.service} (${ref.host}), which does not exist (Services: ${[...(byNamespace.get(ref.namespace) ?? [])].sort().join(', ') || 'none'})`);
            continue;
          }
          const ports = target.spec.ports.map((p) => p.port);
          if (ref.port === undefined) {
            if (ports.length !== 1) report(where, `${e.name} refers to Service ${ref.service} without a port, and it has several (${ports.join(', ')}): write ${ref.host}:<port>`);
          } else if (!ports.includes(ref.port)) {
            report(where, `${e.name} refers to port ${ref.port}${ref.explicitPort ? '' : ` (the ${ref.scheme}:// default)`} of Service ${ref.service}, which only has ${ports.join(', ')}`);
          }
        }
      });
    });
  }

  for (const s of services) {
    const report = at('Service', s.metadata.name);
    const d = selectedDeployment(s, deployments);
    if (!d) {
      report('spec.selector', `(${showLabels(s.spec.selector) || 'empty'}) matches no Deployment's pod labels (Deployments: ${deployments.map((x) => `${x.metadata.name} [${showLabels(x.spec.template.metadata.labels)}]`).join(', ') || 'none'})`);
    }
    const seenPorts = new Set<number>();
    const seenNames = new Set<string>();
    s.spec.ports.forEach((p, pi) => {
      const base = `spec.ports[${pi}]`;
      if (seenPorts.has(p.port)) report(`${base}.port`, `duplicate port ${p.port}`);
      seenPorts.add(p.port);
      if (s.spec.ports.length > 1 && p.name === undefined) report(`${base}.name`, 'is required when a Service has more than one port');
      if (p.name !== undefined) {
        if (seenNames.has(p.name)) report(`${base}.name`, `duplicate port name ${JSON.stringify(p.name)}`);
        seenNames.add(p.name);
      }
      if (!d) return;
      const target = p.targetPort ?? p.port;
      const found = d.spec.template.spec.containers.some((c) => resolveContainerPort(c, target) !== undefined);
      if (!found) {
        report(`${base}.${p.targetPort === undefined ? 'port' : 'targetPort'}`, `${JSON.stringify(target)} is not a containerPort of Deployment ${d.metadata.name} (ports: ${d.spec.template.spec.containers.map(describePorts).join('; ')})`);
      }
    });
  }
  return problems;
}

function describePorts(c: Container): string {
  const ports = c.ports ?? [];
  return ports.length ? ports.map((p) => (p.name ? `${p.name}=${p.containerPort}` : String(p.containerPort))).join(', ') : 'none declared';
}
