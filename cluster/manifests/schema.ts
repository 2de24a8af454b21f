/** One object against its kind's Kubernetes OpenAPI schema (kubernetes-models' validators), as sentences. */
import { formatPath, pointerSegments, typeName, valueAt } from './field-path.ts';
import { kinds } from './kinds.ts';
import { integerRange, rangeText, type FieldProblem } from './rules.ts';
import type { ManifestObject } from './types.ts';

/** What ajv reports, as far as messages need it. */
interface SchemaError {
  instancePath: string;
  keyword: string;
  params: { type?: string; missingProperty?: string; allowedValues?: unknown[]; format?: string };
  message?: string;
}

const isSchemaErrors = (v: unknown): v is SchemaError[] =>
  Array.isArray(v) && v.every((e) => e !== null && typeof e === 'object' && typeof (e as SchemaError).instancePath === 'string');

const types: Record<string, string> = { integer: 'an integer', number: 'a number', string: 'a string', boolean: 'true or false', object: 'a mapping', array: 'a list' };

function sentence(kind: ManifestObject['kind'], path: string, e: SchemaError, value: unknown): string {
  const got = `(got ${JSON.stringify(value)})`;
  switch (e.keyword) {
    case 'type': {
      const range = e.params.type === 'integer' ? integerRange(kind, path) : undefined;
      if (range) return `must be ${rangeText(range)} ${got}`;
      const expected = types[e.params.type ?? ''] ?? `of type ${e.params.type}`;
      return e.params.type === 'integer' || e.params.type === 'number' ? `must be ${expected} ${got}` : `must be ${expected}, not ${typeName(value)}`;
    }
    case 'oneOf':
    case 'anyOf': {
      // Kubernetes' only alternatives are int-or-string fields.
      const range = integerRange(kind, path);
      return `must be ${range ? rangeText(range) : 'an integer or a string'} ${got}`;
    }
    case 'enum':
      return `must be one of ${(e.params.allowedValues ?? []).join(', ')} ${got}`;
    case 'format':
      if (e.params.format === 'int32' || e.params.format === 'int64') return `must be an integer ${got}`;
      if (e.params.format === 'byte') return `must be base64 (put plain text under stringData) ${got}`;
      return `must be a valid ${e.params.format} ${got}`;
    default:
      return `${e.message ?? `fails the schema's ${e.keyword} check`} ${got}`;
  }
}

/** The schema's problems with an object of a supported kind; empty when it conforms. */
export function schemaProblems(kind: ManifestObject['kind'], object: Record<string, unknown>): FieldProblem[] {
  try {
    kinds[kind].validate(object);
    return [];
  } catch (err) {
    const errors = (err as { errors?: unknown }).errors;
    if (!isSchemaErrors(errors)) throw err;
    // An int-or-string field that is neither also fails each alternative: say it once.
    const alternatives = new Set(errors.filter((e) => e.keyword === 'oneOf' || e.keyword === 'anyOf').map((e) => e.instancePath));
    const problems = new Map<string, FieldProblem>();
    for (const e of errors) {
      if (alternatives.has(e.instancePath) && e.keyword !== 'oneOf' && e.keyword !== 'anyOf') continue;
      const segments = pointerSegments(e.instancePath, object);
      if (e.keyword === 'required' && e.params.missingProperty !== undefined) segments.push(e.params.missingProperty);
      const path = formatPath(segments);
      if (problems.has(path)) continue;
      problems.set(path, { path, message: e.keyword === 'required' ? 'is required' : sentence(kind, path, e, valueAt(object, segments)) });
    }
    return [...problems.values()];
  }
}
