/** The Ink components, rendered with ink-testing-library: the steps view, the status tables, the log and mail panes. */
import test from 'ava';
import { Writable } from 'node:stream';
import { createElement as h } from 'react';
import { render } from 'ink-testing-library';
import nodemailer from 'nodemailer';
import { startMaildev, waitFor } from '@saas/kit/testing';
import type { EngineEvent } from '../../cluster/events.ts';
import type { SystemStatus } from '../../cluster/runtime.ts';
import { LogPane, type LogSource } from '../../cli/ui/LogPane.tsx';
import { MailPane } from '../../cli/ui/MailPane.tsx';
import { fold, initialState, settle, type RunState } from '../../cluster/events.ts';
import { SMOKE_PLAN } from '../../cluster/smoke/steps.ts';
import { InkRenderer } from '../../cli/ui/renderer.tsx';
import { StatusApp, StatusTables } from '../../cli/ui/StatusApp.tsx';
import { StepsView } from '../../cli/ui/StepsView.tsx';
import { mailLinks } from '../../cli/ui/mail.ts';

const strip = (s: string | undefined) => (s ?? '').replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
const T0 = 1_700_000_000_000;

/** `dev up` as the engine reports it, ending in a service that never got ready. */
const upEvents: EngineEvent[] = [
  { type: 'started', step: 'check/ports', kind: 'check', title: 'allocate loopback ports', at: T0 },
  { type: 'done', step: 'check/ports', message: '8 ports', durationMs: 12, at: T0 + 12 },
  { type: 'started', step: 'build/users', kind: 'build', title: 'bundle images/users', at: T0 + 20 },
  { type: 'progress', step: 'build/users', message: 'esbuild main.ts', fraction: 0.5, at: T0 + 100 },
  { type: 'done', step: 'build/users', message: 'built in 250 ms', durationMs: 250, at: T0 + 270 },
  { type: 'notice', level: 'warn', message: 'port 4046 is taken; the frontend gets 4051', at: T0 + 280 },
  { type: 'started', step: 'service/users', kind: 'service', title: 'start users', at: T0 + 300 },
  { type: 'started', step: 'service/frontend', kind: 'service', title: 'start frontend', at: T0 + 300 },
  { type: 'progress', step: 'service/users', message: 'waiting for readiness: GET /readyz → 503', at: T0 + 1300 },
  { type: 'progress', step: 'service/frontend', message: 'waiting for readiness: GET /readyz: ECONNREFUSED', at: T0 + 1400 },
  { type: 'done', step: 'service/frontend', message: 'ready on 127.0.0.1:4051', durationMs: 2100, at: T0 + 2400 },
  {
    type: 'failed',
    step: 'service/users',
    durationMs: 30_000,
    at: T0 + 30_300,
    diagnosis: {
      summary: 'users did not get ready in 30 s',
      expected: 'GET /readyz → 200',
      actual: 'GET /readyz → 503 {"errors":[{"message":"database not reachable"}]}',
      hint: 'dev logs users',
      logs: [
        {
          source: 'users',
          lines: [
            '{"level":30,"time":1700000001000,"msg":"listening on 127.0.0.1:4047"}',
            '{"level":50,"time":1700000002000,"msg":"database not reachable","err":{"message":"connect ECONNREFUSED 127.0.0.1:5432"}}',
            'a plain line',
          ],
        },
      ],
    },
  },
];

test('steps view: finished steps with their times, the failure with its diagnosis and readable log lines', (t) => {
  const state = upEvents.reduce(fold, initialState());
  const view = render(h(StepsView, { title: 'dev up', state, startedAt: T0, ended: T0 + 30_400 }));
  const frame = strip(view.lastFrame());
  view.unmount();
  t.regex(frame, /✓ allocate loopback ports +8 ports +0\.0s/);
  t.regex(frame, /✓ bundle images\/users +built in 250 ms +0\.3s/);
  t.regex(frame, /! port 4046 is taken; the frontend gets 4051/);
  t.regex(frame, /✓ start frontend +ready on 127\.0\.0\.1:4051 +2\.1s/);
  t.regex(frame, /✗ start users +30\.0s/);
  t.regex(frame, /users did not get ready in 30 s/);
  t.regex(frame, /expected GET \/readyz → 200/);
  t.regex(frame, /got +GET \/readyz → 503/);
  t.regex(frame, /hint +dev logs users/);
  t.regex(frame, /── users · last 3 lines/);
  t.regex(frame, /\d\d:\d\d:\d\d error database not reachable: connect ECONNREFUSED 127\.0\.0\.1:5432/);
  t.regex(frame, /a plain line/);
  t.regex(frame, /✗ dev up +3 done · 1 failed/);
  // Finished steps appear in the order they finished.
  t.true(frame.indexOf('start frontend') < frame.indexOf('start users'));
});

