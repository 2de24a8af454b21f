/**
 * Bundles one service into a single ESM file with esbuild, npm packages included. What cannot be bundled
 * (PGlite's wasm and data files, maildev's web UI, a service's static pages) stays a file, found in one of two
 * ways (`paths`):
 * - mirror (images): copied beside the bundle, at the same path relative to the bundle as relative to the
 *   project root. Each module's `import.meta.url`, `__dirname` and `__filename` are rewritten to that mirrored
 *   place, so `new URL('./pglite.wasm', import.meta.url)` and `path.join(__dirname, '../app')` find the copied
 *   files both in the image (/app) and in a local bundle dir.
 * - absolute (the local runtime): they are rewritten to the module's own absolute path in this checkout, so the
 *   bundle reads the files where they are and nothing is copied.
 */
import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, extname, isAbsolute, relative, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as esbuild from 'esbuild';

export interface BundleResult {
  /** The bundle's bytes (main.mjs). */
  code: Buffer;
  /** With splitting: what dynamic imports load, files to put beside main.mjs (chunk-<hash>.mjs). */
  chunks: { name: string; code: Buffer }[];
  /** Every source file esbuild read, project-relative. */
  inputs: string[];
  /** Files and folders to copy beside the bundle, project-relative. */
  assets: string[];
  warnings: string[];
}

/** Where the bundle finds the files it cannot contain: see the top of this file. */
export type AssetPaths = 'mirror' | 'absolute';

export interface BundleOptions {
  root: string;
  /** Project-relative entry, e.g. images/users/src/main.ts. */
  entry: string;
  /** Assets the code reaches in ways no scan finds (CommonJS `__dirname` joins), project-relative. */
  extraAssets?: string[];
  /** mirror (the default) for an image, absolute for a bundle that runs in this checkout. */
  paths?: AssetPaths;
  /**
   * Modules replaced by a stand-in module, bare name → project-relative file, for every importer but the
   * stand-in itself (which reaches the real one): e.g. a package loaded on first use instead of at start.
   */
  replace?: Record<string, string>;
  /**
   * Code behind a dynamic import goes to a chunk of its own, loaded only when imported: the scope image's app
   * role never parses the probe's clients. Chunks sit beside main.mjs, so paths relative to the bundle hold.
   */
  splitting?: boolean;
}

const BANNER = [
  "import { createRequire as __saasCreateRequire } from 'node:module';",
  "import { fileURLToPath as __saasFileURLToPath } from 'node:url';",
  "import { join as __saasJoin } from 'node:path';",
  'const require = __saasCreateRequire(import.meta.url);',
  "const __saasBundleDir = __saasFileURLToPath(new URL('.', import.meta.url));",
  'const __saasRequireAt = (p) => __saasCreateRequire(__saasJoin(__saasBundleDir, p));',
].join('\n');

/** Optional native add-ons some packages try in a try/catch; they stay out and their fallback runs. */
const EXTERNAL = ['pg-native', 'cpu-features', '*.node', 'bufferutil', 'utf-8-validate'];

