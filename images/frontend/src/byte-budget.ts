/**
 * How many request-body bytes all requests in flight on a route may hold between them. A request reserves its
 * declared length (or the route's limit when it declares none) before its body is read, and gives it back when
 * its answer is done; one that does not fit is refused at once rather than queued.
 */
export class ByteBudget {
  private held = 0;

  constructor(readonly limit: number) {}

  /** Reserves `bytes`; false (nothing reserved) when they do not fit beside what is held. */
  reserve(bytes: number): boolean {
    if (this.held + bytes > this.limit) return false;
    this.held += bytes;
    return true;
  }

  release(bytes: number): void {
    this.held = Math.max(0, this.held - bytes);
  }

  get inUse(): number {
    return this.held;
  }
}
