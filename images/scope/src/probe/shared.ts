/**
 * One request to a slow source (the Docker daemon, the Kubernetes API) shared by the scans that ask
 * while it is unanswered, so a source that hangs never makes requests (or waiting callers) pile up.
 */
export class SharedRequest<T> {
  private inflight: Promise<T> | undefined;
  private since = 0;

  constructor(private readonly run: () => Promise<T>) {}

  /**
   * The answer of the request in flight (starting one when none is), or undefined when it is not in
   * within `timeoutMs` of its start: once that has passed, callers get undefined at once, until it ends.
   */
  get(timeoutMs: number): Promise<T | undefined> {
    if (!this.inflight) {
      this.since = Date.now();
      this.inflight = this.run().finally(() => {
        this.inflight = undefined;
      });
    }
    const remaining = this.since + timeoutMs - Date.now();
    if (remaining <= 0) return Promise.resolve(undefined);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<undefined>((resolve) => {
      timer = setTimeout(resolve, remaining, undefined);
    });
    return Promise.race([this.inflight, timeout]).finally(() => clearTimeout(timer));
  }
}
