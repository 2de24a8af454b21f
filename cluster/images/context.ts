/**
 * The build context, made by us: the image's Dockerfile, the healthcheck script, the bundle, and the assets
 * under assets/ (at their project-relative paths, copied to /app by `COPY assets/ /app/`). Nothing else of
 * the project is ever sent to the daemon, and no secret-looking file is, whatever folder an asset names.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { createTar, withParentDirs, type TarEntry } from './tar.ts';

/** File names that look like credentials: never put in a build context. */
const SECRET_NAMES = [
  /^\.env(?:\..*)?$/i,
  /\.(?:pem|key|p12|pfx|jks|keystore|crt\.key)$/i,
  /^id_(?:rsa|dsa|ecdsa|ed25519)(?:\.pub)?$/i,
  /^\.(?:npmrc|netrc|pgpass|git-credentials|htpasswd)$/i,
  /^(?:credentials|secrets?)(?:\.json|\.ya?ml)?$/i,
  /^\.docker$/,
  /^\.ssh$/,
  /^\.aws$/,
  /^\.git$/,
];

export function isSecretLooking(path: string): boolean {
  return path.split('/').some((segment) => SECRET_NAMES.some((re) => re.test(segment)));
}

/** A .dockerignore-style pattern list: `*`, `**`, `?`, leading `!` re-includes, `#` comments. */
export function parseIgnore(text: string): (path: string) => boolean {
  const rules = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const negate = l.startsWith('!');
      const glob = (negate ? l.slice(1) : l).replace(/^\/+|\/+$/g, '');
      const re = glob
        .split('/')
        .map((seg) => (seg === '**' ? '(?:.*)' : seg.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')))
        .join('/')
        .replace(/\(\?:\.\*\)\//g, '(?:.*/)?');
      // A pattern without a slash matches that name anywhere; with one, from the context root. Either matches a folder's contents.
      const anchored = glob.includes('/') ? `^${re}(?:/.*)?$` : `(?:^|/)${re}(?:/.*)?$`;
      return { negate, re: new RegExp(anchored) };
    });
  return (path) => {
    let ignored = false;
    for (const r of rules) if (r.re.test(path)) ignored = !r.negate;
    return ignored;
  };
}

export interface ContextInput {
  dockerfile: Buffer;
  dockerignore?: string;
  healthcheck: Buffer;
  bundle: Buffer;
  /** The bundle's chunks, beside main.mjs. */
  chunks?: { name: string; code: Buffer }[];
  /** Project-relative assets (files or folders). */
  assets: string[];
  /** Files made at build time (browser bundles), at project-relative paths. */
  generated?: { path: string; data: Buffer }[];
  root: string;
}

export interface BuildContext {
  tar: Buffer;
  /** Every file in the context (folders left out), for tests and diagnostics. */
  paths: string[];
  /** Paths left out because they looked like secrets or matched .dockerignore. */
  excluded: string[];
  /** sha256 of the context's bytes: the same inputs always give the same archive. */
  hash: string;
}

function walk(root: string, rel: string, out: string[]): void {
  const abs = join(root, rel);
  const st = statSync(abs);
  if (st.isDirectory()) {
    for (const name of readdirSync(abs).sort()) walk(root, `${rel}/${name}`, out);
  } else if (st.isFile()) {
    out.push(rel);
  }
}

/** Project-relative files under the given assets, sorted (secrets not yet filtered). */
export function listAssetFiles(root: string, assets: string[]): string[] {
  const files: string[] = [];
  for (const a of assets) walk(root, a, files);
  return [...new Set(files)].sort();
}

export function makeBuildContext(input: ContextInput): BuildContext {
  const ignored = parseIgnore(input.dockerignore ?? '');
  const excluded: string[] = [];
  const entries: TarEntry[] = [
    { path: 'Dockerfile', type: 'file', data: input.dockerfile },
    { path: 'healthcheck.mjs', type: 'file', data: input.healthcheck },
    { path: 'main.mjs', type: 'file', data: input.bundle },
    ...(input.chunks ?? []).map((c): TarEntry => ({ path: c.name, type: 'file', data: c.code })),
    { path: 'assets', type: 'dir' },
    { path: 'empty', type: 'dir' },
  ];
  for (const file of listAssetFiles(input.root, input.assets)) {
    const inContext = `assets/${file}`;
    if (isSecretLooking(file) || ignored(inContext) || ignored(basename(file))) {
      excluded.push(file);
      continue;
    }
    entries.push({ path: inContext, type: 'file', data: readFileSync(join(input.root, file)) });
  }
  for (const g of input.generated ?? []) entries.push({ path: `assets/${g.path}`, type: 'file', data: g.data });
  const all = withParentDirs(entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)));
  const tar = createTar(all);
  return {
    tar,
    paths: all.filter((e) => e.type === 'file').map((e) => e.path),
    excluded,
    hash: createHash('sha256').update(tar).digest('hex'),
  };
}