const urlAsset = /new\s+URL\(\s*(['"`])([^'"`$]+)\1\s*,\s*import\.meta\.url\s*\)/g;
const ownRequire = /^[ \t]*(?:const|let|var)[ \t]+require[ \t]*=[ \t]*createRequire\([ \t]*import\.meta\.url[ \t]*\);?[ \t]*$/m;
const declaresDirname = /\b(?:const|let|var)\s+__(?:dirname|filename)\b/;
const resolveAsset = /(?<![\w$.])require\.resolve\(\s*(['"])(\.{1,2}\/[^'"]+)\1\s*\)/g;

function loaderFor(path: string): esbuild.Loader {
  const ext = extname(path);
  if (ext === '.ts' || ext === '.mts' || ext === '.cts') return 'ts';
  if (ext === '.tsx') return 'tsx';
  if (ext === '.jsx') return 'jsx';
  if (ext === '.json') return 'json';
  return 'js';
}

function isInside(child: string, parent: string): boolean {
  const r = relative(parent, child);
  return !r.startsWith('..') && !isAbsolute(r);
}

function toPosix(path: string): string {
  return sep === '/' ? path : path.split(sep).join('/');
}

/** How a module's own location is written in the bundle: the JS expressions for its URL, folder and file. */
interface Placer {
  anywhere: boolean;
  url(rel: string): string;
  dir(rel: string): string;
  file(rel: string): string;
  requireAt(rel: string): string;
}

const mirrorPlacer: Placer = {
  anywhere: false,
  url: (rel) => `new URL(${JSON.stringify(rel)}, import.meta.url).href`,
  dir: (rel) => `__saasJoin(__saasBundleDir, ${JSON.stringify(dirname(rel))})`,
  file: (rel) => `__saasJoin(__saasBundleDir, ${JSON.stringify(rel)})`,
  requireAt: (rel) => `__saasRequireAt(${JSON.stringify(rel)})`,
};

const absolutePlacer = (root: string): Placer => ({
  anywhere: true,
  url: (rel) => JSON.stringify(pathToFileURL(resolve(root, rel)).href),
  dir: (rel) => JSON.stringify(dirname(resolve(root, rel))),
  file: (rel) => JSON.stringify(resolve(root, rel)),
  requireAt: (rel) => `__saasCreateRequire(${JSON.stringify(resolve(root, rel))})`,
});

/**
 * Importers of a replaced module get its stand-in. The stand-in itself reaches the real module: bundled in an
 * image; in a bundle that runs in this checkout, left out and required from node_modules by absolute path,
 * which keeps the bundle small (it is only loaded on first use anyway).
 */
function replacePlugin(root: string, replace: Record<string, string>, paths: AssetPaths): esbuild.Plugin {
  const names = Object.keys(replace);
  const escaped = names.map((n) => n.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'));
  return {
    name: 'replace-modules',
    setup(build) {
      if (!names.length) return;
      build.onResolve({ filter: new RegExp(`^(?:${escaped.join('|')})$`) }, async (args) => {
        if (args.pluginData === 'real') return undefined;
        const standIn = resolve(root, replace[args.path]!);
        if (args.importer !== standIn) return { path: standIn };
        if (paths !== 'absolute') return undefined;
        const real = await build.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, importer: args.importer, pluginData: 'real' });
        return real.errors.length ? { errors: real.errors } : { path: real.path, external: true };
      });
    },
  };
}

function pathsPlugin(root: string, entryDir: string, assets: Set<string>, warnings: string[], placer: Placer): esbuild.Plugin {
  return {
    name: 'module-paths',
    setup(build) {
      build.onLoad({ filter: /\.(?:[cm]?[jt]s|[jt]sx)$/ }, async (args) => {
        const source = await readFile(args.path, 'utf8');
        const usesUrl = /import\.meta\.(?:url|dirname|filename)/.test(source);
        const usesDirname = /\b__(?:dirname|filename)\b/.test(source);
        const usesResolve = source.includes('require.resolve(');
        if (!usesUrl && !usesDirname && !usesResolve) return undefined;
        const rel = toPosix(relative(root, args.path));
        // A mirrored path must lie inside the project; an absolute one may be anywhere (a symlinked node_modules).
        if (rel.startsWith('..') && !placer.anywhere) return undefined;
        let contents = source;
        // Our own `const require = createRequire(import.meta.url)` hides require('pkg') from esbuild; without it
        // the package is bundled like any import (the bundle's banner still defines require for the rest).
        if (!rel.split('/').includes('node_modules')) contents = contents.replace(ownRequire, '/* require: the bundle\'s own */');
        if (usesUrl) {
          for (const m of source.matchAll(urlAsset)) {
            const target = resolve(dirname(args.path), m[2] as string);
            if (!existsSync(target)) continue;
            const targetRel = toPosix(relative(root, target));
            if (!targetRel || targetRel.startsWith('..')) continue;
            const isDir = statSync(target).isDirectory();
            // new URL('../../', import.meta.url) names a parent folder of the code (the project root), not an asset.
            if (isDir && (isInside(args.path, target) || isInside(entryDir, target))) continue;
            if (/\.[cm]?[jt]sx?$/.test(targetRel)) continue;
            assets.add(targetRel);
          }
          contents = contents
            .replaceAll('import.meta.url', placer.url(rel))
            .replaceAll('import.meta.dirname', placer.dir(rel))
            .replaceAll('import.meta.filename', placer.file(rel));
        }
        if (usesDirname) {
          if (declaresDirname.test(source)) {
            if (!usesUrl) warnings.push(`${rel} declares its own __dirname; left as is`);
          } else {
            contents = contents
              .replace(/(?<![\w$.])__dirname(?![\w$])/g, placer.dir(rel))
              .replace(/(?<![\w$.])__filename(?![\w$])/g, placer.file(rel));
          }
        }
        if (usesResolve) {
          // require.resolve('./worker.js') must find the file beside the module's mirrored place, so it ships too.
          contents = contents.replace(resolveAsset, (whole: string, _q: string, spec: string) => {
            const target = resolve(dirname(args.path), spec);
            if (!existsSync(target) || !statSync(target).isFile()) return whole;
            assets.add(toPosix(relative(root, target)));
            return `${placer.requireAt(rel)}.resolve(${JSON.stringify(spec)})`;
          });
        }
        return { contents, loader: loaderFor(args.path), resolveDir: dirname(args.path) };
      });
    },
  };
}

export async function bundleService(options: BundleOptions): Promise<BundleResult> {
  const { root, entry } = options;
  const entryPath = isAbsolute(entry) ? entry : resolve(root, entry);
  if (!existsSync(entryPath)) throw new Error(`${toPosix(relative(root, entryPath))} does not exist`);
  const assets = new Set<string>(options.extraAssets ?? []);
  const warnings: string[] = [];
  const result = await esbuild.build({
    absWorkingDir: root,
    entryPoints: [entryPath],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    ...(options.splitting
      ? { outdir: resolve(root, '.dev/images/out'), splitting: true, entryNames: 'main', chunkNames: 'chunk-[hash]', outExtension: { '.js': '.mjs' } }
      : { outfile: resolve(root, '.dev/images/out/main.mjs') }),
    write: false,
    metafile: true,
    minifySyntax: true,
    minifyWhitespace: true,
    keepNames: true,
    legalComments: 'none',
    sourcemap: false,
    logLevel: 'silent',
    external: EXTERNAL,
    banner: { js: BANNER },
    plugins: [
      replacePlugin(root, options.replace ?? {}, options.paths ?? 'mirror'),
      pathsPlugin(root, dirname(entryPath), assets, warnings, options.paths === 'absolute' ? absolutePlacer(root) : mirrorPlacer),
    ],
  });
  for (const w of result.warnings) warnings.push(w.text);
  const out = result.outputFiles.find((f) => f.path.endsWith(`${sep}main.mjs`));
  if (!out) throw new Error('esbuild produced no bundle');
  const chunks = result.outputFiles
    .filter((f) => f !== out && f.path.endsWith('.mjs'))
    .map((f) => ({ name: basename(f.path), code: Buffer.from(f.contents) }))
    .sort((a, b) => a.name.localeCompare(b.name));
  const inputs = Object.keys(result.metafile.inputs)
    .filter((p) => !p.includes(':'))
    .map((p) => toPosix(relative(root, resolve(root, p))));
  return { code: Buffer.from(out.contents), chunks, inputs, assets: options.paths === 'absolute' ? [] : [...assets].sort(), warnings };
}


/** A browser script as one minified IIFE (what the Scope app's map page loads as static/app.js). */
export async function bundleBrowser(root: string, entry: string): Promise<{ code: Buffer; inputs: string[] }> {
  const result = await esbuild.build({
    absWorkingDir: root,
    entryPoints: [resolve(root, entry)],
    bundle: true,
    format: 'iife',
    target: 'es2020',
    minify: true,
    write: false,
    metafile: true,
    logLevel: 'silent',
    outfile: resolve(root, '.dev/images/out/web.js'),
  });
  const out = result.outputFiles.find((f) => f.path.endsWith('.js'));
  if (!out) throw new Error(`esbuild produced no bundle for ${entry}`);
  const inputs = Object.keys(result.metafile.inputs)
    .filter((p) => !p.includes(':'))
    .map((p) => toPosix(relative(root, resolve(root, p))));
  return { code: Buffer.from(out.contents), inputs };
}
