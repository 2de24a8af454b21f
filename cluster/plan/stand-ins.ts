/**
 * Which image runs a Deployment: one of ours (scope-saas/<name> → images/<name>), a named stand-in for an
 * upstream image that cannot run here (postgres → images/pglite, maildev/maildev → images/mailcatcher), or, on
 * a backend that can pull upstream images, the upstream image itself.
 */
import path from 'node:path';
import type { RuntimeName } from '../runtime.ts';

/** An upstream image, and the image of ours that stands in for it. */
export interface StandIn {
  /** The image repository it replaces (tag ignored), e.g. postgres. */
  upstream: string;
  /** The images/<folder> that runs instead. */
  runs: string;
  what: string;
  /** The stand-in's variable for each upstream container port (its default port first). */
  portEnv: readonly { containerPort: number; env: string }[];
  /** More settings; dataDir is where its data lives, buildDir where derived files go (kept by a wipe). */
  env: (ctx: { dataDir: string; buildDir?: string }) => Record<string, string>;
}

export const standIns: readonly StandIn[] = [
  {
    upstream: 'postgres',
    runs: 'pglite',
    what: 'PGlite served on the Postgres wire protocol',
    portEnv: [{ containerPort: 5432, env: 'PORT' }],
    // Every database starts as a copy of one initdb's output: the first `up` runs initdb once, not per database.
    env: ({ dataDir, buildDir }) => ({ DATA_DIR: dataDir, ...(buildDir ? { TEMPLATE_DIR: path.join(buildDir, 'pglite-template') } : {}) }),
  },
  {
    upstream: 'maildev/maildev',
    runs: 'mailcatcher',
    what: 'maildev from npm',
    portEnv: [
      { containerPort: 1025, env: 'SMTP_PORT' },
      { containerPort: 1080, env: 'PORT' },
    ],
    env: ({ dataDir }) => ({ MAIL_DIR: dataDir }),
  },
];

/** Our own images: scope-saas/<name> runs images/<name>/src/main.ts. */
export const ownImagePrefix = 'scope-saas/';

export function imageRepository(image: string): string {
  let ref = image.split('@')[0] ?? image;
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  if (colon > slash) ref = ref.slice(0, colon);
  return ref.replace(/^docker\.io\//, '').replace(/^library\//, '');
}

/** runs: the images/<folder> built for it; absent, the upstream image runs as it is. */
export type Runner = { runs: string; standIn?: StandIn } | { upstream: string };

export interface RunnerPolicy {
  /** Named in the error for an image nothing can run. Default: local, the embedded default runtime. */
  runtime?: RuntimeName;
  /** Whether the backend can pull and run upstream images (Kubernetes can; local processes and docker here do not). */
  upstreamImages?: boolean;
  /** Stand-ins even where upstream images could run (`dev up --stand-ins`). */
  forceStandIns?: boolean;
}

export function runnerFor(image: string, policy: RunnerPolicy = {}): Runner | { error: string } {
  const repo = imageRepository(image);
  if (repo.startsWith(ownImagePrefix)) return { runs: repo.slice(ownImagePrefix.length) };
  const s = standIns.find((x) => x.upstream === repo);
  if (policy.upstreamImages && !(s && policy.forceStandIns)) return { upstream: image };
  if (s) return { runs: s.runs, standIn: s };
  return {
    error: `image ${image} cannot run on the ${policy.runtime ?? 'local'} runtime: it is not one of ours (${ownImagePrefix}<name>) and has no stand-in (${standIns.map((x) => `${x.upstream} → images/${x.runs}`).join(', ')})`,
  };
}

/** The image a backend runs: the content-hash tag built for images/<runs>, else the upstream image as written. */
export function imageRef(runner: Runner, manifestImage: string, built: ReadonlyMap<string, { tag: string }>): string {
  if (!('runs' in runner)) return manifestImage;
  const tag = built.get(runner.runs)?.tag;
  if (!tag) throw new Error(`no image was built for ${runner.runs}`);
  return tag;
}
