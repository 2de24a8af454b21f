import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);

/** images/scope/web (SCOPE_WEB_DIR where the sources are bundled elsewhere) */
export const WEB_DIR = process.env.SCOPE_WEB_DIR ?? path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../web');

export interface WebAssets {
  'index.html': string;
  'app.js': string;
  'style.css': string;
}

/**
 * The map page: index.html and style.css as they are, app.js bundled from web/*.ts (with cytoscape) by
 * the esbuild binary in a short-lived child process. Bundles are cached on disk by the hash of their
 * sources (SCOPE_WEB_CACHE, default the OS temp dir), so only the first start after a change pays for it.
 * SCOPE_WEB_BUNDLE names a prebuilt app.js instead (`npx tsx images/scope/src/app/build-web.ts <out.js>` makes one).
 */
export async function buildWebAssets(opts: { cacheDir?: string; webDir?: string; bundle?: string } = {}): Promise<WebAssets> {
  const webDir = opts.webDir ?? WEB_DIR;
  const cacheDir = opts.cacheDir ?? process.env.SCOPE_WEB_CACHE ?? path.join(os.tmpdir(), 'scope-web-cache');
  const [indexHtml, styleCss] = await Promise.all([readFile(path.join(webDir, 'index.html'), 'utf8'), readFile(path.join(webDir, 'style.css'), 'utf8')]);
  // an image may ship the page already bundled (see bundleWebApp) rather than esbuild and cytoscape
  const prebuilt = opts.bundle ?? process.env.SCOPE_WEB_BUNDLE;
  if (prebuilt) return { 'index.html': indexHtml, 'app.js': await readFile(prebuilt, 'utf8'), 'style.css': styleCss };
  const hash = createHash('sha256');
  const sources = (await readdir(webDir)).filter((f) => f.endsWith('.ts')).sort();
  for (const f of sources) hash.update(f).update(await readFile(path.join(webDir, f)));
  const esbuildBin = require.resolve('esbuild/bin/esbuild');
  const cytoscapeDir = packageDir(require.resolve('cytoscape'));
  const cytoscapePkg = JSON.parse(await readFile(path.join(cytoscapeDir, 'package.json'), 'utf8')) as { version: string };
  hash.update(esbuildBin).update(cytoscapePkg.version);
  const cached = path.join(cacheDir, `app-${hash.digest('hex').slice(0, 20)}.js`);
  if (existsSync(cached)) return { 'index.html': indexHtml, 'app.js': await readFile(cached, 'utf8'), 'style.css': styleCss };

  await mkdir(cacheDir, { recursive: true });
  const tmp = `${cached}.${process.pid}.tmp`;
  await new Promise<void>((resolve, reject) => {
    execFile(
      esbuildBin,
      [path.join(webDir, 'main.ts'), '--bundle', '--minify', '--format=iife', '--target=es2020', '--log-level=error', `--outfile=${tmp}`],
      { cwd: webDir, timeout: 60_000 },
      (err, _stdout, stderr) => (err ? reject(new Error(`bundling the map page failed: ${stderr || err.message}`)) : resolve()),
    );
  });
  await rename(tmp, cached);
  const appJs = await readFile(cached, 'utf8');
  return { 'index.html': indexHtml, 'app.js': appJs, 'style.css': styleCss };
}

/** The folder of the package a resolved file belongs to. */
function packageDir(file: string): string {
  let dir = path.dirname(file);
  while (!existsSync(path.join(dir, 'package.json')) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return dir;
}
