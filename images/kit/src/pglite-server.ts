import type { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

interface QueuedMessage {
  handlerId: number;
  message: Uint8Array;
  onData: (data: Uint8Array) => void;
  resolve: (bytes: number) => void;
  reject: (error: Error) => void;
}

const READY_FOR_QUERY = 0x5a; // 'Z'
const IDLE = 0x49; // 'I': not in a transaction
const SYNC = new Uint8Array([0x53, 0, 0, 0, 4]);

/**
 * PGlite runs one backend; pglite-socket multiplexes connections onto it message by message, so the
 * Parse/Bind/Execute/Sync of one pg client interleave with another's and overwrite its unnamed statement
 * (electric-sql/pglite#1046). This queue gives one connection the backend from its first message until the
 * backend says ReadyForQuery(idle), i.e. for a whole query cycle or transaction, and only then lets the next
 * connection in. It has the shape of pglite-socket's own queue, which the server hands to each connection.
 */
class QueryCycleQueue {
  private queue: QueuedMessage[] = [];
  private processing = false;
  /** The connection that holds the backend mid-cycle, or null when the backend is idle. */
  private owner: number | null = null;

  constructor(private readonly db: PGlite) {}

  enqueue(handlerId: number, message: Uint8Array, onData: (data: Uint8Array) => void): Promise<number> {
    return new Promise((resolve, reject) => {
      this.queue.push({ handlerId, message, onData, resolve, reject });
      void this.process();
    });
  }

  clearQueueForHandler(handlerId: number): void {
    this.queue = this.queue.filter((q) => {
      if (q.handlerId !== handlerId) return true;
      q.reject(new Error('Handler disconnected'));
      return false;
    });
  }

  /** A connection that went away mid-cycle must not keep the backend: end its cycle and roll back. */
  async clearTransactionIfNeeded(handlerId: number): Promise<void> {
    if (this.owner !== handlerId) return;
    await this.db.runExclusive(() => this.db.execProtocolRawStream(SYNC, { onRawData: () => undefined }));
    // exec takes PGlite's lock itself, so it must run outside runExclusive.
    if (this.db.isInTransaction()) await this.db.exec('ROLLBACK');
    this.owner = null;
    void this.process();
  }

  getQueueLength(): number {
    return this.queue.length;
  }

  private async process(): Promise<void> {
    if (this.processing) return;
    this.processing = true;
    try {
      for (;;) {
        const i = this.owner === null ? 0 : this.queue.findIndex((q) => q.handlerId === this.owner);
        if (i < 0 || this.queue.length === 0) break;
        const [next] = this.queue.splice(i, 1);
        if (!next) break;
        let bytes = 0;
        let tail: Uint8Array = new Uint8Array(0);
        try {
          await this.db.runExclusive(() =>
            this.db.execProtocolRawStream(next.message, {
              onRawData: (data: Uint8Array) => {
                bytes += data.length;
                tail = lastBytes(tail, data, 6);
                next.onData(data);
              },
            }),
          );
        } catch (err) {
          next.reject(err as Error);
          continue;
        }
        const idle = tail.length === 6 && tail[0] === READY_FOR_QUERY && tail[4] === 5 && tail[5] === IDLE;
        this.owner = idle ? null : next.handlerId;
        next.resolve(bytes);
      }
    } finally {
      this.processing = false;
    }
  }
}

function lastBytes(previous: Uint8Array, data: Uint8Array, n: number): Uint8Array {
  if (data.length >= n) return data.slice(data.length - n);
  const joined = new Uint8Array(previous.length + data.length);
  joined.set(previous);
  joined.set(data, previous.length);
  return joined.slice(Math.max(0, joined.length - n));
}

export interface PgliteServerOptions {
  db: PGlite;
  host: string;
  port: number;
  maxConnections?: number;
}

/** PGlite on the Postgres wire protocol, safe for several pooled pg connections at once. */
export function createPgliteServer(options: PgliteServerOptions): PGLiteSocketServer {
  const server = new PGLiteSocketServer({ ...options, maxConnections: options.maxConnections ?? 32 });
  // pglite-socket's queue is private; ours replaces it before any connection is handed it.
  (server as unknown as { queryQueue: QueryCycleQueue }).queryQueue = new QueryCycleQueue(options.db);
  return server;
}
