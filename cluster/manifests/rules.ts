/**
 * What Kubernetes' OpenAPI schema leaves to the API server's own code, and what the runtimes need on top: name
 * and label formats, port and probe ranges, the fields the runtimes cannot do without. Checked per object after
 * the schema; each rule runs only where the schema's type is already right, so one mistake gives one problem.
 */
import type { ManifestObject } from './types.ts';

type Kind = ManifestObject['kind'];

export interface FieldProblem {
  path: string;
  message: string;
}

type Rule = { kinds?: readonly Kind[]; at: RegExp } & (
  | { /** A message for the field at `path`, or problems at fields under it. */ check: (value: unknown, path: string) => string | FieldProblem[] | undefined }
  | { /** Fields the mapping at `path` must have. */ required: readonly string[] }
);

interface Format {
  test: (s: string) => boolean;
  doc: string;
}

const format = (pattern: RegExp, maxLength: number, doc: string): Format => ({ test: (s) => s.length <= maxLength && pattern.test(s), doc });
const dnsLabel = format(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 63, 'a lowercase DNS label (a-z, 0-9 and "-", starting and ending with a letter or digit, at most 63 characters)');
const dnsSubdomain = format(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, 253, 'a lowercase DNS name (DNS labels joined by ".", at most 253 characters)');
const portName = format(/^(?=.*[a-z])[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 15, 'a port name (lowercase letters, digits and "-", at most 15 characters, at least one letter)');
const envName = format(/^[-._a-zA-Z][-._a-zA-Z0-9]*$/, Infinity, 'an environment variable name');
const labelKey = format(/^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/, 317, 'a label key');
const labelValue = format(/^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/, 63, 'a label value (at most 63 letters, digits, "-", "_" or ".")');
const dataKey = format(/^[-._a-zA-Z0-9]+$/, 253, 'a key of letters, digits, "-", "_" or "."');
const image = format(/^[a-z0-9][a-z0-9._/-]*(:[\w][\w.-]{0,127})?(@sha256:[a-f0-9]{64})?$/, Infinity, 'an image reference such as scope-saas/users or postgres:16-alpine');
const absolutePath = format(/^\//, Infinity, 'an absolute path starting with "/"');

const named = (f: Format) => (v: unknown) => (typeof v === 'string' && !f.test(v) ? `must be ${f.doc} (got ${JSON.stringify(v)})` : undefined);
const keysAre = (f: Format, values?: Format) => (v: unknown, path: string): FieldProblem[] => {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return [];
  const problems: FieldProblem[] = [];
  for (const [k, val] of Object.entries(v)) {
    if (!f.test(k)) problems.push({ path: `${path}.${k}`, message: `is not ${f.doc}` });
    else if (values && typeof val === 'string' && !values.test(val)) problems.push({ path: `${path}.${k}`, message: `must be ${values.doc} (got ${JSON.stringify(val)})` });
  }
  return problems;
};
function missing(fields: readonly string[], v: unknown, path: string): FieldProblem[] {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return [];
  return fields.filter((f) => (v as Record<string, unknown>)[f] == null).map((f) => ({ path: path ? `${path}.${f}` : f, message: 'is required' }));
}
const nonEmpty = (v: unknown) => (Array.isArray(v) && v.length === 0 ? 'must have at least 1 item' : undefined);

interface Range {
  at: RegExp;
  kinds?: readonly Kind[];
  min: number;
  max: number;
  /** Integer-or-string fields: the string must be a port name. */
  orPortName?: boolean;
}

const ranges: readonly Range[] = [
  // The runtimes run one process or container per Deployment.
  { kinds: ['Deployment'], at: /^spec\.replicas$/, min: 0, max: 1 },
  { kinds: ['Deployment', 'Service'], at: /(^|\.)(containerPort|hostPort|nodePort)$/, min: 1, max: 65535 },
  { kinds: ['Deployment', 'Service'], at: /(^|\.)(port|targetPort)$/, min: 1, max: 65535, orPortName: true },
  { kinds: ['Deployment'], at: /Probe\.initialDelaySeconds$/, min: 0, max: 3600 },
  { kinds: ['Deployment'], at: /Probe\.(periodSeconds|timeoutSeconds|failureThreshold)$/, min: 1, max: 3600 },
];

const appliesTo = (r: { kinds?: readonly Kind[]; at: RegExp }, kind: Kind, path: string) => (!r.kinds || r.kinds.includes(kind)) && r.at.test(path);

/** The integer range a field must be in, for the schema's "must be an integer" messages too. */
export function integerRange(kind: Kind, path: string): Range | undefined {
  return ranges.find((r) => appliesTo(r, kind, path));
}

export function rangeText(r: Range): string {
  return `an integer ${r.min}-${r.max}${r.orPortName ? ` or ${portName.doc}` : ''}`;
}

const container = String.raw`spec\.template\.spec\.containers\[\d+\]`;

const rules: readonly Rule[] = [
  { at: /^$/, required: ['metadata'] },
  { at: /^metadata$/, required: ['name'] },
  { kinds: ['Deployment', 'Service'], at: /^metadata\.name$/, check: named(dnsLabel) },
  { kinds: ['ServiceAccount', 'Role', 'RoleBinding', 'ConfigMap', 'Secret'], at: /^metadata\.name$/, check: named(dnsSubdomain) },
  { at: /^metadata\.namespace$/, check: named(dnsLabel) },
  { at: /(^|\.)(labels|matchLabels)$/, check: keysAre(labelKey, labelValue) },
  { kinds: ['Service'], at: /^spec\.selector$/, check: keysAre(labelKey, labelValue) },

  { kinds: ['Deployment'], at: /^$/, required: ['spec'] },
  { kinds: ['Deployment'], at: /^spec\.selector$/, required: ['matchLabels'] },
  { kinds: ['Deployment'], at: /^spec\.template$/, required: ['metadata', 'spec'] },
  { kinds: ['Deployment'], at: /^spec\.template\.metadata$/, required: ['labels'] },
  { kinds: ['Deployment'], at: /^spec\.template\.spec\.containers$/, check: nonEmpty },
  { kinds: ['Deployment'], at: new RegExp(`^${container}$`), required: ['name', 'image'] },
  { kinds: ['Deployment'], at: new RegExp(`^${container}\\.name$`), check: named(dnsLabel) },
  { kinds: ['Deployment'], at: new RegExp(`^${container}\\.image$`), check: named(image) },
  { kinds: ['Deployment'], at: new RegExp(`^${container}\\.env\\[\\d+\\]\\.name$`), check: named(envName) },
  { kinds: ['Deployment'], at: /\.ports\[\d+\]\.name$/, check: named(portName) },
  { kinds: ['Deployment'], at: /\.httpGet\.path$/, check: named(absolutePath) },

  { kinds: ['Service'], at: /^$/, required: ['spec'] },
  { kinds: ['Service'], at: /^spec$/, required: ['selector', 'ports'] },
  { kinds: ['Service'], at: /^spec\.ports$/, check: nonEmpty },
  { kinds: ['Service'], at: /^spec\.ports\[\d+\]\.name$/, check: named(portName) },

  { kinds: ['ConfigMap'], at: /^(data|binaryData)$/, check: keysAre(dataKey) },
  { kinds: ['Secret'], at: /^(data|stringData)$/, check: keysAre(dataKey) },
];

function checkRange(r: Range, v: unknown): string | undefined {
  if (typeof v === 'number') return Number.isInteger(v) && (v < r.min || v > r.max) ? `must be ${rangeText(r)} (got ${v})` : undefined;
  if (r.orPortName && typeof v === 'string' && !portName.test(v)) return `must be ${rangeText(r)} (got ${JSON.stringify(v)})`;
  return undefined;
}

/** Every rule's problems for one object the schema accepted the types of. */
export function checkRules(kind: Kind, object: unknown): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const visit = (value: unknown, path: string) => {
    for (const rule of rules) {
      if (!appliesTo(rule, kind, path)) continue;
      const result = 'required' in rule ? missing(rule.required, value, path) : rule.check(value, path);
      if (typeof result === 'string') problems.push({ path, message: result });
      else if (result) problems.push(...result);
    }
    const range = integerRange(kind, path);
    const message = range && checkRange(range, value);
    if (message) problems.push({ path, message });
    if (Array.isArray(value)) value.forEach((item, i) => visit(item, `${path}[${i}]`));
    else if (value !== null && typeof value === 'object') for (const [k, v] of Object.entries(value)) visit(v, path ? `${path}.${k}` : k);
  };
  visit(object, '');
  return problems;
}

/** The fields the rules require under a path, so messages can list them first. */
export function requiredFields(kind: Kind, path: string): string[] {
  return rules.flatMap((r) => ('required' in r && appliesTo(r, kind, path) ? r.required : []));
}
