import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import type Docker from 'dockerode';
import type { EngineEvent, StepFailed } from '../../cluster/events.ts';
import { StepError } from '../../cluster/events.ts';
import { importHostNodeBase, resolveBaseImage, type BaseImage } from '../../cluster/images/base.ts';
import { buildImages } from '../../cluster/images/build.ts';
import { bundleService } from '../../cluster/images/bundle.ts';
import { makeBuildContext } from '../../cluster/images/context.ts';
import { requireDocker } from '../../cluster/images/docker.ts';
import type { ImageSpec } from '../../cluster/images/specs.ts';
import { daemon, runInImage } from './helpers.ts';

let docker: Docker;
let base: BaseImage;
let root: string;
const madeTags: string[] = [];

const dockerfile = (extra = '') => `ARG BASE=node:20-slim
FROM \${BASE}
WORKDIR /app
COPY healthcheck.mjs /app/
COPY assets/ /app/
COPY main.mjs /app/
${extra}USER 1000:1000
CMD ["node", "/app/main.mjs"]
`;

async function writeProject(files: Record<string, string>): Promise<void> {
  for (const [rel, body] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(root, rel)), { recursive: true });
    await writeFile(path.join(root, rel), body);
  }
}

function spec(name: string): ImageSpec {
  return { name, entry: `images/${name}/src/main.ts`, dockerfile: `images/${name}/Dockerfile`, dockerignore: `images/${name}/.dockerignore` };
}

test.before(async () => {
  docker = await daemon();
  base = await resolveBaseImage(docker, {});
  root = await mkdtemp(path.join(os.tmpdir(), 'images-test-'));
});

test.after.always(async () => {
  for (const tag of madeTags) await docker.getImage(tag).remove({ force: true }).catch(() => undefined);
  if (root) await rm(root, { recursive: true, force: true });
});

test.serial("the base image made from the host's node runs node as a non-root user and has no shell", async (t) => {
  const tag = `scope-saas/node-base-test:${Date.now().toString(36)}`;
  madeTags.push(tag);
  const id = await importHostNodeBase(docker, tag);
  t.regex(id, /^sha256:/);
  const info = await docker.getImage(tag).inspect();
  t.true(info.Size > 50e6 && info.Size < 250e6, `size ${info.Size}`);
  t.is(info.Config.Labels?.['scope-saas.base'], 'host-node');
  const run = await runInImage(docker, tag, ['node', '-p', 'process.version + " " + require("os").userInfo().username + " " + process.getuid()'], '1000:1000');
  t.is(run.code, 0, run.output);
  t.is(run.output.trim(), `${process.version} node 1000`);
  await t.throwsAsync(runInImage(docker, tag, ['/bin/sh', '-c', 'true']));
});

test.serial('the service base carries what every service image shares: user, /app, env, healthcheck script, HEALTHCHECK, CMD', async (t) => {
  const info = await docker.getImage(base.ref).inspect();
  t.regex(base.ref, /^scope-saas\/service-base:[0-9a-f]{16}$/);
  t.is(info.Config.User, '1000:1000');
  t.is(info.Config.WorkingDir, '/app');
  t.deepEqual(info.Config.Cmd, ['node', '/app/main.mjs']);
  t.deepEqual(info.Config.Healthcheck?.Test, ['CMD', 'node', '/app/healthcheck.mjs', 'http', '/healthz']);
  t.true(['NODE_ENV=production', 'HOST=0.0.0.0', 'PORT=8080'].every((e) => info.Config.Env?.includes(e)), String(info.Config.Env));
  const run = await runInImage(docker, base.ref, ['node', '-e', 'require("fs").accessSync("/app/healthcheck.mjs"); console.log(process.getuid())']);
  t.is(run.output.trim(), '1000', run.output);
  t.is((await resolveBaseImage(docker, {})).id, base.id, 'found again, not rebuilt');
});

