/**
 * The Kubernetes binaries and the pause image, built once from Debian's source package and cached per
 * version. The build is Debian's own (debian/rules: GOPATH in the tree, CGO off, `make WHAT=…`), with one
 * change: the vendored reflect2 1.0.1 and json-iterator 1.1.10, unsafe under Go ≥ 1.18 (about one
 * apiserver start in five fails every write), are replaced by Debian's fixed 1.0.2 and 1.1.12.
 */
import { existsSync, readdirSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { $ } from 'zx';
import { BUILD_PACKAGES, installPackages } from './install.ts';
import { KUBE_BINARIES, PAUSE_IMAGE, SOURCE_DIR, SOURCE_PACKAGE, binaryPath, pauseArchivePath, versionDir } from './layout.ts';

const sh = $({ quiet: true });

export type Say = (line: string) => void;

/** Debian's fixed copies, by the vendor path they replace. */
const FIXED_LIBRARIES = ['github.com/modern-go/reflect2', 'github.com/json-iterator/go'];
const GOCODE = '/usr/share/gocode/src';
const VENDOR_FIX_STAMP = '.saas-vendor-fixed';

export function binariesCached(version: string): boolean {
  return KUBE_BINARIES.every((name) => existsSync(binaryPath(version, name)));
}

/** `1:1.20.5+really1.20.2-1.1+deb12u1` → `1.20.5+really1.20.2`, the name of the tree apt-get source unpacks. */
export function upstreamVersion(version: string): string {
  return version.replace(/^\d+:/, '').replace(/-[^-]+$/, '');
}

function sourceTree(version: string): string {
  return join(SOURCE_DIR, `${SOURCE_PACKAGE}-${upstreamVersion(version)}`);
}

async function fetchSource(version: string, say: Say): Promise<string> {
  const tree = sourceTree(version);
  if (existsSync(join(tree, 'debian', 'rules'))) return tree;
  await mkdir(SOURCE_DIR, { recursive: true });
  say(`apt-get source ${SOURCE_PACKAGE}=${version}`);
  await sh({ cwd: SOURCE_DIR })`apt-get source -qq ${`${SOURCE_PACKAGE}=${version}`}`;
  return tree;
}

const isLibraryFile = (name: string) => (name.endsWith('.go') && !name.endsWith('_test.go')) || name.endsWith('.s');

async function useFixedJsonLibraries(tree: string): Promise<void> {
  if (existsSync(join(tree, VENDOR_FIX_STAMP))) return;
  for (const lib of FIXED_LIBRARIES) {
    const vendored = join(tree, 'vendor', lib);
    const fixed = join(GOCODE, lib);
    if (!existsSync(fixed)) throw new Error(`${fixed} is missing: install ${BUILD_PACKAGES.filter((p) => p.startsWith('golang-github')).join(' ')}`);
    for (const entry of await readdir(vendored, { withFileTypes: true })) {
      if (entry.isFile() && isLibraryFile(entry.name)) await rm(join(vendored, entry.name));
    }
    for (const entry of await readdir(fixed, { withFileTypes: true })) {
      if (entry.isFile() && isLibraryFile(entry.name)) await copyFile(join(fixed, entry.name), join(vendored, entry.name));
    }
  }
  await writeFile(join(tree, VENDOR_FIX_STAMP), FIXED_LIBRARIES.join('\n') + '\n');
}

async function make(tree: string, log: string): Promise<void> {
  await mkdir(join(tree, '.go', 'src', 'k8s.io'), { recursive: true });
  const link = join(tree, '.go', 'src', 'k8s.io', 'kubernetes');
  if (!existsSync(link)) await sh`ln -s ../../.. ${link}`;
  const what = KUBE_BINARIES.map((name) => `cmd/${name}`).join(' ');
  const env = { ...process.env, GOPATH: join(tree, '.go'), CGO_ENABLED: '0', HOME: process.env.HOME ?? '/root' };
  const run = await $({ cwd: tree, env, quiet: true, nothrow: true })`make ${`WHAT=${what}`} > ${log} 2>&1`;
  if (run.exitCode !== 0) throw new Error(`make WHAT="${what}" failed in ${tree}; see ${log}`);
}

/** A static build of the tree's build/pause, imported into docker as an image of one file and saved. */
async function buildPauseArchive(tree: string, version: string): Promise<void> {
  const work = await mkdtemp(join(versionDir(version), 'pause-'));
  try {
    await sh`gcc -Os -static -Wall -DVERSION=${upstreamVersion(version)} -o ${join(work, 'pause')} ${join(tree, 'build', 'pause', 'linux', 'pause.c')}`;
    await sh`tar -C ${work} -c pause | docker import --change ${'ENTRYPOINT ["/pause"]'} --change ${'USER 65535:65535'} - ${PAUSE_IMAGE}`;
    await sh`docker save ${PAUSE_IMAGE} -o ${join(work, 'pause-image.tar')}`;
    await rename(join(work, 'pause-image.tar'), pauseArchivePath(version));
    await sh`docker rmi ${PAUSE_IMAGE}`.nothrow();
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/**
 * Makes sure CACHE_DIR/<version> holds the binaries and the pause image. A tree that already holds a
 * finished build (`_output/bin`) is adopted as it is; the source tree is removed once both are cached.
 */
export async function ensureBuilt(version: string, say: Say): Promise<void> {
  if (binariesCached(version) && existsSync(pauseArchivePath(version))) return;
  await installPackages(BUILD_PACKAGES);
  await mkdir(join(versionDir(version), 'bin'), { recursive: true });
  const tree = await fetchSource(version, say);
  await useFixedJsonLibraries(tree);
  if (!binariesCached(version)) {
    const built = join(tree, '_output', 'bin');
    if (!KUBE_BINARIES.every((name) => existsSync(join(built, name)))) {
      const log = join(versionDir(version), 'build.log');
      say(`building ${KUBE_BINARIES.join(', ')} from ${SOURCE_PACKAGE} ${version} (about 15 minutes on 2 cores; log: ${log})`);
      const started = Date.now();
      await make(tree, log);
      await writeFile(join(versionDir(version), 'build.json'), JSON.stringify({ version, seconds: Math.round((Date.now() - started) / 1000), at: new Date().toISOString() }) + '\n');
    }
    for (const name of KUBE_BINARIES) {
      const partial = `${binaryPath(version, name)}.partial`;
      await copyFile(join(built, name), partial);
      await rename(partial, binaryPath(version, name));
    }
  }
  if (!existsSync(pauseArchivePath(version))) await buildPauseArchive(tree, version);
  say(`cached the binaries and the pause image in ${versionDir(version)}; removing the source tree`);
  for (const entry of readdirSync(SOURCE_DIR)) {
    if (entry.startsWith(`${SOURCE_PACKAGE}-`) || entry.startsWith(`${SOURCE_PACKAGE}_`)) await rm(join(SOURCE_DIR, entry), { recursive: true, force: true });
  }
}
