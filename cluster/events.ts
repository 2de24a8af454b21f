/**
 * The engine's one event stream. Every step the engine takes (create a cluster, build an image, start a
 * service, run a smoke-flow step) is reported as started → progress* → done | failed. cli/ renders these
 * (Ink on a TTY, plain lines otherwise); the engine never writes to the screen itself.
 */

/** A stable identifier for a step, e.g. "build/users", "service/users", "test/signup". */
export type StepId = string;

export type StepKind = 'cluster' | 'build' | 'load' | 'apply' | 'service' | 'test' | 'stop' | 'check';

export interface StepStarted {
  type: 'started';
  step: StepId;
  kind: StepKind;
  /** Human title, e.g. "build image users". */
  title: string;
  at: number;
}

export interface StepProgress {
  type: 'progress';
  step: StepId;
  /** One line of what is happening now, e.g. "waiting for /readyz (503)" or a build output line. */
  message: string;
  /** 0..1 when known. */
  fraction?: number;
  at: number;
}

export interface StepDone {
  type: 'done';
  step: StepId;
  /** Short result, e.g. "ready on 127.0.0.1:4046" or "unchanged". */
  message?: string;
  durationMs: number;
  at: number;
}

export interface Diagnosis {
  /** What went wrong, in one sentence. */
  summary: string;
  /** What the user should do next (a command to run, a flag to pass). */
  hint?: string;
  /** What was expected and what came back, when the step compared something. */
  expected?: string;
  actual?: string;
  /** The last log lines of whatever failed, oldest first. */
  logs?: { source: string; lines: string[] }[];
}

export interface StepFailed {
  type: 'failed';
  step: StepId;
  diagnosis: Diagnosis;
  durationMs: number;
  at: number;
}

/** A free-standing note (e.g. "made base image from host node", "already up: nothing to do"). */
export interface Notice {
  type: 'notice';
  level: 'info' | 'warn';
  message: string;
  at: number;
}

export type EngineEvent = StepStarted | StepProgress | StepDone | StepFailed | Notice;

export type EventSink = (event: EngineEvent) => void;

/** Runs fn as one step, reporting started and then done or failed. Rethrows a StepError after reporting it. */
export async function step<T>(
  emit: EventSink,
  id: StepId,
  kind: StepKind,
  title: string,
  fn: (progress: (message: string, fraction?: number) => void) => Promise<T>,
  doneMessage?: (result: T) => string | undefined,
): Promise<T> {
  const t0 = Date.now();
  emit({ type: 'started', step: id, kind, title, at: t0 });
  try {
    const result = await fn((message, fraction) => emit({ type: 'progress', step: id, message, fraction, at: Date.now() }));
    emit({ type: 'done', step: id, message: doneMessage?.(result), durationMs: Date.now() - t0, at: Date.now() });
    return result;
  } catch (err) {
    const diagnosis = err instanceof StepError ? err.diagnosis : { summary: (err as Error).message };
    emit({ type: 'failed', step: id, diagnosis, durationMs: Date.now() - t0, at: Date.now() });
    throw err instanceof StepError ? err : new StepError(diagnosis, { cause: err });
  }
}

/** An error that carries its diagnosis, so whoever reports it can show the hint and the log lines. */
export class StepError extends Error {
  constructor(
    readonly diagnosis: Diagnosis,
    options?: ErrorOptions,
  ) {
    super(diagnosis.summary, options);
    this.name = 'StepError';
  }
}

/**
 * The one state every view of a run reads (the Ink view, the plain lines, the smoke flow's result), folded from
 * the events by `fold`; nothing else keeps its own bookkeeping of steps.
 */

/** stopped: still running when the command ended (interrupted, or it failed elsewhere). */
export type StepPhase = 'pending' | 'running' | 'ok' | 'failed' | 'skipped' | 'stopped';

/** One step, folded from its started → progress* → done | failed events. */
export interface StepState {
  id: StepId;
  kind?: StepKind;
  title: string;
  phase: StepPhase;
  startedAt?: number;
  durationMs?: number;
  /** The latest progress line (running), the done message (ok) or the diagnosis' summary (failed). */
  detail?: string;
  fraction?: number;
  /** Recent progress lines of a running step (build output, readiness probes), newest last. */
  recent: string[];
  diagnosis?: Diagnosis;
}

export interface NoticeState {
  level: Notice['level'];
  message: string;
  at: number;
}

/** What has finished, in the order it finished: a step once done or failed, a notice when it came. */
export type Finished = { step: StepState } | { notice: NoticeState };

export interface RunState {
  steps: StepState[];
  finished: Finished[];
}

/** A step announced before it runs (the smoke flow's), pending until its first event. */
export interface PlannedStep {
  id: StepId;
  title: string;
}

const RECENT_LINES = 4;

export function initialState(plan: readonly PlannedStep[] = []): RunState {
  return { steps: plan.map((p) => ({ id: p.id, title: p.title, phase: 'pending', recent: [] })), finished: [] };
}

/** Folds one event into the state. Pure: returns a new object, so a view can tell the change by identity. */
export function fold(state: RunState, e: EngineEvent): RunState {
  if (e.type === 'notice') return { ...state, finished: [...state.finished, { notice: { level: e.level, message: e.message, at: e.at } }] };
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
      steps[i] = { ...s, phase: s.phase === 'pending' ? 'running' : s.phase, startedAt: s.startedAt ?? e.at, detail: e.message, fraction: e.fraction ?? s.fraction, recent: [...s.recent, e.message].slice(-RECENT_LINES) };
      break;
    case 'done':
      steps[i] = { ...s, phase: 'ok', durationMs: e.durationMs, detail: e.message, fraction: undefined, recent: [] };
      break;
    case 'failed':
      steps[i] = { ...s, phase: 'failed', durationMs: e.durationMs, diagnosis: e.diagnosis, detail: e.diagnosis.summary };
      break;
  }
  const now = steps[i]!;
  if (now.phase === 'ok' || now.phase === 'failed') return { steps, finished: [...state.finished, { step: now }] };
  return { ...state, steps };
}

/** Once the command has ended, steps that never started were skipped, and those under way were stopped. */
export function settle(state: RunState, at = Date.now()): RunState {
  if (!state.steps.some((s) => s.phase === 'pending' || s.phase === 'running')) return state;
  return {
    ...state,
    steps: state.steps.map((s) =>
      s.phase === 'pending' ? { ...s, phase: 'skipped' } : s.phase === 'running' ? { ...s, phase: 'stopped', durationMs: s.startedAt !== undefined ? at - s.startedAt : undefined } : s,
    ),
  };
}

/** How many steps are in each phase: the one total of a run that every view shows. */
export function totals(state: RunState): Record<StepPhase, number> {
  const count: Record<StepPhase, number> = { pending: 0, running: 0, ok: 0, failed: 0, skipped: 0, stopped: 0 };
  for (const s of state.steps) count[s.phase]++;
  return count;
}

/** The steps that finished (done or failed), in the order they finished; a step run twice is there twice. */
export function finishedSteps(state: RunState): StepState[] {
  return state.finished.flatMap((f) => ('step' in f ? [f.step] : []));
}

/** A step's title as its started event gave it, else its id. */
export function stepTitle(state: RunState, id: StepId): string {
  return state.steps.find((s) => s.id === id)?.title ?? id;
}
