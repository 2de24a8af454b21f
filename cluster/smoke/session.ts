import { randomBytes } from 'node:crypto';
import os from 'node:os';
import type { EventSink } from '../events.ts';
import type { Endpoints } from '../runtime.ts';
import { CookieJar } from './http.ts';
import type { Mail, Mailbox } from './mail.ts';
import { startScopeProbe, type ProbeEvent, type ProbeHandle, type ProbeStarter } from './probe.ts';

export interface SmokeOptions {
  endpoints: Endpoints;
  emit: EventSink;
  /** The last lines of a service's log, for diagnoses; a missing service yields []. */
  logs?: (service: string, lines: number) => Promise<string[]>;
  /** Starts a probe in this process; defaults to the Scope probe's startProbe. */
  startProbe?: ProbeStarter;
  /** The host name the probe reports (and the map must show); defaults to os.hostname(). */
  hostname?: string;
  /** Defaults to a fresh dev-test+<random>@example.com. */
  email?: string;
  /** How long the map may take to show the host (the org's app is provisioned on the first report). */
  mapTimeoutMs?: number;
  /** How long a mail may take to arrive. */
  mailTimeoutMs?: number;
  signal?: AbortSignal;
}

/** One run of the smoke flow: what every step is given, and what the steps before it found. */
export interface SmokeSession extends Mailbox {
  readonly frontend: string;
  readonly users: string;
  readonly hostname: string;
  readonly jar: CookieJar;
  readonly mapTimeoutMs: number;
  readonly startProbe: ProbeStarter;
  welcome?: Mail;
  loginMail?: Mail;
  login?: { email?: string; organizationName?: string };
  organization?: string;
  token?: string;
  probe?: ProbeHandle;
  /** Reports the probe has had accepted, and its last event, for the map step's diagnosis. */
  published: number;
  lastProbeEvent?: ProbeEvent;
}

export function openSession(options: SmokeOptions): SmokeSession {
  const base = (url: string) => url.replace(/\/$/, '');
  return {
    frontend: base(options.endpoints.frontend),
    users: base(options.endpoints.users),
    mail: base(options.endpoints.mail),
    email: options.email ?? `dev-test+${randomBytes(5).toString('hex')}@example.com`,
    hostname: options.hostname ?? os.hostname(),
    jar: new CookieJar(),
    signal: options.signal,
    mailTimeoutMs: options.mailTimeoutMs ?? 15_000,
    mapTimeoutMs: options.mapTimeoutMs ?? 60_000,
    startProbe: options.startProbe ?? startScopeProbe,
    published: 0,
  };
}

/** What a step needs from one before it; missing only if the steps were reordered. */
export function need<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`the smoke flow has no ${what} yet (a step runs before the one that finds it)`);
  return value;
}
