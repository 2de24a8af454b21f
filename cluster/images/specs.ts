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
  /** Browser scripts bundled at build time (one IIFE each) and shipped at `out`, project-relative. */
  webBundles?: WebBundle[];
  /** Modules the bundle replaces with a stand-in module (bundle.ts `replace`). */
  replace?: Record<string, string>;
}

export interface WebBundle {
  entry: string;
  out: string;
}

/** Every image the system is made of: one folder under images/ each. */
export const IMAGE_NAMES = ['frontend', 'ui-server', 'users', 'app-mapper', 'scope', 'mailcatcher', 'pglite'] as const;
export type ImageName = (typeof IMAGE_NAMES)[number];

/** maildev serves its web UI with express.static(path.join(__dirname, '../app')). */
const EXTRA_ASSETS: Partial<Record<string, string[]>> = {
  mailcatcher: ['node_modules/maildev/app'],
  // The map page's files, read from images/scope/web (path.resolve of the module's folder, no URL to scan).
  scope: ['images/scope/web/index.html', 'images/scope/web/style.css'],
};

/**
 * maildev requires jsdom when it starts, though it only needs it to sanitise an HTML mail: that costs ~0.6 s of
 * CPU and ~30 MB before the first mail. Its stand-in loads jsdom on first use.
 */
const REPLACE: Partial<Record<string, Record<string, string>>> = {
  mailcatcher: { jsdom: 'images/mailcatcher/src/jsdom-on-first-use.cjs' },
};

/**
 * The Scope app bundles its map page (web/main.ts + cytoscape) with the esbuild binary on first request when
 * run from source; an image has neither esbuild nor cytoscape, so the page ships prebuilt as web/app.js.
 */
const WEB_BUNDLES: Partial<Record<string, WebBundle[]>> = {
  scope: [{ entry: 'images/scope/web/main.ts', out: 'images/scope/web/app.js' }],
};

export function imageSpec(name: string, root = PROJECT_ROOT): ImageSpec {
  const dir = join(root, 'images', name);
  return {
    name,
    entry: join(dir, 'src/main.ts'),
    dockerfile: join(dir, 'Dockerfile'),
    dockerignore: join(dir, '.dockerignore'),
    extraAssets: EXTRA_ASSETS[name] ?? [],
    webBundles: WEB_BUNDLES[name] ?? [],
    replace: REPLACE[name] ?? {},
  };
}

export function allImageSpecs(root = PROJECT_ROOT): ImageSpec[] {
  return IMAGE_NAMES.map((n) => imageSpec(n, root));
}