test('steps view: a running step shows its spinner, progress bar and recent lines; pending steps wait below', (t) => {
  let state: RunState = initialState(SMOKE_PLAN);
  state = fold(state, { type: 'started', step: 'test/signup', kind: 'test', title: 'sign up a@example.com', at: T0 });
  state = fold(state, { type: 'done', step: 'test/signup', message: '200', durationMs: 150, at: T0 + 150 });
  state = fold(state, { type: 'started', step: 'test/welcome-mail', kind: 'test', title: 'welcome mail arrives', at: T0 + 200 });
  state = fold(state, { type: 'progress', step: 'test/welcome-mail', message: 'polling the mail capture', at: T0 + 300 });
  state = fold(state, { type: 'progress', step: 'test/welcome-mail', message: 'no mail yet', fraction: 0.3, at: T0 + 400 });
  const view = render(h(StepsView, { title: 'dev test', state, startedAt: T0 }));
  const frame = strip(view.lastFrame());
  view.unmount();
  t.regex(frame, /✓ sign up a@example\.com +200 +0\.1s/);
  t.regex(frame, /[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] welcome mail arrives +███░░░░░░░ +30% no mail yet/);
  t.regex(frame, /^ +polling the mail capture$/m);
  t.regex(frame, /· approve in the users admin/);
  t.regex(frame, /· stop the probe/);
  t.regex(frame, /dev test +1 done · 1 running/);
  // When the command ends, what never started was skipped.
  const settled = settle(state);
  t.is(settled.steps.filter((s) => s.phase === 'skipped').length, 7);
  t.deepEqual(settled.steps.filter((s) => s.phase === 'stopped').map((s) => s.id), ['test/welcome-mail']);
});

/** A terminal-like stream: Ink draws to it as it would to a TTY. */
function fakeTty(columns = 80) {
  let text = '';
  const out = new Writable({
    write(chunk: Buffer, _enc, cb) {
      text += chunk.toString();
      cb();
    },
  }) as Writable & { isTTY: boolean; columns: number; rows: number };
  out.isTTY = true;
  out.columns = columns;
  out.rows = 24;
  return { out: out as unknown as NodeJS.WriteStream, text: () => text };
}

test('InkRenderer: events drawn live; print() output comes after the view has been closed', async (t) => {
  const screen = fakeTty();
  const result = fakeTty();
  const r = new InkRenderer({ out: screen.out, result: result.out, title: 'dev up', startedAt: T0 });
  for (const e of upEvents.slice(0, 5)) r.event(e);
  r.print('7 services ready');
  t.is(result.text(), '');
  await r.close();
  t.regex(strip(screen.text()), /✓ bundle images\/users/);
  t.regex(strip(screen.text()), /✓ dev up +2 done/);
  t.is(result.text(), '\n7 services ready\n');
  r.event(upEvents[5]!); // after close: ignored, no throw
});

const status: SystemStatus = {
  runtime: 'local',
  up: true,
  endpoints: { frontend: 'http://127.0.0.1:4046', users: 'http://127.0.0.1:4047', mail: 'http://127.0.0.1:4048' },
  services: [
    { name: 'app-mapper', ready: true, state: 'running', restarts: 0, startedAt: T0 - 65_000, urls: { http: 'http://127.0.0.1:4049' }, pid: 10 },
    { name: 'users', ready: false, state: 'backoff', restarts: 3, startedAt: T0 - 5_000, urls: { http: 'http://127.0.0.1:4047' }, message: 'exited with code 1: database not reachable at postgresql://127.0.0.1:5432/users' },
    { name: 'users-db', ready: true, state: 'running', restarts: 0, startedAt: T0 - 3_700_000, urls: { postgres: 'postgresql://127.0.0.1:40563/a/really/long/path/that/cannot/fit/in/eighty/columns' } },
  ],
  apps: [{ org: 'q1w2e3r4t5', state: 'running', url: 'http://127.0.0.1:41093', pid: 4242 }],
};

