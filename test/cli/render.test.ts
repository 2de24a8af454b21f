import test from 'ava';
import { PassThrough } from 'node:stream';
import type { EngineEvent } from '../../cluster/events.ts';
import { PlainRenderer, formatLogLine } from '../../cli/render/plain.ts';

function capture(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (d: Buffer) => (text += d));
  return { stream, text: () => text };
}

test('plain renderer: a step that passes and one that fails with its diagnosis and log lines', (t) => {
  const out = capture();
  const r = new PlainRenderer({ out: out.stream, startedAt: 1_000 });
  const events: EngineEvent[] = [
    { type: 'started', step: 'test/signup', kind: 'test', title: 'sign up a@example.com', at: 1_000 },
    { type: 'done', step: 'test/signup', message: '201', durationMs: 250, at: 1_250 },
    { type: 'started', step: 'test/map', kind: 'test', title: 'the map shows box', at: 1_250 },
    { type: 'progress', step: 'test/map', message: '503: the app is starting', at: 1_500 },
    { type: 'notice', level: 'warn', message: 'slow machine', at: 2_000 },
    {
      type: 'failed',
      step: 'test/map',
      durationMs: 31_000,
      at: 32_250,
      diagnosis: {
        summary: 'box did not appear on the map',
        expected: 'a node for host box',
        actual: '503 from http://127.0.0.1:4046/api/app/x/api/topology/hosts\n{"errors":[{"message":"starting"}]}',
        hint: 'see whether reports arrive: dev logs app-mapper',
        logs: [
          { source: 'app-mapper', lines: ['{"level":"error","time":"2026-01-01T10:00:00.000Z","service":"app-mapper","msg":"provision failed","err":{"message":"spawn ENOENT"}}', 'plain line'] },
          { source: 'users', lines: [] },
        ],
      },
    },
  ];
  for (const e of events) r.event(e);
  r.print('smoke flow FAILED');
  t.is(
    out.text(),
    [
      '[   0.0s] ▸ sign up a@example.com',
      '[   0.3s] ✓ sign up a@example.com (250 ms): 201',
      '[   0.3s] ▸ the map shows box',
      '[   0.5s]   · 503: the app is starting',
      '[   1.0s] ! slow machine',
      '[  31.3s] ✗ the map shows box (31.0 s): box did not appear on the map',
      '           expected: a node for host box',
      '           got:      503 from http://127.0.0.1:4046/api/app/x/api/topology/hosts',
      '                     {"errors":[{"message":"starting"}]}',
      '           hint:     see whether reports arrive: dev logs app-mapper',
      '           ── app-mapper (last 2 lines) ──',
      '           10:00:00 error provision failed: spawn ENOENT',
      '           plain line',
      '           ── users (last 0 lines) ──',
      '           (no log lines)',
      'smoke flow FAILED',
      '',
    ].join('\n'),
  );
});

test('plain renderer: progress lines can be left out, results go to their own stream', (t) => {
  const out = capture();
  const result = capture();
  const r = new PlainRenderer({ out: out.stream, result: result.stream, startedAt: 0, progress: false });
  r.event({ type: 'started', step: 's', kind: 'service', title: 'start users', at: 0 });
  r.event({ type: 'progress', step: 's', message: 'waiting for /readyz', fraction: 0.5, at: 10 });
  r.event({ type: 'done', step: 's', durationMs: 61_500, at: 61_500 });
  r.print('{"ok":true}');
  t.is(out.text(), '[   0.0s] ▸ start users\n[  61.5s] ✓ start users (1 min 2 s)\n');
  t.is(result.text(), '{"ok":true}\n');
});

test('log lines: pino JSON with a request is made readable, other text is kept', (t) => {
  t.is(formatLogLine('{"level":30,"time":1767261600000,"msg":"incoming request","req":{"method":"GET","url":"/api"}}'), '10:00:00 info  incoming request GET /api');
  t.is(formatLogLine('{"not":"pino"}'), '{"not":"pino"}');
  t.is(formatLogLine('{broken'), '{broken');
});
