import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Asset {
  body: Buffer;
  contentType: string;
  /** A short content hash: the ETag, and the `?v=` that makes the URL immutable. */
  version: string;
}

const TYPES: Record<string, string> = {
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * images/ui-server/static. A bundled image keeps it at the same place relative to the bundle, and the
 * bundler (cluster/images/bundle.ts) finds it through this very `new URL(…, import.meta.url)`.
 */
export function defaultStaticDir(): string {
  const dir = fileURLToPath(new URL('../static/', import.meta.url));
  if (!existsSync(join(dir, 'app.css'))) throw new Error(`ui-server: no static assets in ${dir}`);
  return dir;
}

/** Reads every file of the static directory once, at start: they are few and small. */
export function loadAssets(dir: string): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (!statSync(path).isFile()) continue;
    const contentType = TYPES[extname(name)];
    if (!contentType) continue;
    const body = readFileSync(path);
    assets.set(name, { body, contentType, version: createHash('sha256').update(body).digest('hex').slice(0, 12) });
  }
  return assets;
}
