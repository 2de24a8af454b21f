import { join } from 'node:path';
import { PROJECT_ROOT } from './paths.ts';

/** What one image is made of. Paths are absolute, or relative to the project root. */
export interface ImageSpec {
  name: string;
  /** The service's entry, bundled into main.mjs. */
  entry: string;
  dockerfile: string;
  /** A .dockerignore file (may not exist): patterns left out of the context on top of the built-in secret filter. */
  dockerignore?: string;
  /** Project-relative files or folders the code reaches in ways the bundler's scan cannot see. */
  extraAssets?: string[];
}

/** Every image the system is made of: one folder under images/ each. */
export const IMAGE_NAMES = ['frontend', 'ui-server', 'users', 'app-mapper', 'scope', 'mailcatcher', 'pglite'] as const;
export type ImageName = (typeof IMAGE_NAMES)[number];

/** maildev serves its web UI with express.static(path.join(__dirname, '../app')). */
const EXTRA_ASSETS: Partial<Record<string, string[]>> = {
  mailcatcher: ['node_modules/maildev/app'],
};

export function imageSpec(name: string, root = PROJECT_ROOT): ImageSpec {
  const dir = join(root, 'images', name);
  return {
    name,
    entry: join(dir, 'src/main.ts'),
    dockerfile: join(dir, 'Dockerfile'),
    dockerignore: join(dir, '.dockerignore'),
    extraAssets: EXTRA_ASSETS[name] ?? [],
  };
}

export function allImageSpecs(root = PROJECT_ROOT): ImageSpec[] {
  return IMAGE_NAMES.map((n) => imageSpec(n, root));
}
