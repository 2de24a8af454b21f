/**
 * The bundler's two ways of finding files a bundle cannot contain, and module stand-ins, on a small project
 * made on disk and bundles run by a real node: absolute paths (the local runtime, bundle written anywhere,
 * node_modules possibly a symlink outside the project) and mirrored paths (images).
 */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { bundleService } from '../../cluster/images/bundle.ts';

const work = mkdtempSync(path.join(tmpdir(), 'bundle-test-'));
test.after.always(() => rmSync(work, { recursive: true, force: true }));

function write(root: string, files: Record<string, string>): void {
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    writeFileSync(path.join(root, rel), text);
  }
}

/** A project; with linked, its node_modules lives elsewhere and is symlinked in, as in a test's snapshot of the checkout. */
function project(name: string, { linked = true } = {}): string {
  const root = path.join(work, name);
  const modules = linked ? path.join(work, `${name}-store`, 'node_modules') : path.join(root, 'node_modules');
  write(modules, {
    'reader/package.json': '{"name":"reader","main":"index.js"}',
    'reader/index.js': `const fs = require('fs'); const path = require('path');
exports.note = () => fs.readFileSync(path.join(__dirname, 'note.txt'), 'utf8').trim();
exports.worker = () => require.resolve('./worker.js');`,
    'reader/note.txt': 'read beside the package',
    'reader/worker.js': '',
    'heavy/package.json': '{"name":"heavy","main":"index.js"}',
    'heavy/index.js': "globalThis.heavyLoaded = true; exports.Thing = class Thing { constructor(x) { this.x = x; } };",
    'user-of-heavy/package.json': '{"name":"user-of-heavy","main":"index.js"}',
    'user-of-heavy/index.js': "const { Thing } = require('heavy'); exports.make = (x) => new Thing(x);",
  });
  write(root, {
    'images/demo/src/main.ts': `import { readFileSync } from 'node:fs';
import reader from 'reader';
import userOfHeavy from 'user-of-heavy';
const own = readFileSync(new URL('../static/hello.txt', import.meta.url), 'utf8').trim();
const before = (globalThis as { heavyLoaded?: boolean }).heavyLoaded === true;
const made = userOfHeavy.make(42).x;
const after = (globalThis as { heavyLoaded?: boolean }).heavyLoaded === true;
console.log(JSON.stringify({ own, note: reader.note(), worker: reader.worker(), dir: import.meta.dirname, before, made, after }));`,
    'images/demo/static/hello.txt': 'hello from the source tree',
    'images/demo/src/heavy-on-first-use.cjs': `let real;
class Thing { constructor(...a) { real ??= require('heavy'); return new real.Thing(...a); } }
module.exports = { Thing };`,
  });
  if (linked) symlinkSync(modules, path.join(root, 'node_modules'));
  return root;
}

function runBundle(code: Buffer, where: string): Record<string, unknown> {
  mkdirSync(where, { recursive: true });
  const file = path.join(where, 'main.mjs');
  writeFileSync(file, code);
  return JSON.parse(execFileSync(process.execPath, [file], { encoding: 'utf8' })) as Record<string, unknown>;
}

test('absolute paths: a bundle written anywhere reads its own and its packages’ files where they are, through a symlinked node_modules', async (t) => {
  const root = project('absolute');
  const bundle = await bundleService({ root, entry: 'images/demo/src/main.ts', paths: 'absolute' });
  t.deepEqual(bundle.assets, [], 'nothing to copy');
  const out = runBundle(bundle.code, path.join(work, 'elsewhere'));
  t.is(out.own, 'hello from the source tree');
  t.is(out.note, 'read beside the package');
  t.is(out.worker, path.join(work, 'absolute-store/node_modules/reader/worker.js'));
  t.is(out.dir, path.join(root, 'images/demo/src'));
});

test('a replaced module: its importers get the stand-in, which alone reaches the real one, loaded on first use', async (t) => {
  const root = project('replace');
  const bundle = await bundleService({ root, entry: 'images/demo/src/main.ts', paths: 'absolute', replace: { heavy: 'images/demo/src/heavy-on-first-use.cjs' } });
  const out = runBundle(bundle.code, path.join(work, 'replace-out'));
  t.false(out.before, 'not loaded when its importer was');
  t.is(out.made, 42);
  t.true(out.after);
  t.false(bundle.code.includes('heavyLoaded=!0') || bundle.code.includes('heavyLoaded = true'), 'run in the checkout, the real module is required from node_modules, not bundled');

  const forImage = await bundleService({ root, entry: 'images/demo/src/main.ts', replace: { heavy: 'images/demo/src/heavy-on-first-use.cjs' } });
  t.true(forImage.code.includes('heavyLoaded=!0'), 'an image carries the real module in its bundle');

  const plain = runBundle((await bundleService({ root, entry: 'images/demo/src/main.ts', paths: 'absolute' })).code, path.join(work, 'plain-out'));
  t.true(plain.before, 'without the stand-in it loads at start');
});

test('mirrored paths: the files a bundle reads are listed as assets, and found beside the bundle at their project paths', async (t) => {
  const root = project('mirror', { linked: false });
  const bundle = await bundleService({ root, entry: 'images/demo/src/main.ts' });
  t.deepEqual(bundle.assets, ['images/demo/static/hello.txt', 'node_modules/reader/worker.js']);
  const image = path.join(work, 'image');
  write(image, {
    'images/demo/static/hello.txt': 'hello from the image',
    'node_modules/reader/worker.js': '',
    // Reached through a __dirname join, which no scan sees: what an image spec's extraAssets are for.
    'node_modules/reader/note.txt': 'copied as an extra asset',
  });
  const out = runBundle(bundle.code, image);
  t.is(out.own, 'hello from the image');
  t.is(out.note, 'copied as an extra asset');
  t.is(out.worker, path.join(image, 'node_modules/reader/worker.js'));
  t.is(out.dir, path.join(image, 'images/demo/src'));
});

test('splitting: what a dynamic import loads is a chunk beside main.mjs, read only when that import runs', async (t) => {
  const root = path.join(work, 'split');
  write(root, {
    'images/two/src/main.ts': `const role = process.env.ROLE ?? 'a';
const { run } = role === 'a' ? await import('./a.ts') : await import('./b.ts');
console.log(JSON.stringify({ said: run() }));`,
    'images/two/src/a.ts': "export const run = () => 'a, small';",
    'images/two/src/b.ts': "export const run = () => 'b, ' + 'with a big client'.repeat(1);",
  });
  const bundle = await bundleService({ root, entry: 'images/two/src/main.ts', splitting: true });
  t.true(bundle.chunks.length >= 2, 'one chunk per role (and maybe one of shared helpers)');
  for (const c of bundle.chunks) t.regex(c.name, /^chunk-[A-Z0-9]+\.mjs$/);
  t.false(bundle.code.includes('with a big client'), 'main.mjs holds neither role');
  const dir = path.join(work, 'split-image');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'main.mjs'), bundle.code);
  for (const c of bundle.chunks) writeFileSync(path.join(dir, c.name), c.code);
  const run = (role: string) => JSON.parse(execFileSync(process.execPath, [path.join(dir, 'main.mjs')], { encoding: 'utf8', env: { ...process.env, ROLE: role } })) as { said: string };
  t.is(run('a').said, 'a, small');
  t.is(run('b').said, 'b, with a big client');
});
