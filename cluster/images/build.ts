/**
 * Builds the service images with the Engine API (dockerode), in parallel, one `build/<image>` step each.
 * An image's tag is a hash of its inputs (build context bytes + base image id), never `:latest`; an image
 * whose inputs did not change is not rebuilt, and deciding that costs a stat of each input, not a bundle.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { StepError, step, type EventSink } from '../events.ts';
import { HEALTHCHECK_SCRIPT, resolveBaseImage, type BaseImage } from './base.ts';
import { bundleBrowser, bundleService } from './bundle.ts';
import { makeBuildContext } from './context.ts';
import { followJsonStream, isNotFound, requireDocker, connectDocker, type Docker } from './docker.ts';
import { LABELS } from '@saas/kit/contracts';
import { IMAGE_REPO_PREFIX, PROJECT_ROOT, stateDir } from './paths.ts';
import { allImageSpecs, type ImageSpec } from './specs.ts';

export interface BuiltImage {
  name: string;
  /** scope-saas/<name>:<16 hex of the inputs' hash> */
  tag: string;
  id: string;
  /** False when the image with these inputs already existed. */
  built: boolean;
  sizeBytes: number;
  durationMs: number;
}

export interface BuildImagesOptions {
  emit: EventSink;
  docker?: Docker;
  /** Which images (default: all of images/). */
  images?: ImageSpec[];
  root?: string;
  /** Use this base instead of finding one. */
  base?: BaseImage;
  /** Build even when an image with the same inputs exists (the daemon's layer cache still applies). */
  force?: boolean;
  /** Skip node:20-slim even if present. */
  forceHostNodeBase?: boolean;
  /** Don't use the daemon's layer cache either (a truly cold build; benchmarks). */
  noCache?: boolean;
}

interface Fingerprint {
  /** Hash over the base id, the Dockerfile, .dockerignore and each input file's size and mtime. */
  fingerprint: string;
  tag: string;
  inputs: string[];
  assets: string[];
}

function abs(root: string, path: string): string {
  return isAbsolute(path) ? path : resolve(root, path);
}

function cacheFile(root: string, name: string): string {
  return join(stateDir(root), `${name}.json`);
}

function readOptional(path: string | undefined): Buffer {
  if (!path || !existsSync(path)) return Buffer.alloc(0);
  return readFileSync(path);
}

/** Cheap: stats, no reads, except the few small files that make the image (Dockerfile, ignore, healthcheck). */
function fingerprintOf(root: string, spec: ImageSpec, base: BaseImage, inputs: string[], assets: string[], assetFiles: string[]): string {
  const h = createHash('sha256');
  h.update(`base ${base.id}\nentry ${abs(root, spec.entry)}\nextra ${JSON.stringify(spec.extraAssets ?? [])} ${JSON.stringify(spec.webBundles ?? [])}\n`);
  h.update(readOptional(abs(root, spec.dockerfile)));
  h.update('\0');
  h.update(readOptional(spec.dockerignore && abs(root, spec.dockerignore)));
  h.update('\0');
  h.update(readFileSync(HEALTHCHECK_SCRIPT));
  h.update(`\0assets ${assets.join(',')}\n`);
  for (const p of [...inputs, ...assetFiles]) {
    try {
      const s = statSync(join(root, p));
      h.update(`${p}:${s.size}:${s.mtimeMs}\n`);
    } catch {
      h.update(`${p}:missing\n`);
    }
  }
  return h.digest('hex');
}

function listFiles(root: string, assets: string[]): string[] | undefined {
  const out: string[] = [];
  const walk = (rel: string): boolean => {
    let st;
    try {
      st = statSync(join(root, rel));
    } catch {
      return false;
    }
    if (st.isDirectory()) {
      out.push(`${rel}/`);
      for (const name of readdirSync(join(root, rel)).sort()) if (!walk(`${rel}/${name}`)) return false;
    } else out.push(rel);
    return true;
  };
  for (const a of assets) if (!walk(a)) return undefined;
  return out;
}


