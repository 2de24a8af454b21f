import type { EngineEvent } from '../../cluster/events.ts';

/**
 * Whatever shows the engine's events: plain lines (cli/render/plain.ts) now, an Ink view (cli/ui/) later.
 * Commands only ever talk to this interface, so a renderer can be swapped without touching them.
 */
export interface Renderer {
  event(event: EngineEvent): void;
  /** A line of the command's own output (a result, a table), kept apart from the event stream. */
  print(text: string): void;
  /** Flushes and releases the screen; call once when the command ends. */
  close(): Promise<void>;
}

export interface RendererOptions {
  /** Where the event lines go. */
  out: NodeJS.WritableStream;
  /** Where print() goes; defaults to out. */
  result?: NodeJS.WritableStream;
  /** Time zero of the elapsed column; defaults to now. */
  startedAt?: number;
  /** Show progress lines (on by default). */
  progress?: boolean;
}
