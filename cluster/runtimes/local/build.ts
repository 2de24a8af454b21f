/**
 * Turns images/<name>/src/main.ts into something Node starts fast: one esbuild bundle per image in
 * .dev/build/<name>.mjs, npm packages left external (imported by absolute path, so the bundle runs from any
 * folder) and our own workspace code (@saas/kit) bundled in. A bundle is rebuilt only when one of its inputs
 * (or any file under its image folder) changed; a stat fingerprint makes the unchanged check cheap.
 *
 * `DEV_LOCAL_EXEC=tsx` runs the sources through tsx instead (slower to start; see bench/local-up.ts).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { build, type Plugin } from 'esbuild';
import { readJson, writeJsonAtomic } from './fsutil.ts';

import { execMode, type ExecMode } from './paths.ts';

export { execMode, type ExecMode };

export interface Built {
  image: string;
  command: string;
  args: string[];
  /** Changes when what runs changes. */
  hash: string;
  rebuilt: boolean;
  ms: number;
}

interface BuildMeta {
  hash: string;
  fingerprint: string;
  inputs: string[];
}


function walk(dir: string, out: string[] = []): string[] {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    if (e.name === 'node_modules' || e.name.startsWith('.')) continue;
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (e.isFile()) out.push(p);
  }
  return out;
}

function fingerprint(files: readonly string[]): string {
  const h = createHash('sha256');
  for (const f of [...new Set(files)].sort()) {
    try {
      const s = statSync(f);
      h.update(`${f}\0${s.size}\0${s.mtimeMs}\n`);
    } catch {
      h.update(`${f}\0missing\n`);
    }
  }
  return h.digest('hex');
}

/** Bare imports become external absolute paths (except our workspace packages, which are bundled). */
const externalPackages = (): Plugin => ({
  name: 'external-packages',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, async (args) => {
      if (args.pluginData === 'inner') return undefined;
      if (isBuiltin(args.path)) return { path: args.path, external: true };
      if (args.path.startsWith('@saas/')) return undefined;
      const r = await b.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, importer: args.importer, pluginData: 'inner' });
      if (r.errors.length) return { errors: r.errors };
      if (!r.path.includes(`${path.sep}node_modules${path.sep}`)) return undefined;
      return { path: r.path, external: true };
    });
  },
});

/** import.meta.url/dirname/filename keep meaning the source file, so files read next to the source are found. */
const sourceImportMeta = (projectDir: string): Plugin => ({
  name: 'source-import-meta',
  setup(b) {
    b.onLoad({ filter: /\.(m?ts|tsx|m?js)$/ }, (args) => {
      if (!args.path.startsWith(projectDir) || args.path.includes(`${path.sep}node_modules${path.sep}`)) return undefined;
      const text = readFileSync(args.path, 'utf8');
      if (!text.includes('import.meta')) return undefined;
      const contents = text
        .replaceAll('import.meta.url', JSON.stringify(pathToFileURL(args.path).href))
        .replaceAll('import.meta.dirname', JSON.stringify(path.dirname(args.path)))
        .replaceAll('import.meta.filename', JSON.stringify(args.path));
      const ext = path.extname(args.path);
      return { contents, loader: ext === '.tsx' ? 'tsx' : ext.endsWith('ts') ? 'ts' : 'js', resolveDir: path.dirname(args.path) };
    });
  },
});

export function entryOf(projectDir: string, image: string): string {
  return path.join(projectDir, 'images', image, 'src', 'main.ts');
}

export async function buildImage(projectDir: string, buildDir: string, image: string, mode: ExecMode = execMode()): Promise<Built> {
  const entry = entryOf(projectDir, image);
  if (!existsSync(entry)) throw new Error(`images/${image}/src/main.ts does not exist`);
  const watch = mode === 'tsx' ? [path.join(projectDir, 'images', image), path.join(projectDir, 'images', 'kit', 'src')] : [path.join(projectDir, 'images', image)];
  return buildEntry(projectDir, buildDir, image, entry, watch, mode);
}

/**
 * Bundles entry to <buildDir>/<name>.mjs unless nothing changed since the last build: neither an input esbuild
 * read nor any file under the watched folders (files read at run time, e.g. static pages).
 */
export async function buildEntry(projectDir: string, buildDir: string, name: string, entry: string, watch: readonly string[], mode: ExecMode = execMode()): Promise<Built> {
  const t0 = Date.now();
  const watched = () => watch.flatMap((d) => walk(d));

  if (mode === 'tsx') {
    return {
      image: name,
      command: process.execPath,
      args: ['--import', import.meta.resolve('tsx'), entry],
      hash: createHash('sha256').update(`tsx\0${entry}\0${fingerprint(watched())}`).digest('hex').slice(0, 16),
      rebuilt: false,
      ms: Date.now() - t0,
    };
  }

  const outfile = path.join(buildDir, `${name}.mjs`);
  const metaFile = path.join(buildDir, `${name}.build.json`);
  const command = process.execPath;
  const args = [outfile];
  const meta = readJson<BuildMeta>(metaFile);
  if (meta && existsSync(outfile)) {
    const now = fingerprint([...meta.inputs, ...watched()]);
    if (now === meta.fingerprint) return { image: name, command, args, hash: meta.hash, rebuilt: false, ms: Date.now() - t0 };
  }

  const result = await build({
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile,
    absWorkingDir: projectDir,
    write: false,
    metafile: true,
    logLevel: 'silent',
    legalComments: 'none',
    plugins: [externalPackages(), sourceImportMeta(projectDir)],
  });
  const out = result.outputFiles.find((f) => f.path === outfile) ?? result.outputFiles[0];
  if (!out) throw new Error(`esbuild produced no output for ${path.relative(projectDir, entry)}`);
  const inputs = Object.keys(result.metafile.inputs).map((p) => path.resolve(projectDir, p));
  const hash = createHash('sha256').update(out.contents).digest('hex').slice(0, 16);
  mkdirSync(buildDir, { recursive: true });
  const tmp = `${outfile}.${process.pid}.tmp`;
  writeFileSync(tmp, out.contents);
  renameSync(tmp, outfile);
  writeJsonAtomic(metaFile, { hash, fingerprint: fingerprint([...inputs, ...watched()]), inputs } satisfies BuildMeta);
  return { image: name, command, args, hash, rebuilt: true, ms: Date.now() - t0 };
}