async function imageInfo(docker: Docker, ref: string): Promise<{ id: string; size: number } | undefined> {
  try {
    const info = await docker.getImage(ref).inspect();
    return { id: info.Id, size: info.Size };
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

interface BuildStreamEvent {
  stream?: string;
  status?: string;
  error?: string;
  errorDetail?: { message?: string };
  aux?: { ID?: string };
}

/** Sends the context to the daemon and follows the build; a failing instruction becomes a StepError with its output. */
async function dockerBuild(
  docker: Docker,
  name: string,
  tag: string,
  context: Buffer,
  base: BaseImage,
  inputsHash: string,
  progress: (line: string) => void,
  noCache = false,
): Promise<string> {
  const stream = await docker.buildImage(Readable.from([context]), {
    t: tag,
    buildargs: { BASE: base.ref },
    labels: { [LABELS.image]: name, [LABELS.inputs]: inputsHash },
    rm: true,
    forcerm: true,
    nocache: noCache,
  } as Parameters<Docker['buildImage']>[1]);
  const lines: string[] = [];
  let error: string | undefined;
  let id: string | undefined;
  await followJsonStream<BuildStreamEvent>(stream, (e) => {
    const text = e.stream ?? e.status;
    if (text) {
      for (const line of text.split('\n')) {
        const l = line.trimEnd();
        if (!l.trim()) continue;
        lines.push(l);
        progress(l.trim());
      }
    }
    if (e.aux?.ID) id = e.aux.ID;
    if (e.error || e.errorDetail) error = e.errorDetail?.message ?? e.error;
  });
  if (error) {
    const stepAt = lines.findLastIndex((l) => /^Step \d+\/\d+ :/.test(l));
    const failing = stepAt >= 0 ? lines.slice(stepAt) : lines;
    throw new StepError({
      summary: `image ${name} failed to build: ${error.trim()}`,
      hint: `fix images/${name}/Dockerfile at the failing step shown below, then run the build again`,
      logs: [{ source: `docker build ${name}`, lines: [...failing.slice(-40), error.trim()] }],
    });
  }
  const info = await imageInfo(docker, tag);
  if (!info) throw new StepError({ summary: `image ${name}: the build finished but ${tag} is not there` });
  return id ?? info.id;
}

/** A container label naming images it starts by tag (app-mapper's Scope app image): those are kept. */
export const REFERENCES_LABEL = LABELS.references;

/**
 * Removes older builds of the same image that nothing uses: not run by a container (the daemon refuses, and we
 * ignore, those) and not named by a container's REFERENCES_LABEL.
 */
async function pruneOld(docker: Docker, name: string, keepTag: string): Promise<void> {
  const images = await docker.listImages({ filters: { label: [`${LABELS.image}=${name}`] } });
  const containers = await docker.listContainers({ all: true, filters: { label: [REFERENCES_LABEL] } });
  const referenced = new Set(containers.flatMap((c) => (c.Labels[REFERENCES_LABEL] ?? '').split(',')));
  for (const img of images) {
    const tags = img.RepoTags ?? [];
    if (tags.includes(keepTag) || tags.some((t) => referenced.has(t))) continue;
    try {
      await docker.getImage(img.Id).remove();
    } catch {
      /* in use by a container, or shared: keep it */
    }
  }
}

interface BuildJob {
  root: string;
  spec: ImageSpec;
  base: BaseImage;
  force: boolean;
  noCache: boolean;
}

async function buildOne(docker: Docker, { root, spec, base, force, noCache }: BuildJob, progress: (message: string) => void): Promise<BuiltImage> {
  const t0 = Date.now();
  const dockerfile = abs(root, spec.dockerfile);
  if (!existsSync(dockerfile)) {
    throw new StepError({ summary: `image ${spec.name}: ${relative(root, dockerfile)} does not exist` });
  }
  const cachePath = cacheFile(root, spec.name);
  let cached: Fingerprint | undefined;
  try {
    cached = JSON.parse(await readFile(cachePath, 'utf8')) as Fingerprint;
  } catch {
    cached = undefined;
  }
  if (cached && !force) {
    const files = listFiles(root, cached.assets);
    if (files && fingerprintOf(root, spec, base, cached.inputs, cached.assets, files) === cached.fingerprint) {
      const info = await imageInfo(docker, cached.tag);
      if (info) return { name: spec.name, tag: cached.tag, id: info.id, built: false, sizeBytes: info.size, durationMs: Date.now() - t0 };
    }
  }

  progress(`bundling ${relative(root, abs(root, spec.entry))}`);
  let bundle;
  try {
    bundle = await bundleService({ root, entry: abs(root, spec.entry), extraAssets: spec.extraAssets, replace: spec.replace ?? {}, splitting: true });
  } catch (err) {
    const messages = (err as { errors?: { text: string; location?: { file: string; line: number } | null }[] }).errors;
    throw new StepError({
      summary: `image ${spec.name}: bundling ${relative(root, abs(root, spec.entry))} failed`,
      hint: 'fix the error below (the service must also run with `dev up --runtime local`)',
      logs: [
        {
          source: `esbuild ${spec.name}`,
          lines: messages?.map((m) => (m.location ? `${m.location.file}:${m.location.line}: ${m.text}` : m.text)) ?? [(err as Error).message],
        },
      ],
    });
  }
  for (const w of bundle.warnings) progress(`warning: ${w}`);
  const generated: { path: string; data: Buffer }[] = [];
  const inputs = [...bundle.inputs];
  for (const wb of spec.webBundles ?? []) {
    progress(`bundling ${wb.entry} for the browser`);
    try {
      const web = await bundleBrowser(root, wb.entry);
      generated.push({ path: wb.out, data: web.code });
      inputs.push(...web.inputs.filter((p) => !inputs.includes(p)));
    } catch (err) {
      const messages = (err as { errors?: { text: string }[] }).errors;
      throw new StepError({
        summary: `image ${spec.name}: bundling ${wb.entry} failed`,
        logs: [{ source: `esbuild ${wb.entry}`, lines: messages?.map((m) => m.text) ?? [(err as Error).message] }],
      });
    }
  }
  const context = makeBuildContext({
    root,
    dockerfile: readFileSync(dockerfile),
    dockerignore: readOptional(spec.dockerignore && abs(root, spec.dockerignore)).toString(),
    healthcheck: readFileSync(HEALTHCHECK_SCRIPT),
    bundle: bundle.code,
    chunks: bundle.chunks,
    assets: bundle.assets,
    generated,
  });
  const inputsHash = createHash('sha256').update(context.hash).update(base.id).digest('hex').slice(0, 16);
  const tag = `${IMAGE_REPO_PREFIX}/${spec.name}:${inputsHash}`;
  progress(
    `context ${(context.tar.length / 1e6).toFixed(1)} MB: bundle ${(bundle.code.length / 1e6).toFixed(1)} MB` +
      (bundle.chunks.length ? ` + ${bundle.chunks.length} chunk(s) ${(bundle.chunks.reduce((a, c) => a + c.code.length, 0) / 1e6).toFixed(1)} MB` : '') +
      `, ${bundle.assets.length} asset(s)` +
      (context.excluded.length ? `, left out ${context.excluded.length} secret-looking/ignored file(s)` : ''),
  );

  let built = false;
  let info = force ? undefined : await imageInfo(docker, tag);
  if (!info) {
    await dockerBuild(docker, spec.name, tag, context.tar, base, inputsHash, progress, noCache);
    info = await imageInfo(docker, tag);
    if (!info) throw new StepError({ summary: `image ${spec.name}: ${tag} vanished after the build` });
    built = true;
    await pruneOld(docker, spec.name, tag).catch(() => undefined);
  }
  const record: Fingerprint = {
    fingerprint: fingerprintOf(root, spec, base, inputs, bundle.assets, listFiles(root, bundle.assets) ?? []),
    tag,
    inputs,
    assets: bundle.assets,
  };
  await mkdir(stateDir(root), { recursive: true });
  await writeFile(cachePath, JSON.stringify(record));
  return { name: spec.name, tag, id: info.id, built, sizeBytes: info.size, durationMs: Date.now() - t0 };
}

function mb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(0)} MB`;
}

/**
 * Builds (or finds unchanged) every image, in parallel. Resolves with each image's tag; rejects with a
 * StepError naming the images that failed, after every build has finished and reported its own step.
 */
export async function buildImages(options: BuildImagesOptions): Promise<Map<string, BuiltImage>> {
  const root = options.root ?? PROJECT_ROOT;
  const emit = options.emit;
  const docker = await requireDocker(options.docker ?? connectDocker());
  const base =
    options.base ??
    (await step(
      emit,
      'build/base',
      'build',
      'base image',
      () => resolveBaseImage(docker, { emit, forceHostNode: options.forceHostNodeBase }),
      (b) => (b.source === 'host-node' ? `${b.ref} (from this machine's node)` : b.ref),
    ));
  const specs = options.images ?? allImageSpecs(root);
  const results = await Promise.allSettled(
    specs.map((spec) =>
      step(
        emit,
        `build/${spec.name}`,
        'build',
        `build image ${spec.name}`,
        (progress) => buildOne(docker, { root, spec, base, force: options.force ?? false, noCache: options.noCache ?? false }, progress),
        (r) => (r.built ? `built ${r.tag} (${mb(r.sizeBytes)}) in ${(r.durationMs / 1000).toFixed(1)} s` : `unchanged ${r.tag}`),
      ),
    ),
  );
  const out = new Map<string, BuiltImage>();
  const failed: string[] = [];
  results.forEach((r, i) => {
    const name = (specs[i] as ImageSpec).name;
    if (r.status === 'fulfilled') out.set(name, r.value);
    else failed.push(name);
  });
  if (failed.length) {
    const first = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    const diagnosis = first?.reason instanceof StepError ? first.reason.diagnosis : undefined;
    throw new StepError({
      summary: `${failed.length} image(s) failed to build: ${failed.join(', ')}`,
      hint: diagnosis?.hint,
      logs: diagnosis?.logs,
    });
  }
  return out;
}
