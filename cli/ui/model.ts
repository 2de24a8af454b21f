import type { Diagnosis, EngineEvent, StepKind } from '../../cluster/events.ts';

/** stopped: still running when the command ended (interrupted, or it failed elsewhere). */
export type StepPhase = 'pending' | 'running' | 'ok' | 'failed' | 'skipped' | 'stopped';

/** One step as the screen shows it, folded from its started → progress* → done | failed events. */
export interface StepView {
  id: string;
  kind?: StepKind;
  title: string;
  phase: StepPhase;
  startedAt?: number;
  durationMs?: number;
  /** The latest progress line (running) or the done message. */
  detail?: string;
  fraction?: number;
  /** Recent progress lines of a running step (build output, readiness probes), newest last. */
  recent: string[];
  diagnosis?: Diagnosis;
}

export interface NoticeView {
  level: 'info' | 'warn';
  message: string;
  at: number;
}

/** What has finished, in the order it finished: printed once above the live part and never redrawn. */
export type Finished = { key: string; step: StepView } | { key: string; notice: NoticeView };

export interface StepsState {
  steps: StepView[];
  finished: Finished[];
}

/** Steps announced before they run (e.g. the smoke flow), shown as pending until their first event. */
export interface PlannedStep {
  id: string;
  title: string;
}

const RECENT = 4;

export function initialState(plan: PlannedStep[] = []): StepsState {
  return { steps: plan.map((p) => ({ id: p.id, title: p.title, phase: 'pending', recent: [] })), finished: [] };
}

/** Folds one event into the state; returns a new object so React sees the change. */
export function reduce(state: StepsState, e: EngineEvent): StepsState {
  if (e.type === 'notice') return { ...state, finished: [...state.finished, { key: `n${state.finished.length}`, notice: { level: e.level, message: e.message, at: e.at } }] };
  const steps = state.steps.slice();
  let i = steps.findIndex((s) => s.id === e.step);
  if (i < 0) {
    steps.push({ id: e.step, title: e.step, phase: 'running', recent: [] });
    i = steps.length - 1;
  }
  const s = steps[i]!;
  switch (e.type) {
    case 'started':
      steps[i] = { id: s.id, kind: e.kind, title: e.title, phase: 'running', startedAt: e.at, recent: [] };
      break;
    case 'progress':
      steps[i] = { ...s, phase: s.phase === 'pending' ? 'running' : s.phase, startedAt: s.startedAt ?? e.at, detail: e.message, fraction: e.fraction ?? s.fraction, recent: [...s.recent, e.message].slice(-RECENT) };
      break;
    case 'done':
      steps[i] = { ...s, phase: 'ok', durationMs: e.durationMs, detail: e.message, fraction: undefined, recent: [] };
      break;
    case 'failed':
      steps[i] = { ...s, phase: 'failed', durationMs: e.durationMs, diagnosis: e.diagnosis, detail: e.diagnosis.summary };
      break;
  }
  const now = steps[i]!;
  if (now.phase === 'ok' || now.phase === 'failed') return { steps, finished: [...state.finished, { key: `s${state.finished.length}`, step: now }] };
  return { ...state, steps };
}

/** Once the command has ended, steps that never started were skipped, and those under way were stopped. */
export function settle(state: StepsState, at = Date.now()): StepsState {
  if (!state.steps.some((s) => s.phase === 'pending' || s.phase === 'running')) return state;
  return {
    ...state,
    steps: state.steps.map((s) =>
      s.phase === 'pending' ? { ...s, phase: 'skipped' } : s.phase === 'running' ? { ...s, phase: 'stopped', durationMs: s.startedAt !== undefined ? at - s.startedAt : undefined } : s,
    ),
  };
}

/** The smoke flow's steps in order (cluster/smoke/flow.ts), so `dev test` can show what is still to come. */
export const SMOKE_PLAN: PlannedStep[] = [
  { id: 'test/signup', title: 'sign up' },
  { id: 'test/welcome-mail', title: 'welcome mail arrives' },
  { id: 'test/approve', title: 'approve in the users admin' },
  { id: 'test/login-mail', title: 'login link arrives' },
  { id: 'test/login', title: 'log in with the link' },
  { id: 'test/token', title: 'read the probe token' },
  { id: 'test/probe', title: 'start a probe' },
  { id: 'test/map', title: 'the map shows this host' },
  { id: 'test/probe-stop', title: 'stop the probe' },
];
