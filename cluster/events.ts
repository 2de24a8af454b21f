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