for (const width of [80, 120, 60]) {
  test(`status tables fit ${width} columns`, (t) => {
    const view = render(h(StatusTables, { status, selected: 1, width, height: 20, now: T0 }));
    const lines = strip(view.lastFrame()).split('\n');
    view.unmount();
    for (const l of lines) t.true(l.length <= width, `${l.length} > ${width}: ${l}`);
    const text = lines.join('\n');
    t.regex(text, /SERVICE +READY +STATE/);
    t.regex(text, /^  app-mapper +● +running +0 +1m05s/m);
    t.regex(text, /^▸ users +○ +backof/m);
    t.regex(text, /1h01m/);
    t.regex(text, /SCOPE APPS 1/);
    t.regex(text, /q1w2e3r4t5 +running +http:\/\/127\.0\.0\.1:41093 +4242/);
  });
}

test('status app: header, footer with the keys, selection moves with j/k (several keys in one read too)', async (t) => {
  const runtime = { status: async () => status, logs: async () => {}, restart: async () => {} };
  const view = render(h(StatusApp, { runtime, initial: status, refreshMs: 60_000 }));
  t.teardown(() => view.unmount());
  t.regex(strip(view.lastFrame()), /dev status +runtime local 2\/3 ready/);
  t.regex(strip(view.lastFrame()), /↑↓ select +l logs +r restart +m mail/);
  t.regex(strip(view.lastFrame()), /^▸ app-mapper/m);
  view.stdin.write('jj'); // two keys in one read
  await waitFor('selection on users-db', async () => /^▸ users-db/m.test(strip(view.lastFrame())), 5000);
  view.stdin.write('k');
  await waitFor('selection on users', async () => /^▸ users /m.test(strip(view.lastFrame())), 5000);
  view.unmount();
  t.pass();
});

test('log pane: pino JSON made readable, following at the tail; scrolling back pauses it', async (t) => {
  const lines = Array.from({ length: 40 }, (_, i) => JSON.stringify({ level: i === 39 ? 40 : 30, time: T0 + i * 1000, msg: `line ${i}` }));
  let stopped = false;
  const source: LogSource = async (onLine, signal) => {
    for (const l of lines) onLine(l);
    await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    stopped = true;
  };
  let back = 0;
  const view = render(h(LogPane, { title: 'users', source, width: 80, height: 12, onBack: () => back++ }));
  t.teardown(() => view.unmount());
  await waitFor('the tail', async () => strip(view.lastFrame()).includes('line 39'), 5000);
  let frame = strip(view.lastFrame());
  t.regex(frame, /logs +users +following/);
  t.regex(frame, /\d\d:\d\d:\d\d warn +line 39/);
  t.notRegex(frame, /line 29\b/); // 10 lines of room
  t.regex(frame, /40 lines/);
  view.stdin.write('k'); // up (the arrow key is exercised in a real terminal in terminal.test.ts)
  await waitFor('scrolled', async () => strip(view.lastFrame()).includes('1 line up'), 5000).catch((err: Error) => { throw new Error(`${err.message}:\n${strip(view.lastFrame())}`); });
  frame = strip(view.lastFrame());
  t.notRegex(frame, /line 39/);
  t.regex(frame, /line 38/);
  view.stdin.write('G');
  await waitFor('following again', async () => strip(view.lastFrame()).includes('following'), 5000);
  view.stdin.write('\x1b');
  await waitFor('back', async () => back === 1, 5000);
  view.unmount();
  await waitFor('the source stopped', async () => stopped, 5000);
  t.pass();
});

