/**
 * Weave Scope's search syntax, over the nodes the page holds:
 *   plain text         a regular expression (case-insensitive) over the name, minor label and metadata values
 *   `foo|bar`          alternatives (it is a regular expression)
 *   `field: value`     the value over one metadata field, by label or id (`pid: 1234` exactly, `image: nginx`)
 *   `metric op number` a metric by label or id, op one of < > =, with % or a size unit (`cpu > 4%`, `memory < 10mb`)
 * Text that is no valid regular expression is matched as it is.
 */
import type { NodeSummary } from '../src/app/summary.ts';

export type Matcher = (n: NodeSummary) => boolean;

const UNITS: Record<string, number> = { '': 1, '%': 1, b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3, tb: 1024 ** 4 };
const METRIC = /^([a-z][\w .-]*?)\s*([<>=])\s*(\d+(?:\.\d+)?)\s*(%|[kmgt]?b)?$/i;
const FIELD = /^([^:]+?)\s*:\s*(.+)$/;

function regex(text: string): RegExp {
  try {
    return new RegExp(text, 'i');
  } catch {
    return new RegExp(text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'i');
  }
}

const same = (field: string, ...names: string[]) => names.some((n) => n.toLowerCase() === field);

/** A matcher for a query, or undefined for an empty one (everything matches). */
export function parseQuery(query: string): Matcher | undefined {
  const q = query.trim();
  if (!q) return undefined;
  const metric = METRIC.exec(q);
  if (metric) {
    const name = metric[1]!.toLowerCase();
    const op = metric[2]!;
    const limit = Number(metric[3]) * (UNITS[(metric[4] ?? '').toLowerCase()] ?? 1);
    return (n) =>
      n.metrics.some((m) => {
        if (!same(name, m.label, m.id)) return false;
        return op === '<' ? m.value < limit : op === '>' ? m.value > limit : m.value === limit;
      });
  }
  const field = FIELD.exec(q);
  if (field) {
    const name = field[1]!.trim().toLowerCase();
    const value = field[2]!.trim();
    // a number is a value, not a pattern: `pid: 12` is not pid 123
    const re = /^\d+$/.test(value) ? new RegExp(`^${value}$`) : regex(value);
    return (n) => {
      if (same(name, 'name', 'label') && re.test(n.label)) return true;
      return n.metadata.some((m) => same(name, m.label, m.id) && re.test(m.value));
    };
  }
  const re = regex(q);
  return (n) => re.test(n.label) || re.test(n.labelMinor) || n.metadata.some((m) => re.test(m.value));
}
