/**
 * Image build figures (needs a Docker daemon; starts dockerd if it may):
 *   - making the base image from the host's node
 *   - a cold build of every image (bundles made afresh, no layer cache)
 *   - a warm build with nothing changed (0 builds; the time to decide)
 *   - one file changed in one service → its new image (goal ≤ 5 s)
 *   - each image's size against the base (goal ≤ base + 20 MB)
 * Run: npx tsx bench/images.ts [--skip-cold]
 * Caches go to a temporary state dir, so the project's own .dev/images is left as it was.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

const stateRoot = await mkdtemp(path.join(os.tmpdir(), 'bench-images-'));
process.env.SCOPE_SAAS_STATE_DIR = stateRoot;

const { buildImages } = await import('../cluster/images/build.ts');
const { importHostNodeBase, resolveBaseImage } = await import('../cluster/images/base.ts');
const { ensureDockerDaemon } = await import('../cluster/images/docker.ts');
const { PROJECT_ROOT } = await import('../cluster/images/paths.ts');
const { allImageSpecs, imageSpec } = await import('../cluster/images/specs.ts');

const skipCold = process.argv.includes('--skip-cold');
const docker = await ensureDockerDaemon();
const mb = (b: number) => `${(b / 1e6).toFixed(1)} MB`;
const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const rows: [string, string, string][] = [];
const quiet = () => undefined;

try {
  // 1. The base image from the host's node (into a bench tag, removed afterwards).
  const benchBase = `scope-saas/node-base-bench:${Date.now().toString(36)}`;
  let t = Date.now();
  await importHostNodeBase(docker, benchBase);
  const madeMs = Date.now() - t;
  const madeSize = (await docker.getImage(benchBase).inspect()).Size;
  await docker.getImage(benchBase).remove({ force: true });
  rows.push(['base image from host node', s(madeMs), mb(madeSize)]);

  const base = await resolveBaseImage(docker, {});
  const baseSize = (await docker.getImage(base.ref).inspect()).Size;

  // 2. Cold: every image bundled and built with no layer cache.
  if (!skipCold) {
    t = Date.now();
    const cold = await buildImages({ emit: quiet, docker, base, force: true, noCache: true });
    rows.push([`cold build, ${cold.size} images in parallel`, s(Date.now() - t), `${[...cold.values()].filter((i) => i.built).length} built`]);
  }

  // 3. Warm: nothing changed.
  await buildImages({ emit: quiet, docker, base });
  t = Date.now();
  const warm = await buildImages({ emit: quiet, docker, base });
  rows.push(['warm, nothing changed (time to decide)', s(Date.now() - t), `${[...warm.values()].filter((i) => i.built).length} built`]);

  // 4. One file changed in one service: a wrapper entry under .dev/ whose content changes between builds.
  const benchDir = path.join(PROJECT_ROOT, '.dev/bench-images');
  await mkdir(benchDir, { recursive: true });
  const entry = path.join(benchDir, 'users-main.ts');
  const spec = { ...imageSpec('users'), name: 'users-bench', entry };
  const write = (n: number) => writeFile(entry, `(globalThis as Record<string, unknown>).benchRevision = ${n};\nawait import('../../images/users/src/main.ts');\n`);
  await write(1);
  await buildImages({ emit: quiet, docker, base, images: [spec] });
  const changes: number[] = [];
  for (let i = 2; i <= 4; i++) {
    await write(i);
    t = Date.now();
    const r = await buildImages({ emit: quiet, docker, base, images: [spec] });
    if (!r.get('users-bench')?.built) throw new Error('the changed service was not rebuilt');
    changes.push(Date.now() - t);
  }
  const rebuilt = await docker.listImages({ filters: { label: ['scope-saas.image=users-bench'] } });
  for (const img of rebuilt) await docker.getImage(img.Id).remove({ force: true }).catch(() => undefined);
  await rm(benchDir, { recursive: true, force: true });
  changes.sort((a, b) => a - b);
  rows.push(['one file changed in users → new image (median of 3)', s(changes[1] ?? 0), `min ${s(changes[0] ?? 0)}, max ${s(changes[2] ?? 0)}`]);

  // 5. Sizes.
  rows.push([`base ${base.ref}`, '', mb(baseSize)]);
  for (const spec of allImageSpecs()) {
    const img = warm.get(spec.name);
    if (!img) continue;
    const over = img.sizeBytes - baseSize;
    rows.push([`image ${spec.name}`, '', `${mb(img.sizeBytes)} (base + ${mb(over)}${over > 20e6 ? ', OVER the 20 MB goal' : ''})`]);
  }
} finally {
  await rm(stateRoot, { recursive: true, force: true });
}

const width = Math.max(...rows.map((r) => r[0].length));
console.log(`\nimages (${os.cpus().length} cores, load ${os.loadavg()[0]?.toFixed(1)})`);
for (const [what, time, extra] of rows) console.log(`  ${what.padEnd(width)}  ${time.padStart(8)}  ${extra}`);
