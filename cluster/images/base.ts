/**
 * The base image every service image starts FROM: the service base, what every service would otherwise repeat
 * (the non-root user, /app, the environment, the healthcheck script and HEALTHCHECK, the CMD), built here on the
 * Node base. The Node base is `node:20-slim` when the daemon has it (or can pull it); otherwise one made from
 * this machine's own Node: a root file system holding the node binary, the libraries `ldd` lists and a minimal
 * /etc, imported with the Engine API (`docker import`). It has no shell, so the images use exec-form CMD and
 * HEALTHCHECK only.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { mkdir, open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import type { EventSink } from '../events.ts';
import { followJsonStream, isNotFound, type Docker } from './docker.ts';
import { createTar, withParentDirs, type TarEntry } from './tar.ts';
import { LABELS } from '@saas/kit/contracts';
import { stateDir } from './paths.ts';

const run = promisify(execFile);

export const UPSTREAM_BASE = 'node:20-slim';
export const HOST_BASE_REPO = 'scope-saas/node-base';
export const SERVICE_BASE_REPO = 'scope-saas/service-base';
/** The user every image runs as; the made base's /etc/passwd and node:20-slim both have it. */
export const IMAGE_UID = 1000;
export const IMAGE_GID = 1000;
export const IMAGE_USER = `${IMAGE_UID}:${IMAGE_GID}`;
/** Copied into the service base as /app/healthcheck.mjs: the HEALTHCHECK and the docker runtime's TCP probe run it. */
export const HEALTHCHECK_SCRIPT = new URL('./healthcheck.mjs', import.meta.url);

/** A service's Dockerfile overrides what differs (PORT, HEALTHCHECK) and adds its own EXPOSE, assets and bundle. */
const serviceBaseDockerfile = `ARG BASE
FROM \${BASE}
WORKDIR /app
ENV NODE_ENV=production HOST=0.0.0.0 PORT=8080
COPY healthcheck.mjs /app/
USER ${IMAGE_USER}
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=5s --timeout=3s --start-period=15s --retries=3 CMD ["node", "/app/healthcheck.mjs", "http", "/healthz"]
CMD ["node", "/app/main.mjs"]
`;

export interface BaseImage {
  /** What FROM gets, e.g. node:20-slim or scope-saas/node-base:3f2a…. */
  ref: string;
  /** The daemon's image id, part of every service image's input hash. */
  id: string;
  /** How we got the Node base under it. */
  source: 'upstream' | 'pulled' | 'host-node' | 'configured';
}

export interface HostNodeFiles {
  node: string;
  libraries: string[];
}

