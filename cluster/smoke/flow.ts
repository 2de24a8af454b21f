import { StepError, finishedSteps, fold, initialState, step, type Diagnosis, type EngineEvent, type RunState, type StepState } from '../events.ts';
import { Unexpected } from './http.ts';
import { preloadProbe } from './probe.ts';
import { openSession, type SmokeOptions, type SmokeSession } from './session.ts';
import { SMOKE_STEPS, type SmokeStep } from './steps.ts';

export type { SmokeOptions };
export { findLoginLink } from './mail.ts';
export { preloadProbe } from './probe.ts';

export interface SmokeStepResult {
  step: string;
  title: string;
  ok: boolean;
  durationMs: number;
  message?: string;
  diagnosis?: Diagnosis;
}

export interface SmokeResult {
  ok: boolean;
  email: string;
  organization?: string;
  durationMs: number;
  steps: SmokeStepResult[];
  /** The step that failed and why, when ok is false. */
  failure?: { step: string; title: string; diagnosis: Diagnosis };
}

const LOG_LINES = 20;

/**
 * Runs the smoke flow's steps (steps.ts) in order as engine steps; the first failure stops the flow with a
 * diagnosis, then the clean-up steps run. The result is read from the folded events, as every view reads them.
 */
export async function runSmoke(options: SmokeOptions): Promise<SmokeResult> {
  const session = openSession(options);
  const t0 = Date.now();
  if (!options.startProbe) preloadProbe();

  let state: RunState = initialState();
  const emit = (e: EngineEvent) => {
    state = fold(state, e);
    options.emit(e);
  };
  const run = (s: SmokeStep) => step(emit, s.id, 'test', s.runTitle?.(session) ?? s.title, (progress) => diagnosed(s, session, options, progress), (message) => message);

  try {
    for (const s of SMOKE_STEPS) if (!s.cleanup) await run(s);
  } catch (err) {
    if (!(err instanceof StepError)) throw err;
  } finally {
    for (const s of SMOKE_STEPS) {
      // A failed clean-up is in the state like any failed step (step() reported it); it does not stop the others.
      if (s.cleanup?.(session)) await run(s).catch(() => undefined);
    }
  }

  const finished = finishedSteps(state);
  const failed = finished.find((s) => s.phase === 'failed');
  return {
    ok: failed === undefined,
    email: session.email,
    ...(session.organization ? { organization: session.organization } : {}),
    durationMs: Date.now() - t0,
    steps: finished.map(stepResult),
    ...(failed ? { failure: { step: failed.id, title: failed.title, diagnosis: failed.diagnosis ?? { summary: failed.detail ?? 'failed' } } } : {}),
  };
}

/** Runs one step; an Unexpected thrown inside becomes a diagnosis with the step's services' last log lines. */
async function diagnosed(s: SmokeStep, session: SmokeSession, options: SmokeOptions, progress: (m: string) => void): Promise<string | undefined> {
  try {
    return await s.run(session, progress);
  } catch (err) {
    if (err instanceof StepError) throw err;
    if (session.signal?.aborted) throw new StepError({ summary: 'interrupted' }, { cause: err });
    const u = err instanceof Unexpected ? err : undefined;
    const diagnosis: Diagnosis = { summary: u?.summary ?? (err as Error).message };
    if (u) {
      diagnosis.expected = u.expected;
      diagnosis.actual = u.actual;
      if (u.hint) diagnosis.hint = u.hint;
    }
    diagnosis.logs = await collectLogs(s.services, options.logs);
    const hint = diagnosis.hint ?? (s.services.length ? `see the full log: dev logs ${s.services[0]}` : undefined);
    if (hint !== undefined) diagnosis.hint = hint;
    throw new StepError(diagnosis, { cause: err });
  }
}

async function collectLogs(services: readonly string[], logs: SmokeOptions['logs']): Promise<NonNullable<Diagnosis['logs']>> {
  if (!logs) return [];
  const out: NonNullable<Diagnosis['logs']> = [];
  for (const s of services) {
    try {
      out.push({ source: s, lines: await logs(s, LOG_LINES) });
    } catch (err) {
      out.push({ source: s, lines: [`(could not read the log: ${(err as Error).message})`] });
    }
  }
  return out;
}

function stepResult(s: StepState): SmokeStepResult {
  const ok = s.phase === 'ok';
  return {
    step: s.id,
    title: s.title,
    ok,
    durationMs: s.durationMs ?? 0,
    ...(ok && s.detail ? { message: s.detail } : {}),
    ...(!ok && s.diagnosis ? { diagnosis: s.diagnosis } : {}),
  };
}
