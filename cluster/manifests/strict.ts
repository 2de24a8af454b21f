/**
 * Unknown fields, as `kubectl apply --validate=strict` reports them. Kubernetes' OpenAPI schema leaves objects
 * open, so kubernetes-models' validators accept any extra key; @kubernetes/client-node's models carry every
 * field of each type (generated from the same OpenAPI document), which is what this walks.
 */
import * as models from '@kubernetes/client-node/dist/gen/models/ObjectSerializer.js';
import type { FieldProblem } from './rules.ts';

interface Attribute {
  baseName: string;
  type: string;
}
interface ModelClass {
  getAttributeTypeMap(): Attribute[];
}

const modelOf = (type: string): ModelClass | undefined => {
  const candidate: unknown = (models as Record<string, unknown>)[type];
  return typeof candidate === 'function' && 'getAttributeTypeMap' in candidate ? (candidate as ModelClass) : undefined;
};

const isMapping = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * @param firstFields the fields to list first in a message at a path (the required ones), e.g. name, image.
 */
export function unknownFields(object: unknown, model: string, firstFields: (path: string) => readonly string[]): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const visit = (value: unknown, type: string, path: string) => {
    const list = /^Array<(.+)>$/.exec(type);
    if (list) {
      if (Array.isArray(value)) value.forEach((item, i) => visit(item, list[1]!, `${path}[${i}]`));
      return;
    }
    const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
    if (map) {
      if (isMapping(value)) for (const [k, v] of Object.entries(value)) visit(v, map[1]!, `${path}.${k}`);
      return;
    }
    const m = modelOf(type);
    if (!m || !isMapping(value)) return;
    const fields = new Map(m.getAttributeTypeMap().map((a) => [a.baseName, a.type]));
    for (const [k, v] of Object.entries(value)) {
      const at = path ? `${path}.${k}` : k;
      const fieldType = fields.get(k);
      if (fieldType !== undefined) {
        visit(v, fieldType, at);
        continue;
      }
      const first = firstFields(path).filter((f) => fields.has(f));
      const supported = [...first, ...[...fields.keys()].filter((f) => !first.includes(f))];
      problems.push({ path: at, message: `unknown field (supported here: ${supported.join(', ')})` });
    }
  };
  visit(object, model, '');
  return problems;
}
