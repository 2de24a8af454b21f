import { render, type Instance } from 'ink';
import { useSyncExternalStore } from 'react';
import { fold, initialState, settle, type EngineEvent, type PlannedStep, type RunState } from '../../cluster/events.ts';
import type { Renderer } from '../render/types.ts';
import { StepsView } from './StepsView.tsx';

export interface InkRendererOptions {
  /** The terminal (a TTY). */
  out: NodeJS.WriteStream;
  /** Where print() goes once the view is closed. */
  result: NodeJS.WritableStream;
  /** Shown on the status line, e.g. "dev up · local". */
  title: string;
  plan?: readonly PlannedStep[];
  startedAt?: number;
}

/** A tiny store so events arriving outside React become renders (batched by Ink's frame rate). */
class Store {
  state: RunState;
  ended: number | undefined;
  private listeners = new Set<() => void>();
  private snapshot: { state: RunState; ended: number | undefined };
  constructor(plan: readonly PlannedStep[]) {
    this.state = initialState(plan);
    this.snapshot = { state: this.state, ended: undefined };
  }
  update(state: RunState, ended?: number) {
    this.state = state;
    this.ended = ended ?? this.ended;
    this.snapshot = { state: this.state, ended: this.ended };
    for (const l of this.listeners) l();
  }
  subscribe = (l: () => void) => {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  };
  get = () => this.snapshot;
}

function Live({ store, title, startedAt }: { store: Store; title: string; startedAt: number }) {
  const { state, ended } = useSyncExternalStore(store.subscribe, store.get);
  return <StepsView title={title} state={state} startedAt={startedAt} ended={ended} />;
}

/**
 * The TTY renderer of `dev up` and `dev test`: every step with a spinner and its elapsed time, failures with
 * their diagnosis. It takes no keyboard input (Ctrl-C stays a signal), and print() output comes after the view.
 */
export class InkRenderer implements Renderer {
  private readonly store: Store;
  private readonly instance: Instance;
  private readonly result: NodeJS.WritableStream;
  private readonly printed: string[] = [];
  private closed = false;

  constructor(options: InkRendererOptions) {
    this.store = new Store(options.plan ?? []);
    this.result = options.result;
    const startedAt = options.startedAt ?? Date.now();
    this.instance = render(<Live store={this.store} title={options.title} startedAt={startedAt} />, {
      stdout: options.out,
      exitOnCtrlC: false,
      patchConsole: false,
      maxFps: 15,
    });
  }

  event(e: EngineEvent): void {
    if (this.closed) return;
    this.store.update(fold(this.store.state, e));
  }

  print(text: string): void {
    this.printed.push(text.endsWith('\n') ? text : `${text}\n`);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.store.update(settle(this.store.state), Date.now());
    // Let the last frame (the settled steps and the final status line) reach the terminal before leaving.
    await new Promise((r) => setTimeout(r, 80));
    this.instance.unmount();
    await this.instance.waitUntilExit().catch(() => undefined);
    if (this.printed.length) this.result.write(`\n${this.printed.join('')}`);
  }
}
