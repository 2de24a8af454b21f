/**
 * Turns images/<name>/src/main.ts into something Node starts fast: one esbuild bundle per image in
 * .dev/build/<name>.mjs, made like the image's (cluster/images/bundle.ts: npm packages and @saas/kit bundled
 * in, so Node reads and compiles one file instead of hundreds), except that files read at run time are found
 * at their absolute paths in this checkout. A bundle is rebuilt only when one of its inputs (or any file under
 * its image folder) changed; a stat fingerprint makes the unchanged check cheap.
 *
 * `DEV_LOCAL_EXEC=tsx` runs the sources through tsx instead (slower to start; see bench/local-up.ts).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleService } from '../../images/bundle.ts';
import { imageSpec } from '../../images/specs.ts';
import { readJson, writeJsonAtomic } from '../../host/fsutil.ts';

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

export function entryOf(projectDir: string, image: string): string {
  return path.join(projectDir, 'images', image, 'src', 'main.ts');
}

export async function buildImage(projectDir: string, buildDir: string, image: string, mode: ExecMode = execMode()): Promise<Built> {
  const entry = entryOf(projectDir, image);
  if (!existsSync(entry)) throw new Error(`images/${image}/src/main.ts does not exist`);
  const watch = mode === 'tsx' ? [path.join(projectDir, 'images', image), path.join(projectDir, 'images', 'kit', 'src')] : [path.join(projectDir, 'images', image)];
  return buildEntry(projectDir, buildDir, image, entry, watch, mode, imageSpec(image, projectDir).replace);
}

/**
 * V8 flags for every bundled process: a development service answers a handful of requests, and a young
 * generation of 1 MB semi-spaces (V8 grows them to 16 MB) keeps each 3–25 MB smaller (bench/local-up.ts).
 */
export const nodeFlags: readonly string[] = ['--max-semi-space-size=1'];

const bundlerSources = [fileURLToPath(import.meta.url), fileURLToPath(import.meta.resolve('../../images/bundle.ts'))];

/**
 * Bundles entry to <buildDir>/<name>.mjs unless nothing changed since the last build: neither an input esbuild
 * read nor any file under the watched folders (files read at run time, e.g. static pages).
 */
export async function buildEntry(
  projectDir: string,
  buildDir: string,
  name: string,
  entry: string,
  watch: readonly string[],
  mode: ExecMode = execMode(),
  replace: Record<string, string> = {},
): Promise<Built> {
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
  const args = [...nodeFlags, outfile];
  const meta = readJson<BuildMeta>(metaFile);
  if (meta && existsSync(outfile)) {
    const now = fingerprint([...meta.inputs, ...watched()]);
    if (now === meta.fingerprint) return { image: name, command, args, hash: meta.hash, rebuilt: false, ms: Date.now() - t0 };
  }

  const { code, inputs: relInputs } = await bundleService({ root: projectDir, entry, paths: 'absolute', replace });
  // Installed packages change together with the lockfile, so it stands for them: a warm check stats a few
  // dozen files, not the thousands of node_modules the bundle read. The bundler's own code is an input too, so
  // a change in how bundles are made makes them again.
  const inputs = [
    ...relInputs.filter((p) => !p.split('/').includes('node_modules')).map((p) => path.resolve(projectDir, p)),
    path.join(projectDir, 'package-lock.json'),
    ...bundlerSources,
  ];
  const hash = createHash('sha256').update(code).update(nodeFlags.join('\0')).digest('hex').slice(0, 16);
  mkdirSync(buildDir, { recursive: true });
  const tmp = `${outfile}.${process.pid}.tmp`;
  writeFileSync(tmp, code);
  renameSync(tmp, outfile);
  writeJsonAtomic(metaFile, { hash, fingerprint: fingerprint([...inputs, ...watched()]), inputs } satisfies BuildMeta);
  return { image: name, command, args, hash, rebuilt: true, ms: Date.now() - t0 };
}
