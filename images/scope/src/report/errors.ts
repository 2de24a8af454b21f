/** A body that is not a usable report. `message` is fit to show the sender. */
export class DecodeError extends Error {
  constructor(
    message: string,
    /** 400 for a malformed report, 413 when it inflates or grows past a limit */
    readonly statusCode = 400,
  ) {
    super(message);
    this.name = 'DecodeError';
  }
}

/**
 * Most nodes one topology of one report may hold. Weave Scope's own app drops a topology past 10,000 nodes;
 * here the whole report is refused, so the probe's sender learns why instead of seeing a map with holes.
 */
export const MAX_NODES_PER_TOPOLOGY = 10_000;

export function tooManyNodes(topology: string, count: number, limit: number): DecodeError {
  return new DecodeError(`${topology} has ${count} nodes; a report may hold at most ${limit} per topology`, 413);
}
