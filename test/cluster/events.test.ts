import test from 'ava';
import { finishedSteps, fold, initialState, settle, step, stepTitle, totals, type EngineEvent, type RunState } from '../../cluster/events.ts';
import { SMOKE_PLAN, SMOKE_STEPS } from '../../cluster/smoke/steps.ts';

const events: EngineEvent[] = [
  { type: 'started', step: 'build/users', kind: 'build', title: 'bundle users', at: 0 },
  { type: 'started', step: 'build/frontend', kind: 'build', title: 'bundle frontend', at: 1 },
  { type: 'progress', step: 'build/users', message: 'esbuild', fraction: 0.5, at: 2 },
  { type: 'notice', level: 'info', message: 'base image reused', at: 3 },
  { type: 'failed', step: 'build/frontend', diagnosis: { summary: 'syntax error' }, durationMs: 4, at: 5 },
  { type: 'done', step: 'build/users', message: 'built', durationMs: 6, at: 6 },
];

test('fold: every phase and the order things finished in, without touching the state it was given', (t) => {
  const states: RunState[] = [initialState()];
  for (const e of events) states.push(fold(states.at(-1)!, e));
  const copies = states.map((s) => JSON.stringify(s));
  const last = states.at(-1)!;
  t.deepEqual(states.map((s) => JSON.stringify(s)), copies);
  t.deepEqual(last.steps.map((s) => [s.id, s.phase, s.detail]), [
    ['build/users', 'ok', 'built'],
    ['build/frontend', 'failed', 'syntax error'],
  ]);
  t.deepEqual(
    last.finished.map((f) => ('step' in f ? f.step.id : f.notice.message)),
    ['base image reused', 'build/frontend', 'build/users'],
  );
  t.deepEqual(finishedSteps(last).map((s) => s.id), ['build/frontend', 'build/users']);
  t.like(totals(last), { ok: 1, failed: 1, running: 0 });
  t.like(totals(states[3]!), { running: 2 });
  t.is(stepTitle(last, 'build/users'), 'bundle users');
  t.is(stepTitle(last, 'nope'), 'nope');
  // Each fold is a new object: a view can tell a change by identity.
  t.not(states[1], states[2]);
});

test('fold of a plan: pending until it starts; settle skips what never started and stops what was running', (t) => {
  let state = initialState(SMOKE_PLAN);
  t.is(totals(state).pending, SMOKE_STEPS.length);
  state = fold(state, { type: 'started', step: SMOKE_PLAN[0]!.id, kind: 'test', title: 'sign up a@example.com', at: 100 });
  const settled = settle(state, 350);
  t.like(totals(settled), { stopped: 1, skipped: SMOKE_STEPS.length - 1, pending: 0, running: 0 });
  t.is(settled.steps[0]!.durationMs, 250);
  t.is(settled.steps[0]!.title, 'sign up a@example.com');
  t.is(settle(settled), settled, 'nothing left to settle: the same state');
});

test('the TUI plan is the smoke steps, in their order', (t) => {
  t.deepEqual(SMOKE_PLAN, SMOKE_STEPS.map((s) => ({ id: s.id, title: s.title })));
  t.deepEqual(SMOKE_STEPS.filter((s) => s.cleanup).map((s) => s.id), ['test/probe-stop']);
});

test('step(): the events it reports fold into one finished step, and a failure keeps its diagnosis', async (t) => {
  let state = initialState();
  const emit = (e: EngineEvent) => (state = fold(state, e));
  await step(emit, 'a', 'check', 'check a', async (progress) => progress('half', 0.5), () => 'fine');
  await t.throwsAsync(step(emit, 'b', 'check', 'check b', async () => Promise.reject(new Error('broken'))), { message: 'broken' });
  t.deepEqual(finishedSteps(state).map((s) => [s.id, s.phase, s.detail, s.diagnosis?.summary]), [
    ['a', 'ok', 'fine', undefined],
    ['b', 'failed', 'broken', 'broken'],
  ]);
});
