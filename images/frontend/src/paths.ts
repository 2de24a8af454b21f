/**
 * Request paths as the frontend sees them before routing. Upstreams, HTTP clients and URL parsers
 * disagree on what `/a/../b`, `//b`, `\b` or `%2e%2e` mean, so the frontend settles the question
 * once: it canonicalises the path it routes and forwards, and refuses anything that could reach a
 * `/private` route however it is spelled.
 */

const DOT = /^(?:\.|%2e)$/i;
const DOT_DOT = /^(?:\.|%2e){2}$/i;

/** Resolves `.`/`..` segments (plain or percent-encoded), collapses empty segments, treats `\` as `/`. */
export function canonicalPath(path: string): string {
  const segments: string[] = [];
  const parts = path.split(/[/\\]/);
  for (const part of parts) {
    if (part === '' || DOT.test(part)) continue;
    if (DOT_DOT.test(part)) segments.pop();
    else segments.push(part);
  }
  const last = parts[parts.length - 1] ?? '';
  const trailingSlash = segments.length > 0 && (last === '' || DOT.test(last) || DOT_DOT.test(last));
  return `/${segments.join('/')}${trailingSlash ? '/' : ''}`;
}

const ABSOLUTE_FORM = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i;

/**
 * The URL Fastify routes and the proxy forwards: the path canonicalised, the query string untouched.
 * An absolute-form target (`GET http://host/x`, which servers must accept) is reduced to its path and
 * query; anything else that is not origin-form (`*`) is left for the router to refuse.
 */
export function canonicalUrl(target: string): string {
  const authority = ABSOLUTE_FORM.exec(target);
  const url = authority ? `/${target.slice(authority[0].length).replace(/^\//, '')}` : target;
  if (!url.startsWith('/')) return url;
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const query = q < 0 ? '' : url.slice(q);
  return canonicalPath(path) + query;
}

/** Percent-decodes until nothing changes (double encoding included), tolerating malformed escapes. */
export function decodeFully(s: string, rounds = 5): string {
  let current = s;
  for (let i = 0; i < rounds; i++) {
    let next: string;
    try {
      next = decodeURIComponent(current);
    } catch {
      next = current.replace(/%([0-9a-f]{2})/gi, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));
    }
    if (next === current) break;
    current = next;
  }
  return current;
}

/**
 * True when a path could reach a `/private` route on any upstream, whatever its spelling:
 * percent-encoded (once or more), with dot segments, doubled or backslash separators, any case,
 * or with a suffix such as `;x` or a NUL that a lenient router would ignore.
 */
export function isPrivatePath(url: string): boolean {
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const first = canonicalPath(decodeFully(path)).split('/')[1] ?? '';
  return /^private(?![a-z0-9_-])/i.test(first.trim());
}