test('mail pane against a real maildev: the list, a mail read, its links', async (t) => {
  t.timeout(60_000);
  const maildev = await startMaildev();
  t.teardown(() => maildev.stop());
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port: maildev.smtpPort, secure: false, ignoreTLS: true });
  await transport.sendMail({
    from: 'noreply@scope.local',
    to: 'ann@example.com',
    subject: 'Your account is ready',
    text: 'Hello,\n\nLog in: http://127.0.0.1:4046/login?email=ann%40example.com&token=abc123\n',
    html: '<p>Hello,</p><p><a href="http://127.0.0.1:4046/login?email=ann%40example.com&amp;token=abc123">Log in</a> or see <a href="https://example.com/help">help</a></p>',
  });
  await transport.sendMail({ from: 'noreply@scope.local', to: 'bob@example.com', subject: 'Welcome', text: 'You are on the list.' });
  await maildev.waitForMail('bob@example.com', /Welcome/);
  let back = 0;
  const view = render(h(MailPane, { base: maildev.webUrl, width: 80, height: 20, onBack: () => back++, refreshMs: 200 }));
  t.teardown(() => view.unmount());
  await waitFor('two mails', async () => strip(view.lastFrame()).includes('2 captured'), 10_000);
  let frame = strip(view.lastFrame());
  t.regex(frame, /TIME +TO +SUBJECT/);
  t.regex(frame, /^▸ \d\d:\d\d:\d\d +bob@example\.com +Welcome/m); // newest first
  t.regex(frame, /ann@example\.com +Your account is ready/);
  view.stdin.write('j');
  await waitFor('second selected', async () => /^▸ .*ann@example\.com/m.test(strip(view.lastFrame())), 5000);
  view.stdin.write('\r');
  await waitFor('the mail open', async () => strip(view.lastFrame()).includes('links (2):'), 10_000);
  frame = strip(view.lastFrame());
  t.regex(frame, /mail +Your account is ready/);
  t.regex(frame, /from noreply@scope\.local +to ann@example\.com/);
  t.regex(frame, /Log in: http/);
  t.regex(frame, /\[1\] http:\/\/127\.0\.0\.1:4046\/login\?email=ann%40example\.com&token=abc123/);
  t.regex(frame, /\[2\] https:\/\/example\.com\/help/);
  view.stdin.write('\x1b');
  await waitFor('the list again', async () => strip(view.lastFrame()).includes('2 captured'), 5000);
  t.is(back, 0);
  view.stdin.write('\x1b');
  await waitFor('back', async () => back === 1, 5000);
  view.unmount();
});

test('mail links: html hrefs (entities decoded) then text URLs, each once', (t) => {
  t.deepEqual(
    mailLinks({ id: '1', html: '<a href="http://a/x?b=1&amp;c=2">x</a>', text: 'see http://a/x?b=1&c=2 and (http://b/y).' }),
    ['http://a/x?b=1&c=2', 'http://b/y'],
  );
});

test('pty pane: a child in a pseudo-terminal, its colours kept and its redraws (\\r, cursor moves) applied', async (t) => {
  t.timeout(30_000);
  const script = [
    "process.stdout.write('\\x1b[31mred\\x1b[0m plain\\n');",
    "process.stdout.write('progress 10%\\rprogress 100%\\n');",
    "process.stdout.write('gone\\x1b[2K\\rkept\\n');",
    "process.stdout.write('cols ' + process.stdout.columns + ' tty ' + process.stdout.isTTY + '\\n');",
    'process.exit(3);',
  ].join('');
  let exit: number | undefined;
  const { startPtyPane } = await import('../../cli/ui/pty-pane.ts');
  const pane = startPtyPane({ command: process.execPath, args: ['-e', script], cols: 50, rows: 10, onUpdate: () => {}, onExit: (c) => (exit = c) });
  t.teardown(() => pane.kill());
  await waitFor('the child to end', async () => exit !== undefined, 20_000);
  t.is(exit, 3);
  t.is(pane.exitCode, 3);
  const lines = pane.lines();
  t.regex(lines[0]!, /\x1b\[[0-9;]*31m.*red.*\x1b\[0m plain/);
  t.deepEqual(lines.slice(1, 4).map(strip), ['progress 100%', 'kept', 'cols 50 tty true']);
});