/** The node binary and the shared libraries it loads, as `ldd` lists them. */
export async function hostNodeFiles(node = realpathSync(process.execPath)): Promise<HostNodeFiles> {
  const { stdout } = await run('ldd', [node]);
  const libraries: string[] = [];
  for (const line of stdout.split('\n')) {
    const arrow = /=>\s*(\/\S+)/.exec(line);
    const bare = /^\s*(\/\S+)\s+\(/.exec(line);
    const path = arrow?.[1] ?? bare?.[1];
    if (path && !libraries.includes(path)) libraries.push(path);
  }
  if (!libraries.length) throw new Error(`ldd listed no libraries for ${node}; is it a static binary?`);
  return { node, libraries };
}

interface HashCache {
  key: string;
  hash: string;
}

/** A content hash of node + its libraries, cached by their sizes and mtimes so deciding costs no re-hash. */
export async function hostNodeHash(files?: HostNodeFiles): Promise<string> {
  const f = files ?? (await hostNodeFiles());
  const all = [f.node, ...f.libraries];
  const key = all.map((p) => {
    const s = statSync(p);
    return `${p}:${s.size}:${s.mtimeMs}`;
  }).join('|');
  const cacheFile = join(stateDir(), 'node-base.json');
  try {
    const cached = JSON.parse(await readFile(cacheFile, 'utf8')) as HashCache;
    if (cached.key === key) return cached.hash;
  } catch {
    /* no cache yet */
  }
  const h = createHash('sha256');
  for (const p of all) {
    h.update(p);
    h.update(await readFile(p));
  }
  const hash = h.digest('hex').slice(0, 16);
  await mkdir(dirname(cacheFile), { recursive: true });
  await writeFile(cacheFile, JSON.stringify({ key, hash } satisfies HashCache));
  return hash;
}

function etcFiles(): TarEntry[] {
  const text = (path: string, body: string, mode = 0o644): TarEntry => ({ path, type: 'file', data: Buffer.from(body), mode });
  const entries: TarEntry[] = [
    text('etc/passwd', 'root:x:0:0:root:/root:/usr/sbin/nologin\nnode:x:1000:1000:node:/home/node:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n'),
    text('etc/group', 'root:x:0:\nnode:x:1000:\nnogroup:x:65534:\n'),
    text('etc/nsswitch.conf', 'passwd: files\ngroup: files\nhosts: files dns\nnetworks: files\n'),
    text('etc/os-release', 'NAME="scope-saas node base"\nID=scope-saas-node\nPRETTY_NAME="Node from the host, imported by dev"\n'),
    { path: 'tmp', type: 'dir', mode: 0o1777 },
    { path: 'root', type: 'dir', mode: 0o700 },
    { path: 'home/node', type: 'dir', mode: 0o755, uid: 1000, gid: 1000 },
    { path: 'app', type: 'dir', mode: 0o755 },
  ];
  const certs = '/etc/ssl/certs/ca-certificates.crt';
  if (existsSync(certs)) entries.push({ path: certs.slice(1), type: 'file', data: readFileSync(certs), mode: 0o644 });
  return entries;
}

/** The root file system of the made base image, as a tar. */
export async function hostNodeRootfs(files?: HostNodeFiles): Promise<Buffer> {
  const f = files ?? (await hostNodeFiles());
  const entries: TarEntry[] = [{ path: 'usr/local/bin/node', type: 'file', data: await readFile(f.node), mode: 0o755 }];
  for (const lib of f.libraries) {
    entries.push({ path: lib.slice(1), type: 'file', data: await readFile(realpathSync(lib)), mode: 0o755 });
  }
  entries.push(...etcFiles());
  return createTar(withParentDirs(entries));
}

async function imageId(docker: Docker, ref: string): Promise<string | undefined> {
  try {
    return (await docker.getImage(ref).inspect()).Id;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

async function tryPull(docker: Docker, ref: string, timeoutMs: number): Promise<boolean> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    const stream = await docker.pull(ref, { abortSignal: controller.signal });
    let failed = false;
    await followJsonStream<{ error?: string }>(stream, (e) => {
      if (e.error) failed = true;
    });
    return !failed;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

/** Makes (imports) the base image from the host's Node. About 105 MB, a few seconds. */
export async function importHostNodeBase(docker: Docker, tag: string, files?: HostNodeFiles): Promise<string> {
  const rootfs = await hostNodeRootfs(files);
  const [repo, version] = tag.split(':') as [string, string];
  const stream = await docker.importImage(Readable.from([rootfs]), {
    repo,
    tag: version,
    changes: [
      'ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin',
      'WORKDIR /app',
      `LABEL ${LABELS.base}=host-node`,
      'CMD ["node"]',
    ],
  } as object);
  let error: string | undefined;
  await followJsonStream<{ error?: string }>(stream, (e) => {
    if (e.error) error = e.error;
  });
  if (error) throw new Error(`docker import of the host-node base failed: ${error}`);
  const id = await imageId(docker, tag);
  if (!id) throw new Error(`docker import reported success but ${tag} is not there`);
  return id;
}

/** One maker at a time across processes (parallel test files on a cold machine); a lock older than 2 min is stale. */
async function withLock<T>(file: string, fn: () => Promise<T>): Promise<T> {
  await mkdir(dirname(file), { recursive: true });
  const deadline = Date.now() + 180_000;
  for (;;) {
    try {
      const fh = await open(file, 'wx');
      await fh.writeFile(String(process.pid));
      await fh.close();
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const age = await stat(file).then((s) => Date.now() - s.mtimeMs, () => 0);
      if (age > 120_000) await rm(file, { force: true });
      else if (Date.now() > deadline) throw new Error(`waited too long for ${file}`);
      else await new Promise((r) => setTimeout(r, 250));
    }
  }
  try {
    return await fn();
  } finally {
    await rm(file, { force: true });
  }
}

export interface ResolveBaseOptions {
  emit?: EventSink;
  /** Skip node:20-slim even if present (tests that exercise the host-node path). */
  forceHostNode?: boolean;
  pullTimeoutMs?: number;
}

/** Finds or builds the service base on a Node base; its tag hashes the Node base's id and everything it adds. */
export async function serviceBaseImage(docker: Docker, node: BaseImage): Promise<BaseImage> {
  const healthcheck = await readFile(HEALTHCHECK_SCRIPT);
  const hash = createHash('sha256').update(`${node.id}\0${serviceBaseDockerfile}\0`).update(healthcheck).digest('hex').slice(0, 16);
  const tag = `${SERVICE_BASE_REPO}:${hash}`;
  const found = (id: string): BaseImage => ({ ref: tag, id, source: node.source });
  const existing = await imageId(docker, tag);
  if (existing) return found(existing);
  return withLock(join(stateDir(), 'service-base.lock'), async () => {
    const madeMeanwhile = await imageId(docker, tag);
    if (madeMeanwhile) return found(madeMeanwhile);
    const context = createTar([
      { path: 'Dockerfile', type: 'file', data: Buffer.from(serviceBaseDockerfile), mode: 0o644 },
      { path: 'healthcheck.mjs', type: 'file', data: healthcheck, mode: 0o644 },
    ]);
    const stream = await docker.buildImage(Readable.from([context]), {
      t: tag,
      buildargs: { BASE: node.ref },
      labels: { [LABELS.base]: 'service' },
      rm: true,
      forcerm: true,
    } as Parameters<Docker['buildImage']>[1]);
    let error: string | undefined;
    await followJsonStream<{ error?: string }>(stream, (e) => {
      if (e.error) error = e.error;
    });
    if (error) throw new Error(`building the service base ${tag} FROM ${node.ref} failed: ${error}`);
    const id = await imageId(docker, tag);
    if (!id) throw new Error(`the build of ${tag} reported success but it is not there`);
    return found(id);
  });
}

/** The service base (serviceBaseImage) on the Node base resolveNodeBase finds or makes. */
export async function resolveBaseImage(docker: Docker, options: ResolveBaseOptions = {}): Promise<BaseImage> {
  return serviceBaseImage(docker, await resolveNodeBase(docker, options));
}

/**
 * Finds or makes the Node base: SCOPE_SAAS_BASE_IMAGE if set; node:20-slim if the daemon has it; the
 * host-node base if it was made before for this very node binary; node:20-slim pulled; else made now.
 */
export async function resolveNodeBase(docker: Docker, options: ResolveBaseOptions = {}): Promise<BaseImage> {
  const configured = process.env.SCOPE_SAAS_BASE_IMAGE;
  if (configured) {
    const id = await imageId(docker, configured);
    if (!id) throw new Error(`SCOPE_SAAS_BASE_IMAGE=${configured} is not an image the daemon has`);
    return { ref: configured, id, source: 'configured' };
  }
  if (!options.forceHostNode) {
    const upstream = await imageId(docker, UPSTREAM_BASE);
    if (upstream) return { ref: UPSTREAM_BASE, id: upstream, source: 'upstream' };
  }
  const files = await hostNodeFiles();
  const tag = `${HOST_BASE_REPO}:${await hostNodeHash(files)}`;
  const made = await imageId(docker, tag);
  if (made) return { ref: tag, id: made, source: 'host-node' };
  return withLock(join(stateDir(), 'node-base.lock'), async () => {
    const madeMeanwhile = await imageId(docker, tag);
    if (madeMeanwhile) return { ref: tag, id: madeMeanwhile, source: 'host-node' };
    if (!options.forceHostNode && (await tryPull(docker, UPSTREAM_BASE, options.pullTimeoutMs ?? 15_000))) {
      const id = await imageId(docker, UPSTREAM_BASE);
      if (id) return { ref: UPSTREAM_BASE, id, source: 'pulled' };
    }
    options.emit?.({
      type: 'notice',
      level: 'info',
      message: `${UPSTREAM_BASE} is not available and cannot be pulled: making base image ${tag} from this machine's node ${process.version} (${files.libraries.length} libraries)`,
      at: Date.now(),
    });
    const id = await importHostNodeBase(docker, tag, files);
    return { ref: tag, id, source: 'host-node' as const };
  });
}
