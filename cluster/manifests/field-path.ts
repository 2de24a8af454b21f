/** Field paths as problems show them: spec.template.spec.containers[0].ports[0].containerPort. */

export type Segment = string | number;

export function formatPath(segments: readonly Segment[]): string {
  let out = '';
  for (const s of segments) out += typeof s === 'number' ? `[${s}]` : out ? `.${s}` : s;
  return out;
}

/** The segments of a JSON pointer (ajv's instancePath), with list indexes as numbers where `root` has lists. */
export function pointerSegments(pointer: string, root: unknown): Segment[] {
  const segments: Segment[] = [];
  let at = root;
  for (const raw of pointer.split('/').slice(1)) {
    const key = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    const segment = Array.isArray(at) && /^\d+$/.test(key) ? Number(key) : key;
    segments.push(segment);
    at = at !== null && typeof at === 'object' ? (at as Record<string, unknown>)[key] : undefined;
  }
  return segments;
}

export function valueAt(root: unknown, segments: readonly Segment[]): unknown {
  let at = root;
  for (const s of segments) at = at !== null && typeof at === 'object' ? (at as Record<string, unknown>)[String(s)] : undefined;
  return at;
}

/** How a value reads in a sentence: a string, not a list. */
export const typeName = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v === 'object' ? 'a mapping' : `a ${typeof v}`);
