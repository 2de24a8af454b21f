import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The project's root folder (where package.json, images/ and manifests/ are). */
export const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url)).replace(/\/$/, '');

export { LABEL_PREFIX } from '@saas/kit/contracts';

/** Repository of the service images: scope-saas/<image>:<input hash>. */
export const IMAGE_REPO_PREFIX = 'scope-saas';

/** Where the image builder keeps its caches (bundles, input fingerprints). */
export function stateDir(root = PROJECT_ROOT): string {
  return join(process.env.SCOPE_SAAS_STATE_DIR ?? join(root, '.dev'), 'images');
}

/** A short stable id of a project folder, put on everything the docker runtime makes. */
export function projectHash(root = PROJECT_ROOT): string {
  return createHash('sha256').update(root).digest('hex').slice(0, 12);
}
