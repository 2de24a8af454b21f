/**
 * A live copy of a list of Kubernetes objects, kept by uid: list (for a resourceVersion), then watch from it.
 * On 410 Gone (an ERROR event or the response) it relists; after any other end of the stream it re-watches
 * from the last resourceVersion it saw, waiting 250 ms doubling to 5 s between failed attempts (reset by a
 * healthy watch: one that delivered an event or stayed open 10 s), so a failing apiserver gets no request storm. client-node 1.4's Watch has no
 * client-side timeout: a stream silent for idleMs (no event, no bookmark) is aborted and re-watched.
 *
 * client-node's own ListWatch (makeInformer) is not used: it stops for good on any error other than 410,
 * re-watches at once after every server-side close (no backoff), has no idle timeout, and keys by name.
 */
import { Watch, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';
import type { Kube } from './client.ts';

export interface WatchSelectors {
  labelSelector?: string;
  fieldSelector?: string;
}

export interface WatchSource<T extends KubernetesObject> {
  /** The collection's API path, e.g. /api/v1/namespaces/NS/pods. */
  path: string;
  /** Lists the same collection with the same selectors (the typed API call for path). */
  list: (selectors: WatchSelectors) => Promise<KubernetesListObject<T>>;
  selectors?: WatchSelectors;
  /** Server-side end of each watch request, in seconds (the apiserver's own default when unset). */
  timeoutSeconds?: number;
}

export interface Restart {
  kind: 'relist' | 'rewatch';
  reason: string;
  delayMs: number;
}

export interface WatchListOptions {
  /** Watch from this version instead of listing first; a version the server no longer has leads to a relist. */
  resourceVersion?: string;
  idleMs?: number;
  backoff?: { initialMs: number; maxMs: number };
  /** Told of every relist and re-watch after the first, with why (for diagnostics). */
  onRestart?: (restart: Restart) => void;
}

export interface ListWatcher<T extends KubernetesObject> {
  items(): T[];
  stop(): void;
}

const DEFAULT_IDLE_MS = 60_000;
const DEFAULT_BACKOFF = { initialMs: 250, maxMs: 5000 };
const HEALTHY_MS = 10_000;

interface WatchStatus {
  code?: number;
  reason?: string;
  message?: string;
}

function statusCodeOf(err: unknown): number | undefined {
  const e = err as { statusCode?: number; code?: number } | null;
  return e?.statusCode ?? (typeof e?.code === 'number' ? e.code : undefined);
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Starts watching and resolves once the first list is in (or, with resourceVersion, the first watch is
 * requested); rejects when that first list fails. onChange is called after every change of the set.
 */
export async function watchList<T extends KubernetesObject>(
  kube: Pick<Kube, 'kc'>,
  source: WatchSource<T>,
  onChange: (items: T[]) => void,
  opts: WatchListOptions = {},
): Promise<ListWatcher<T>> {
  const watcher = new Watcher(new Watch(kube.kc), source, onChange, opts);
  await watcher.start();
  return watcher;
}

class Watcher<T extends KubernetesObject> implements ListWatcher<T> {
  private readonly byUid = new Map<string, T>();
  private resourceVersion: string;
  private readonly idleMs: number;
  private readonly backoff: { initialMs: number; maxMs: number };
  private failures = 0;
  /** Bumped whenever a request is given up, so its late callbacks are ignored. */
  private attempt = 0;
  private request?: AbortController;
  private idleTimer?: NodeJS.Timeout;
  private retryTimer?: NodeJS.Timeout;
  private stopped = false;

  constructor(
    private readonly watch: Watch,
    private readonly source: WatchSource<T>,
    private readonly onChange: (items: T[]) => void,
    private readonly opts: WatchListOptions,
  ) {
    this.resourceVersion = opts.resourceVersion ?? '';
    this.idleMs = opts.idleMs ?? DEFAULT_IDLE_MS;
    this.backoff = opts.backoff ?? DEFAULT_BACKOFF;
  }

  items(): T[] {
    return [...this.byUid.values()];
  }

  stop(): void {
    this.stopped = true;
    this.abandonRequest();
    clearTimeout(this.retryTimer);
  }

  async start(): Promise<void> {
    if (!this.resourceVersion) await this.relist();
    await this.openWatch();
  }

  private async relist(): Promise<void> {
    const list = await this.source.list(this.source.selectors ?? {});
    if (this.stopped) return;
    this.byUid.clear();
    for (const o of list.items) this.byUid.set(o.metadata?.uid ?? o.metadata?.name ?? '', o);
    this.resourceVersion = list.metadata?.resourceVersion ?? '';
    this.onChange(this.items());
  }

  private async openWatch(): Promise<void> {
    if (this.stopped) return;
    const attempt = ++this.attempt;
    const opened = Date.now();
    let delivered = false;
    const ended = (gone: boolean, reason: string) => {
      if (attempt !== this.attempt || this.stopped) return;
      this.abandonRequest();
      if (delivered || Date.now() - opened >= HEALTHY_MS) this.failures = 0;
      this.restartLater(gone, reason);
    };
    const query = {
      ...this.source.selectors,
      resourceVersion: this.resourceVersion,
      allowWatchBookmarks: true,
      ...(this.source.timeoutSeconds ? { timeoutSeconds: this.source.timeoutSeconds } : {}),
    };
    this.armIdle(attempt);
    const controller = await this.watch.watch(
      this.source.path,
      query,
      (type: string, obj: T | WatchStatus) => {
        if (attempt !== this.attempt || this.stopped) return;
        this.armIdle(attempt);
        if (type === 'ERROR') {
          const status = obj as WatchStatus;
          ended(status.code === 410, `watch error ${status.code ?? ''} ${status.reason ?? ''}: ${status.message ?? ''}`.trim());
          return;
        }
        delivered = true;
        this.apply(type, obj as T);
      },
      (err: unknown) => {
        const code = statusCodeOf(err);
        ended(code === 410, err ? `watch ended: ${code ? `${code} ` : ''}${messageOf(err)}` : 'watch closed by the server');
      },
    );
    if (attempt === this.attempt && !this.stopped) this.request = controller;
    else controller.abort();
  }

  private apply(type: string, obj: T): void {
    const version = obj.metadata?.resourceVersion;
    if (version) this.resourceVersion = version;
    const uid = obj.metadata?.uid ?? obj.metadata?.name ?? '';
    if (type === 'ADDED' || type === 'MODIFIED') this.byUid.set(uid, obj);
    else if (type === 'DELETED') this.byUid.delete(uid);
    else return; // BOOKMARK: only the resourceVersion moves
    this.onChange(this.items());
  }

  private restartLater(gone: boolean, reason: string): void {
    const delayMs = Math.min(this.backoff.maxMs, this.backoff.initialMs * 2 ** this.failures);
    this.failures++;
    if (gone) this.resourceVersion = '';
    const kind = this.resourceVersion ? 'rewatch' : 'relist';
    this.opts.onRestart?.({ kind, reason, delayMs });
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => void this.restart(), delayMs);
  }

  private async restart(): Promise<void> {
    if (this.stopped) return;
    if (!this.resourceVersion) {
      try {
        await this.relist();
      } catch (err) {
        if (!this.stopped) this.restartLater(true, `list failed: ${messageOf(err)}`);
        return;
      }
    }
    await this.openWatch();
  }

  private armIdle(attempt: number): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      if (attempt !== this.attempt || this.stopped) return;
      this.abandonRequest();
      this.restartLater(false, `no event for ${this.idleMs} ms`);
    }, this.idleMs);
  }

  private abandonRequest(): void {
    this.attempt++;
    clearTimeout(this.idleTimer);
    this.request?.abort();
    this.request = undefined;
  }
}
