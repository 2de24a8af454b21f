/**
 * Parses `/api/app/{orgName}/…` from the raw request target, strictly, before anything decodes it: the org
 * name must be plain [a-z0-9-] (no escapes), and the rest may not hold dot segments, encoded slashes or
 * backslashes in any encoding, so no spelling of a path can step out of the org named in it.
 */
import { badRequest } from '@saas/kit';

export const orgNamePattern = /^[a-z0-9-]{1,100}$/;
export const appPrefix = '/api/app/';

export type AppPath =
  | { kind: 'proxy'; orgName: string; prefix: string; upstreamPath: string }
  | { kind: 'redirect'; orgName: string; location: string };

export function parseAppPath(rawUrl: string): AppPath {
  const q = rawUrl.indexOf('?');
  const pathname = q < 0 ? rawUrl : rawUrl.slice(0, q);
  const search = q < 0 ? '' : rawUrl.slice(q);
  if (!pathname.startsWith(appPrefix)) throw badRequest('expected /api/app/{orgName}/…');
  const remainder = pathname.slice(appPrefix.length);
  const slash = remainder.indexOf('/');
  const orgName = slash < 0 ? remainder : remainder.slice(0, slash);
  checkOrgName(orgName);
  const prefix = `${appPrefix}${orgName}`;
  if (slash < 0) return { kind: 'redirect', orgName, location: `${prefix}/${search}` };
  const rest = remainder.slice(slash);
  checkSegments(rest);
  return { kind: 'proxy', orgName, prefix, upstreamPath: `${rest}${search}` };
}

export function checkOrgName(orgName: string): void {
  if (!orgNamePattern.test(orgName)) {
    throw badRequest('invalid organisation name: use lowercase letters, digits and dashes only');
  }
}

function checkSegments(path: string): void {
  if (path.includes('\\')) throw badRequest('backslashes are not allowed in paths');
  for (const segment of path.split('/')) {
    const decoded = decodeFully(segment);
    if (decoded === '.' || decoded === '..') throw badRequest('dot segments (. and ..) are not allowed in paths');
    if (decoded.includes('/') || decoded.includes('\\')) throw badRequest('encoded slashes are not allowed in paths');
    if (decoded.includes('\0')) throw badRequest('NUL is not allowed in paths');
  }
}

/** Decodes percent-escapes until nothing changes, so %252e%252e is seen as the .. it ends up as. */
function decodeFully(segment: string): string {
  let current = segment;
  for (let i = 0; i < 5 && current.includes('%'); i++) {
    let next: string;
    try {
      next = decodeURIComponent(current);
    } catch {
      // A stray % left after a first, valid decoding is literal text (say a %25 that meant %), not an escape.
      if (i === 0) throw badRequest('malformed percent-encoding in path');
      break;
    }
    if (next === current) break;
    current = next;
  }
  return current;
}
