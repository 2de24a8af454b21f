import test from 'ava';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, waitFor } from '@saas/kit/testing';
import { buildWebAssets } from '../../images/scope/src/app/web.ts';
import { weaveFixture } from './helpers.ts';

const here = path.dirname(fileURLToPath(import.meta.url));

test('the app, bundled by esbuild as an image would, runs as a service: reports in, map out, clean stop', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'scope-app-service-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const entry = path.join(dir, 'entry.ts');
  await writeFile(entry, `import { runApp } from ${JSON.stringify(path.join(here, '../../images/scope/src/app/main.ts'))};\nawait runApp();\n`);
  const out = path.join(dir, 'main.mjs');
  execFileSync(createRequire(import.meta.url).resolve('esbuild/bin/esbuild'), [
    entry,
    '--bundle',
    '--platform=node',
    '--format=esm',
    '--target=node20',
    "--banner:js=import { createRequire as __cr } from 'module'; const require = __cr(import.meta.url);",
    `--outfile=${out}`,
    '--log-level=error',
  ]);
  // an image ships the page script prebuilt (it has neither esbuild nor cytoscape at run time)
  const pageScript = path.join(dir, 'app.js');
  await writeFile(pageScript, (await buildWebAssets())['app.js']);
  const port = await freePort();
  const child = spawn(process.execPath, [out], {
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', SCOPE_WEB_DIR: path.join(here, '../../images/scope/web'), SCOPE_WEB_BUNDLE: pageScript },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += String(d)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  const base = `http://127.0.0.1:${port}`;
  await waitFor('the app', async () => (child.exitCode !== null ? Promise.reject(new Error(stderr)) : (await fetch(`${base}/readyz`)).ok), 30_000);
  const post = await fetch(`${base}/api/report`, { method: 'POST', body: Uint8Array.from(weaveFixture('report-1.msgpack.gz')), headers: { 'X-Scope-Probe-ID': 'p' } });
  t.is(post.status, 200);
  const hosts = (await (await fetch(`${base}/api/topology/hosts`)).json()) as { nodes: Record<string, { label: string }> };
  t.is(hosts.nodes['vm;<host>']?.label, 'vm');
  t.regex(await (await fetch(`${base}/`)).text(), /static\/app\.js/);
  t.is(await (await fetch(`${base}/static/app.js`)).text(), (await buildWebAssets())['app.js']);
  child.kill('SIGTERM');
  t.is(await exited, 0, stderr);
});
