import test from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { dev as run, type Run } from './helpers/dev.ts';
import { parse } from '../../cli/args.ts';
import { suggest } from '../../cli/suggest.ts';

/** The real `dev` binary, with its state in a temporary folder. */
async function dev(args: string[]): Promise<Run> {
  const devDir = await mkdtemp(path.join(os.tmpdir(), 'dev-cli-'));
  try {
    return await run(args, { DEV_DIR: devDir });
  } finally {
    await rm(devDir, { recursive: true, force: true });
  }
}

test('no arguments prints the usage with every command, exit 0', async (t) => {
  const r = await dev([]);
  t.is(r.code, 0);
  for (const c of ['up', 'down', 'status', 'logs', 'test', 'connect', 'probe', 'build']) t.regex(r.stdout, new RegExp(`^  ${c}\\b`, 'm'));
});

test('an unknown command prints usage and a suggestion on stderr, exit 2', async (t) => {
  const r = await dev(['stauts']);
  t.is(r.code, 2);
  t.is(r.stdout, '');
  t.regex(r.stderr, /unknown command 'stauts'\. Did you mean 'dev status'\?/);
  t.regex(r.stderr, /usage: dev <command>/);
});

test('an unknown flag names the command and suggests the close one, exit 2', async (t) => {
  const r = await dev(['up', '--runtim', 'local']);
  t.is(r.code, 2);
  t.regex(r.stderr, /unknown option '--runtim' for 'dev up'\. Did you mean '--runtime'\?/);
  t.regex(r.stderr, /usage: dev up/);
});

test('a bad --runtime value lists the choices, exit 2', async (t) => {
  const r = await dev(['status', '--runtime', 'dokcer']);
  t.is(r.code, 2);
  t.regex(r.stderr, /--runtime must be one of local, docker, kind, kubernetes, not 'dokcer'\. Did you mean '--runtime docker'\?/);
});

test('probe without --token, and logs without a service, are usage errors', async (t) => {
  const p = await dev(['probe']);
  t.is(p.code, 2);
  t.regex(p.stderr, /missing --token/);
  t.regex(p.stderr, /nothing runs yet: dev up, then sign in; the dashboard shows the token/);
  const l = await dev(['logs']);
  t.is(l.code, 2);
  t.regex(l.stderr, /missing <service>/);
});

test('a command --help prints its options on stdout, exit 0', async (t) => {
  const r = await dev(['logs', '--help']);
  t.is(r.code, 0);
  t.regex(r.stdout, /usage: dev logs <service> \[options\]/);
  t.regex(r.stdout, /-f, --follow/);
  t.regex(r.stdout, /--tail N/);
});

test('build of an unknown image is a usage error with a suggestion and the list, exit 2', async (t) => {
  const r = await dev(['build', 'usres']);
  t.is(r.code, 2);
  t.regex(r.stderr, /no image 'usres'\. Did you mean 'dev build users'\?/);
  t.regex(r.stderr, /images: frontend, ui-server, users, app-mapper, scope, mailcatcher, pglite/);
});

test('parse: values, positionals, integers and extra arguments', (t) => {
  t.deepEqual(parse(['logs', 'users', '-f', '--tail', '5']), { kind: 'command', command: 'logs', values: { follow: true, tail: '5' }, positionals: ['users'] });
  const bad = parse(['logs', 'users', '--tail', 'many']);
  t.is(bad.kind, 'usage-error');
  t.regex(bad.kind === 'usage-error' ? bad.message : '', /--tail must be a whole number/);
  const extra = parse(['status', 'users']);
  t.regex(extra.kind === 'usage-error' ? extra.message : '', /unexpected argument 'users'/);
  const missing = parse(['up', '--timeout']);
  t.regex(missing.kind === 'usage-error' ? missing.message : '', /--timeout needs a value/);
  t.deepEqual(parse(['help', 'up']), { kind: 'help', command: 'up' });
  t.deepEqual(parse(['--version']), { kind: 'version' });
});

test('suggest: close names only', (t) => {
  t.is(suggest('stat', ['up', 'status']), 'status');
  t.is(suggest('donw', ['up', 'down']), 'down');
  t.is(suggest('xyzzy', ['up', 'down', 'status']), undefined);
});
