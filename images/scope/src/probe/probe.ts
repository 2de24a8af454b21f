/**
 * The probe's loop: handshake with the app (`GET /api` until it answers `{"id": …}`), then every
 * interval scan this machine and `POST /api/report` a full report (gzip msgpack).
 *
 * Failures back off exponentially with jitter up to a cap; a 503's Retry-After is honoured; a 401
 * says plainly that the token was rejected and retries slowly. Nothing queues: each attempt sends a
 * fresh scan, so at most one report exists at a time whatever the app's state.
 */
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger, type Logger } from '@saas/kit';
import { encodeReport } from '../report/index.ts';
import { describeBody, joinUrl, parseRetryAfter, probeHeaders, request, type HttpResult, type ProbeIdentity } from './client.ts';
import { randomProbeID, Scanner, type ScanStats } from './scan.ts';
import type { DockerSetting } from './docker.ts';
import type { KubernetesSetting } from './kubernetes.ts';

/** The Weave Scope release whose wire format and headers this probe reproduces. */
export const PROBE_VERSION = '1.13.2';

/** A progress line in the logs every this many reports (5 minutes at the default interval). */
const SUMMARY_EVERY = 100;

export interface BackoffOptions {
  /** first wait after a failure (default 1 s, as Scope's app client) */
  initialMs?: number;
  /** the cap (default 60 s, as Scope's app client) */
  maxMs?: number;
  /** the least wait after a 401 (default 30 s): a wrong token will not fix itself quickly */
  unauthorizedMs?: number;
  /** the most a Retry-After may make us wait (default 5 min) */
  maxRetryAfterMs?: number;
}

export type ProbeEvent =
  | { type: 'handshake'; appID: string; appVersion?: string; url: string }
  | { type: 'handshake-failed'; reason: FailureReason; status?: number; message: string; retryInMs: number }
  | { type: 'scan'; reportID: string; stats: ScanStats; bytes: number }
  | { type: 'published'; reportID: string; status: number; bytes: number; count: number }
  | { type: 'publish-failed'; reportID: string; reason: FailureReason; status?: number; message: string; retryInMs: number }
  | { type: 'stopped'; error?: string };

export type FailureReason = 'unreachable' | 'unavailable' | 'unauthorized' | 'rejected' | 'bad-handshake';

export interface ProbeOptions {
  /** The app or frontend base URL (`http://localhost:4040`, `https://scope.example.com`). */
  url: string;
  token: string;
  intervalMs?: number;
  probeID?: string;
  /** Where the proc filesystem is (a host's /proc mounted elsewhere, e.g. /host/proc). */
  procRoot?: string;
  hostName?: string;
  version?: string;
  docker?: DockerSetting;
  kubernetes?: false | KubernetesSetting;
  backoff?: BackoffOptions;
  log?: Logger;
  onEvent?: (event: ProbeEvent) => void;
}

export interface RunningProbe {
  readonly probeID: string;
  readonly hostID: string;
  /** Reports accepted by the app so far. */
  readonly published: number;
  /** Stops the loop, aborting any request or wait in progress; resolves once it has stopped. */
  stop(): Promise<void>;
  /** Resolves when the loop ends: after stop(), or on an unexpected error (then a `stopped` event carries it). */
  readonly done: Promise<void>;
}

interface Failure {
  reason: FailureReason;
  status?: number;
  message: string;
  retryAfterMs?: number;
}

