import test from 'ava';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { builtRuntimes, runtimeNames } from '../../cluster/runtime.ts';
import { COMMANDS, commandUsage, parse } from '../../cli/args.ts';
import { decodeOptions } from '../../cli/options.ts';
import { pickTarget, writeState } from '../../cli/context.ts';

function decoded<K extends 'logs' | 'up' | 'connect' | 'probe'>(name: K, argv: string[]) {
  const p = parse([name, ...argv]);
  if (p.kind !== 'command') throw new Error(`not a command: ${JSON.stringify(p)}`);
  return decodeOptions(COMMANDS[name].options, p.values);
}

test('a command gets its options typed, defaults filled in', (t) => {
  t.deepEqual(decoded('logs', ['users', '-f', '--tail', '5']), { runtime: undefined, context: undefined, kubeconfig: undefined, follow: true, tail: 5 });
  t.deepEqual(decoded('logs', ['users']), { runtime: undefined, context: undefined, kubeconfig: undefined, follow: false, tail: 100 });
  t.deepEqual(decoded('up', ['--runtime', 'docker']), { runtime: 'docker', context: undefined, kubeconfig: undefined, 'stand-ins': false, timeout: 180 });
  t.deepEqual(decoded('connect', ['--port', '0']), { runtime: undefined, context: undefined, kubeconfig: undefined, port: 0 });
  t.deepEqual(decoded('probe', ['--token', 'abc']), { runtime: undefined, context: undefined, kubeconfig: undefined, token: 'abc' });
});

test('help comes from the same declarations: defaults, required options, and only the runtimes that are built', (t) => {
  const up = commandUsage('up');
  t.regex(up, /--timeout SECONDS +give up waiting for readiness after this long \(default 180\)/);
  const offered = /--runtime NAME +(.*): which runtime/.exec(up)?.[1]?.split(' | ');
  t.deepEqual(offered, builtRuntimes());
  // A runtime is offered exactly when its module exists (kind is not written yet).
  t.deepEqual(offered, runtimeNames.filter((r) => existsSync(fileURLToPath(new URL(`../../cluster/runtimes/${r}/index.ts`, import.meta.url)))));
  t.true(offered?.includes('local') && offered.includes('docker'));
  t.regex(commandUsage('probe'), /--token T +the organisation's probe token \(required\)/);
  t.regex(commandUsage('logs'), /-f, --follow +keep printing/);
});

test('every runtime name is accepted by --runtime, whether built or not (createRuntime says what is missing)', (t) => {
  for (const r of runtimeNames) t.is(parse(['status', '--runtime', r]).kind, 'command', r);
});

test('--context and --kubeconfig pick the kubernetes runtime, are remembered by up for it, and are refused for another runtime', (t) => {
  const devDir = mkdtempSync(path.join(os.tmpdir(), 'dev-target-'));
  t.teardown(() => rmSync(devDir, { recursive: true, force: true }));
  t.deepEqual(pickTarget({ devDir }, {}), { name: 'local' });
  t.deepEqual(pickTarget({ devDir }, { context: 'kind-dev' }), { name: 'kubernetes', cluster: { context: 'kind-dev' } });
  t.deepEqual(pickTarget({ devDir }, { runtime: 'kubernetes', kubeconfig: 'k.yaml' }), { name: 'kubernetes', cluster: { kubeconfig: path.resolve('k.yaml') } });
  writeState(devDir, { runtime: 'kubernetes', cluster: { context: 'kind-dev', kubeconfig: '/etc/k.yaml' } });
  t.deepEqual(pickTarget({ devDir }, {}), { name: 'kubernetes', cluster: { context: 'kind-dev', kubeconfig: '/etc/k.yaml' } });
  t.deepEqual(pickTarget({ devDir }, { context: 'other' }), { name: 'kubernetes', cluster: { context: 'other', kubeconfig: '/etc/k.yaml' } });
  t.deepEqual(pickTarget({ devDir }, { runtime: 'local' }), { name: 'local' });
  t.throws(() => pickTarget({ devDir }, { runtime: 'docker', context: 'kind-dev' }), { message: /--context applies only to --runtime kubernetes \(not docker\).*dev up --runtime kubernetes --context NAME/ });
});
