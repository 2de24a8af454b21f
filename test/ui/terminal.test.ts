/**
 * The real `dev` in a real pseudo-terminal (node-pty, 80×24), its screen read through a VT emulator: one local
 * system brought up by `dev up`'s Ink view in a temporary DEV_DIR, then `dev status` driven by keys, `dev test`,
 * and the plain output when stdout or stdin is not a terminal. One system for the whole file, then down.
 */
import test from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '@saas/kit/testing';
import { dev, devBin } from '../cli/helpers/dev.ts';
import { Screen } from './helpers/screen.ts';

let env: Record<string, string>;
let devDir: string;
let upScreen: string[] = [];
let upExit = -1;

test.before(async (t) => {
  t.timeout(6 * 60_000);
  devDir = await mkdtemp(path.join(os.tmpdir(), 'dev-ui-'));
  env = { DEV_DIR: devDir, DEV_FRONTEND_PORT: String(await freePort()) };
  const up = new Screen(['up'], env);
  try {
    upExit = await Promise.race([up.exited, new Promise<number>((_, reject) => setTimeout(() => reject(new Error(`dev up did not end:\n${up.all().join('\n')}`)), 5 * 60_000))]);
    upScreen = up.all();
  } finally {
    up.kill();
  }
});

test.after.always(async () => {
  if (devDir) {
    await dev(['down', '--wipe'], env).catch(() => undefined);
    await rm(devDir, { recursive: true, force: true });
  }
});

test.serial('dev up on a terminal: every step with its time, the summary line, then the result', (t) => {
  const text = upScreen.join('\n');
  t.is(upExit, 0, text);
  t.regex(text, /✓ start the local supervisor .*\d+\.\ds/);
  for (const s of ['users', 'frontend', 'app-mapper', 'mailcatcher', 'ui-server']) t.regex(text, new RegExp(`✓ start ${s} +ready on 127\\.0\\.0\\.1:\\d+ +\\d+\\.\\ds`));
  t.regex(text, /✓ dev up +\d+ done +\d+\.\ds/);
  t.regex(text, /7 services ready in .* \(runtime local\)\./);
  // The result comes after the view, and no spinner frame is left behind.
  t.true(text.indexOf('✓ dev up') < text.indexOf('services ready in'));
  t.notRegex(text, /[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]/);
  for (const line of upScreen) t.true(line.length <= 80);
});

test.serial('dev status on a terminal: live table; l logs, Esc back, m mail, r restart, q quits and restores the screen', async (t) => {
  t.timeout(3 * 60_000);
  const s = new Screen(['status'], env);
  t.teardown(() => s.kill());
  let text = await s.waitFor(/7\/7 ready/);
  t.regex(text, /SERVICE +READY +STATE +RESTARTS +AGE +URL/);
  for (const name of ['app-mapper', 'frontend', 'mailcatcher', 'ui-server', 'users', 'users-db']) t.regex(text, new RegExp(`^. ${name} +● +running +0 `, 'm'));
  t.regex(text, /SCOPE APPS/);
  t.regex(text, /q quit/);
  t.true(s.screen().every((l) => l.length <= 80));

  // Down to ui-server (the fifth service), its log, pino JSON made readable.
  s.keys('jjjj');
  await s.waitFor(/^▸ ui-server/m);
  s.keys('l');
  text = await s.waitFor(/ logs +ui-server[\s\S]*\d\d:\d\d:\d\d info +/);
  t.notRegex(text, /\{"level"/);
  t.regex(text, /following/);
  // Scrolling needs more lines than the pane holds: wait until the history has arrived, not just its first batch.
  await s.waitFor(/^ *(?:2[5-9]|[3-9]\d|\d{3,}) lines\s*$/m);
  s.keys('\x1b[A'); // up: scrolling back pauses following
  await s.waitFor(/1 line up/);
  s.keys('\x1b');
  await s.waitFor(/SERVICE +READY/);

  s.keys('m');
  text = await s.waitFor(/ mail +\d+ captured|no mail yet/);
  s.keys('\x1b');
  await s.waitFor(/SERVICE +READY/);

  s.keys('r');
  await s.waitFor(/restarted ui-server/, 60_000);
  await s.waitFor(/^▸ ui-server +● +running +1 /m, 60_000);

  s.keys('q');
  t.is(await s.exited, 0);
  // The alternate screen was entered and left again.
  t.true(s.output().includes('\x1b[?1049h'));
  t.true(s.output().lastIndexOf('\x1b[?1049l') > s.output().lastIndexOf('\x1b[?1049h'));
});

test.serial('dev test on a terminal: each step ticked off with its time', async (t) => {
  t.timeout(4 * 60_000);
  const s = new Screen(['test'], env);
  t.teardown(() => s.kill());
  const code = await s.exited;
  const text = s.all().join('\n');
  t.is(code, 0, text);
  for (const step of ['sign up', 'welcome mail arrives', 'approve in the users admin', 'login link arrives', 'log in with the link', 'read the probe token', 'start a probe', 'the map shows', 'stop the probe']) {
    t.regex(text, new RegExp(`✓ ${step}.* \\d+\\.\\ds`), step);
  }
  t.regex(text, /✓ dev test +9 done/);
  t.regex(text, /smoke flow passed in/);
});

test.serial('the Scope app of the organisation `dev test` made shows; t runs the smoke test in a pane', async (t) => {
  t.timeout(4 * 60_000);
  const s = new Screen(['status'], env);
  t.teardown(() => s.kill());
  await s.waitFor(/SCOPE APPS 1 .*\n +ORG +STATE +URL/, 60_000);
  s.keys('t');
  // `dev test`'s own Ink view, drawn in the pane by the emulator.
  const text = await s.waitFor(/ run +dev test[\s\S]*exited 0/, 3 * 60_000);
  t.regex(text, /✓ dev test +9 done/);
  s.keys('\x1b');
  await s.waitFor(/SCOPE APPS 2 /, 60_000);
  s.keys('\x03'); // Ctrl-C quits too
  t.is(await s.exited, 0);
});

test.serial('stdout piped: the plain table, no raw mode', async (t) => {
  const r = await dev(['status'], env);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /^runtime local: 7\/7 services ready/);
  t.regex(r.stdout, /SERVICE +READY +STATE +RESTARTS +AGE +URL/);
  t.notRegex(r.stdout, /\x1b\[/);
  t.is(r.stderr, '');
  const j = await dev(['status', '--json'], env);
  t.is(j.code, 0);
  t.deepEqual(Object.keys(JSON.parse(j.stdout) as object), ['runtime', 'services', 'endpoints', 'apps']);
});

test.serial('stdin not a terminal (stdout is): the plain table, no raw-mode crash', async (t) => {
  const s = new Screen([], env, 80, 24, '/bin/sh', ['-c', `exec "${process.execPath}" "${devBin}" status < /dev/null`]);
  t.teardown(() => s.kill());
  t.is(await s.exited, 0, s.all().join('\n'));
  const text = s.all().join('\n');
  t.regex(text, /runtime local: 7\/7 services ready/);
  t.notRegex(text, /Raw mode is not supported/);
  t.false(s.output().includes('\x1b[?1049h'));
});