test.serial('secret-looking files never reach the build context, nor the image', async (t) => {
  await writeProject({
    'images/leaky/src/main.ts': `import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
const pub = fileURLToPath(new URL('../public/', import.meta.url));
const walk = (d: string): string[] => readdirSync(d).flatMap((n) => (statSync(join(d, n)).isDirectory() ? walk(join(d, n)).map((x) => n + '/' + x) : [n]));
console.log(JSON.stringify(walk(pub).sort()));
`,
    'images/leaky/public/index.html': '<h1>hello</h1>',
    'images/leaky/public/.env': 'SESSION_SECRET=do-not-ship',
    'images/leaky/public/id_rsa': '-----BEGIN OPENSSH PRIVATE KEY-----',
    'images/leaky/public/server.pem': '-----BEGIN PRIVATE KEY-----',
    'images/leaky/public/.npmrc': '//registry.npmjs.org/:_authToken=abc',
    'images/leaky/public/nested/.env.production': 'X=1',
    'images/leaky/public/nested/ok.txt': 'fine',
    'images/leaky/public/nested/notes.secretdraft': 'left out by .dockerignore',
    'images/leaky/.env': 'NOT=referenced',
    'images/leaky/.dockerignore': '*.secretdraft\n',
    'images/leaky/Dockerfile': dockerfile(),
  });

  const bundle = await bundleService({ root, entry: 'images/leaky/src/main.ts' });
  t.deepEqual(bundle.assets, ['images/leaky/public']);
  const context = makeBuildContext({
    root,
    dockerfile: Buffer.from(dockerfile()),
    dockerignore: '*.secretdraft\n',
    healthcheck: Buffer.from(''),
    bundle: bundle.code,
    assets: bundle.assets,
  });
  const files = context.paths.filter((p) => p.startsWith('assets/'));
  t.deepEqual(files.sort(), ['assets/images/leaky/public/index.html', 'assets/images/leaky/public/nested/ok.txt']);
  for (const p of context.paths) t.false(/\.env|id_rsa|\.pem|\.npmrc/.test(p), p);
  t.false(context.tar.includes('do-not-ship'));
  t.deepEqual(context.excluded.sort(), [
    'images/leaky/public/.env',
    'images/leaky/public/.npmrc',
    'images/leaky/public/id_rsa',
    'images/leaky/public/nested/.env.production',
    'images/leaky/public/nested/notes.secretdraft',
    'images/leaky/public/server.pem',
  ]);

  const events: EngineEvent[] = [];
  const built = await buildImages({ emit: (e) => events.push(e), docker, root, base, images: [spec('leaky')] });
  const image = built.get('leaky');
  t.truthy(image);
  madeTags.push(image!.tag);
  t.regex(image!.tag, /^scope-saas\/leaky:[0-9a-f]{16}$/);
  const run = await runInImage(docker, image!.tag, ['node', '/app/main.mjs']);
  t.is(run.code, 0, run.output);
  t.deepEqual(JSON.parse(run.output.trim()), ['index.html', 'nested/ok.txt']);
});

test.serial('an image whose inputs did not change is not rebuilt; one changed file gives a new tag', async (t) => {
  const again = await buildImages({ emit: () => undefined, docker, root, base, images: [spec('leaky')] });
  t.false(again.get('leaky')!.built);
  const before = again.get('leaky')!.tag;

  const main = path.join(root, 'images/leaky/src/main.ts');
  await writeFile(main, (await readFile(main, 'utf8')) + '\nconsole.log("changed");\n');
  const events: EngineEvent[] = [];
  const changed = await buildImages({ emit: (e) => events.push(e), docker, root, base, images: [spec('leaky')] });
  const after = changed.get('leaky')!;
  madeTags.push(after.tag);
  t.true(after.built);
  t.not(after.tag, before);
  const done = events.find((e) => e.type === 'done' && e.step === 'build/leaky');
  t.regex((done as { message?: string }).message ?? '', /^built scope-saas\/leaky:/);
  // The older build is pruned once nothing uses it.
  await t.throwsAsync(docker.getImage(before).inspect());
});

test.serial("a failing Dockerfile is a failed step naming the image and showing the failing step's output", async (t) => {
  await writeProject({
    'images/failing/src/main.ts': 'console.log("never runs");\n',
    'images/failing/Dockerfile': `ARG BASE=node:20-slim
FROM \${BASE}
COPY main.mjs /app/
RUN ["node", "-e", "console.log('checking the widget'); console.error('widget is broken'); process.exit(3)"]
CMD ["node", "/app/main.mjs"]
`,
  });
  const events: EngineEvent[] = [];
  const err = await t.throwsAsync(buildImages({ emit: (e) => events.push(e), docker, root, base, images: [spec('failing')] }), { instanceOf: StepError });
  t.regex(err!.message, /failing/);
  const failed = events.find((e): e is StepFailed => e.type === 'failed' && e.step === 'build/failing');
  t.truthy(failed);
  t.regex(failed!.diagnosis.summary, /^image failing failed to build: .*returned a non-zero code: 3/);
  t.regex(failed!.diagnosis.hint ?? '', /images\/failing\/Dockerfile/);
  const lines = failed!.diagnosis.logs?.[0]?.lines ?? [];
  t.regex(lines[0] ?? '', /^Step \d+\/\d+ : RUN \["node", "-e"/);
  t.true(lines.some((l) => l.includes('widget is broken')), lines.join('\n'));
  t.false(lines.some((l) => l.includes('COPY main.mjs')), 'only the failing step is shown');
});

test('no daemon: a clear error that says how to start one or to use the local runtime', async (t) => {
  const DockerClass = (await import('dockerode')).default;
  const err = await t.throwsAsync(requireDocker(new DockerClass({ socketPath: path.join(os.tmpdir(), 'no-such-docker.sock') })), { instanceOf: StepError });
  t.regex(err!.message, /No Docker daemon answers/);
  t.regex((err as StepError).diagnosis.hint ?? '', /dockerd/);
  t.regex((err as StepError).diagnosis.hint ?? '', /--runtime local/);
});