/** The app URL without trailing slashes; throws a readable error for anything but an http(s) URL. */
function checkUrl(raw: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new Error(`not a URL: ${JSON.stringify(raw)}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`the Scope URL must be http:// or https://, not ${u.protocol}//`);
  return u.toString().replace(/\/+$/, '');
}

export function startProbe(opts: ProbeOptions): RunningProbe {
  const url = checkUrl(opts.url);
  if (!opts.token) throw new Error('a probe token is required');
  const intervalMs = opts.intervalMs ?? 3000;
  const probeID = opts.probeID ?? randomProbeID();
  const hostName = opts.hostName ?? os.hostname();
  const hostID = hostName; // Weave Scope uses the hostname as the host id
  const version = opts.version ?? PROBE_VERSION;
  const log = opts.log ?? createLogger('scope-probe');
  const b = {
    initialMs: opts.backoff?.initialMs ?? 1000,
    maxMs: opts.backoff?.maxMs ?? 60_000,
    unauthorizedMs: opts.backoff?.unauthorizedMs ?? 30_000,
    maxRetryAfterMs: opts.backoff?.maxRetryAfterMs ?? 300_000,
  };
  const identity: ProbeIdentity = { token: opts.token, probeID, version };
  const abort = new AbortController();
  const emit = (e: ProbeEvent): void => {
    try {
      opts.onEvent?.(e);
    } catch (err) {
      log.error({ err }, 'probe event handler failed');
    }
  };

  const scanner = new Scanner({
    procRoot: opts.procRoot ?? '/proc',
    hostID,
    hostName,
    probeID,
    version,
    log,
    docker: opts.docker,
    kubernetes: opts.kubernetes,
    windowMs: intervalMs,
  });

  let published = 0;
  let failures = 0;
  let lastLogged: FailureReason | undefined;

  /** Exponential backoff with equal jitter: half fixed, half random, so probes restarted together spread out. */
  const backoffDelay = (f: Failure): number => {
    const exp = Math.min(b.maxMs, b.initialMs * 2 ** Math.min(failures - 1, 30));
    let delay = exp / 2 + Math.random() * (exp / 2);
    if (f.retryAfterMs !== undefined) delay = Math.min(b.maxRetryAfterMs, Math.max(f.retryAfterMs, b.initialMs / 2));
    if (f.reason === 'unauthorized') delay = Math.max(delay, b.unauthorizedMs);
    return Math.round(delay);
  };

  const logFailure = (what: string, f: Failure, retryInMs: number): void => {
    const fields = { url, status: f.status, retryInMs, failures };
    const repeated = lastLogged === f.reason;
    lastLogged = f.reason;
    if (f.reason === 'unauthorized') {
      log.error(fields, `${what}: token rejected by ${url} (${f.status}): check the probe token (SCOPE_TOKEN); retrying in ${Math.round(retryInMs / 1000)} s`);
    } else if (!repeated || failures % 10 === 0) {
      log.warn(fields, `${what} failed: ${f.message}; retrying in ${(retryInMs / 1000).toFixed(1)} s`);
    } else {
      log.debug(fields, `${what} failed again: ${f.message}`);
    }
  };

  const classify = (res: HttpResult): Failure => {
    const detail = describeBody(res.body);
    if (res.status === 401 || res.status === 403) return { reason: 'unauthorized', status: res.status, message: `${res.status} token rejected${detail ? `: ${detail}` : ''}` };
    if (res.status >= 500 || res.status === 429 || res.status === 408) {
      return { reason: 'unavailable', status: res.status, message: `${res.status}${detail ? ` ${detail}` : ''}`, retryAfterMs: parseRetryAfter(res.headers['retry-after']) };
    }
    return { reason: 'rejected', status: res.status, message: `${res.status}${detail ? ` ${detail}` : ''}` };
  };

  const attempt = async <T>(fn: () => Promise<T | Failure>): Promise<T | Failure> => {
    try {
      return await fn();
    } catch (err) {
      if (abort.signal.aborted) throw err;
      const e = err as NodeJS.ErrnoException;
      return { reason: 'unreachable', message: e.code ? `${e.code} ${e.message}` : e.message };
    }
  };
  const isFailure = (v: unknown): v is Failure => typeof v === 'object' && v !== null && 'reason' in v && 'message' in v;

  const handshake = async (): Promise<void> => {
    for (;;) {
      const result = await attempt(async () => {
        const res = await request('GET', joinUrl(url, '/api'), probeHeaders(identity), undefined, abort.signal);
        if (res.status !== 200) return classify(res);
        let details: unknown;
        try {
          details = JSON.parse(res.body.toString('utf8'));
        } catch {
          return { reason: 'bad-handshake', status: res.status, message: 'GET /api did not answer JSON' } satisfies Failure;
        }
        const d = details as { id?: unknown; version?: unknown };
        if (typeof d !== 'object' || d === null || typeof d.id !== 'string' || !d.id) {
          return { reason: 'bad-handshake', status: res.status, message: 'GET /api answered without an "id"' } satisfies Failure;
        }
        return { appID: d.id, appVersion: typeof d.version === 'string' ? d.version : undefined };
      });
      if (!isFailure(result)) {
        failures = 0;
        lastLogged = undefined;
        log.info({ url, appID: result.appID, probeID }, `connected to Scope app ${result.appID} at ${url}`);
        emit({ type: 'handshake', appID: result.appID, appVersion: result.appVersion, url });
        return;
      }
      failures++;
      const retryInMs = backoffDelay(result);
      logFailure('handshake (GET /api)', result, retryInMs);
      emit({ type: 'handshake-failed', reason: result.reason, status: result.status, message: result.message, retryInMs });
      await sleep(retryInMs, undefined, { signal: abort.signal });
    }
  };

  const loop = async (): Promise<void> => {
    const primed = scanner.prime().catch((err: unknown) => log.warn({ err }, 'first /proc walk failed'));
    await handshake();
    await primed;
    for (;;) {
      const started = Date.now();
      let scanned: Awaited<ReturnType<Scanner['scan']>>;
      try {
        scanned = await scanner.scan();
      } catch (err) {
        log.error({ err }, 'scan failed; trying again next interval');
        await sleep(intervalMs, undefined, { signal: abort.signal });
        continue;
      }
      if (abort.signal.aborted) return;
      const { report, stats } = scanned;
      const encoded = encodeReport(report);
      emit({ type: 'scan', reportID: report.id, stats, bytes: encoded.body.length });
      log.debug({ ...stats, bytes: encoded.body.length }, 'scanned');
      const result = await attempt(async () => {
        const headers = probeHeaders(identity, {
          length: encoded.body.length,
          contentType: encoded.headers['Content-Type'],
          contentEncoding: encoded.headers['Content-Encoding'],
        });
        const res = await request('POST', joinUrl(url, '/api/report'), headers, encoded.body, abort.signal);
        return res.status >= 200 && res.status < 300 ? res : classify(res);
      });
      if (!isFailure(result)) {
        if (failures > 0) log.info({ url, failures }, `publishing to ${url} again`);
        failures = 0;
        lastLogged = undefined;
        published++;
        emit({ type: 'published', reportID: report.id, status: result.status, bytes: encoded.body.length, count: published });
        if (published === 1) log.info({ url, ...stats, bytes: encoded.body.length }, 'first report published');
        else if (published % SUMMARY_EVERY === 0) log.info({ url, published, ...stats, bytes: encoded.body.length }, `${published} reports published`);
        await sleep(Math.max(0, started + intervalMs - Date.now()), undefined, { signal: abort.signal });
        continue;
      }
      failures++;
      const retryInMs = backoffDelay(result);
      logFailure('publish (POST /api/report)', result, retryInMs);
      emit({ type: 'publish-failed', reportID: report.id, reason: result.reason, status: result.status, message: result.message, retryInMs });
      // The next attempt scans afresh: a report that could not be sent is dropped, never queued.
      await sleep(Math.max(retryInMs, started + intervalMs - Date.now()), undefined, { signal: abort.signal });
    }
  };

  const done = loop().then(
    () => emit({ type: 'stopped' }),
    (err: unknown) => {
      if (abort.signal.aborted) return emit({ type: 'stopped' });
      log.error({ err }, 'probe stopped on an unexpected error');
      emit({ type: 'stopped', error: (err as Error).message });
    },
  );

  return {
    probeID,
    hostID,
    get published() {
      return published;
    },
    done,
    async stop() {
      abort.abort();
      await done;
    },
  };
}
