/**
 * Validates each manifest against Kubernetes' own OpenAPI schema (schema.ts), strictly (no unknown fields,
 * strict.ts), and against what the schema leaves to the API server and the runtimes (rules.ts); then cross-checks
 * the valid ones as a cluster would only discover at run time: every Service selects a Deployment, every
 * targetPort is a containerPort, every probe port exists, every env reference to a Service names an existing
 * Service port, and every reference to another object names one that exists (object-refs.ts). Every problem is
 * collected, each with its file, object and field path.
 */
import { typeName } from './field-path.ts';
import { isKind, kinds, supportedList, type ObjectLists } from './kinds.ts';
import { objectRefProblems } from './object-refs.ts';
import { findServiceRefs } from './refs.ts';
import { checkRules, requiredFields, type FieldProblem } from './rules.ts';
import { schemaProblems } from './schema.ts';
import { unknownFields } from './strict.ts';
import type { Container, Deployment, ManifestObject, ManifestProblem, Service } from './types.ts';

export { supportedList };

export interface SourcedObject {
  file: string;
  /** 1-based position of the YAML document in its file. */
  index: number;
  value: unknown;
}

export interface ValidationResult extends ObjectLists {
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

/** The problems of one object on its own: apiVersion, schema, unknown fields, rules; each field's once. */
function objectProblems(kind: ManifestObject['kind'], v: Record<string, unknown>): FieldProblem[] {
  const { apiVersion } = kinds[kind];
  const found: FieldProblem[] = [];
  if (v.apiVersion !== apiVersion) found.push({ path: 'apiVersion', message: `must be one of ${apiVersion} (got ${JSON.stringify(v.apiVersion)})` });
  const typed = { ...v, apiVersion };
  found.push(...schemaProblems(kind, typed), ...unknownFields(typed, kinds[kind].model, (path) => requiredFields(kind, path)), ...checkRules(kind, typed));
  const seen = new Set<string>();
  return found.filter((p) => {
    const key = `${p.path}\0${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Checks each object on its own, then cross-checks the valid ones against each other. */
export function validateObjects(objects: readonly SourcedObject[]): ValidationResult {
  const problems: ManifestProblem[] = [];
  const lists: ObjectLists = { deployments: [], services: [], serviceAccounts: [], roles: [], roleBindings: [], configMaps: [], secrets: [] };
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
    if (!isKind(kind)) {
      report('kind', `unsupported kind ${JSON.stringify(kind)} (supported: ${supportedList})`);
      continue;
    }
    const found = objectProblems(kind, v as Record<string, unknown>);
    for (const p of found) report(p.path, p.message);
    if (found.length) continue;
    const valid = v as ManifestObject;
    const ns = valid.metadata.namespace ?? 'default';
    const dupKey = `${object}@${ns}`;
    if (seen.has(dupKey)) {
      report('metadata.name', `${object} is already defined in ${seen.get(dupKey)}`);
      continue;
    }
    seen.set(dupKey, o.file);
    sources[object] = o.file;
    (lists[kinds[kind].list] as ManifestObject[]).push(valid);
  }

  problems.push(...crossCheck(lists.deployments, lists.services, sources), ...objectRefProblems(lists, sources));
  return { ...lists, sources, problems };
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
      for (const probeName of ['readinessProbe', 'livenessProbe', 'startupProbe'] as const) {
        const probe = c[probeName];
        if (!probe) continue;
        const handlers = [probe.httpGet ? 'httpGet' : '', probe.tcpSocket ? 'tcpSocket' : ''].filter(Boolean);
        if (handlers.length !== 1) {
          report(`${base}.${probeName}`, `must have exactly one of httpGet, tcpSocket${handlers.length ? ` (has ${handlers.join(' and ')})` : ''}`);
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
        for (const ref of findServiceRefs(e.value ?? '', byNamespace)) {
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
