import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { StepError, step, type Diagnosis, type EngineEvent, type EventSink } from '../events.ts';
import type { Endpoints } from '../runtime.ts';
import { pino } from 'pino';
import { SESSION_COOKIE } from '@saas/kit/contracts';
import type { ProbeEvent, ProbeOptions } from '@saas/scope/probe';
import { CookieJar, Unexpected, describe, parseJson, request, type Answer } from './http.ts';

/** A running probe, as images/scope/src/probe/main.ts's startProbe returns it (the part the flow uses). */
export interface ProbeHandle {
  stop(): void | Promise<void>;
}

export type ProbeStarter = (options: ProbeOptions) => ProbeHandle | Promise<ProbeHandle>;

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

interface Mail {
  id: string;
  subject?: string;
  text?: string;
  html?: string;
  to?: { address: string }[];
}

const LOG_LINES = 20;

let probeModule: Promise<typeof import('@saas/scope/probe')> | undefined;

/** Starts loading the probe (it pulls in the Docker client and the report encoder) ahead of its step. */
export function preloadProbe(): void {
  void loadProbeModule().catch(() => {}); // a failure shows in the probe step
}

function loadProbeModule() {
  probeModule ??= import('@saas/scope/probe');
  return probeModule;
}

async function defaultStartProbe(options: ProbeOptions): Promise<ProbeHandle> {
  const { startProbe } = await loadProbeModule();
  return startProbe(options);
}

/**
 * The smoke flow behind `dev test`: a new user signs up through the frontend, is approved in the users admin,
 * logs in with the mailed link, reads the probe token, runs a probe, and sees this machine on the organisation's
 * map. Every step is an engine step (events); the first failure stops the flow with a diagnosis.
 */
export async function runSmoke(options: SmokeOptions): Promise<SmokeResult> {
  const { endpoints, signal } = options;
  const email = options.email ?? `dev-test+${randomBytes(5).toString('hex')}@example.com`;
  const hostname = options.hostname ?? os.hostname();
  const frontend = endpoints.frontend.replace(/\/$/, '');
  const users = endpoints.users.replace(/\/$/, '');
  const mail = endpoints.mail.replace(/\/$/, '');
  const jar = new CookieJar();
  const t0 = Date.now();
  if (!options.startProbe) preloadProbe();

  const steps: SmokeStepResult[] = [];
  const titles = new Map<string, string>();
  const emit: EventSink = (e: EngineEvent) => {
    if (e.type === 'started') titles.set(e.step, e.title);
    if (e.type === 'done') steps.push({ step: e.step, title: titles.get(e.step) ?? e.step, ok: true, durationMs: e.durationMs, ...(e.message ? { message: e.message } : {}) });
    if (e.type === 'failed') steps.push({ step: e.step, title: titles.get(e.step) ?? e.step, ok: false, durationMs: e.durationMs, diagnosis: e.diagnosis });
    options.emit(e);
  };

  /** One flow step: an Unexpected thrown inside becomes a diagnosis with the named services' last log lines. */
  const run = <T>(id: string, title: string, services: string[], fn: (progress: (m: string) => void) => Promise<T>, done?: (r: T) => string | undefined) =>
    step(
      emit,
      `test/${id}`,
      'test',
      title,
      async (progress) => {
        try {
          return await fn(progress);
        } catch (err) {
          if (err instanceof StepError) throw err;
          if (signal?.aborted) throw new StepError({ summary: 'interrupted' }, { cause: err });
          const u = err instanceof Unexpected ? err : undefined;
          const diagnosis: Diagnosis = { summary: u?.summary ?? (err as Error).message };
          if (u) {
            diagnosis.expected = u.expected;
            diagnosis.actual = u.actual;
            if (u.hint) diagnosis.hint = u.hint;
          }
          diagnosis.logs = await collectLogs(services);
          diagnosis.hint ??= services.length ? `see the full log: dev logs ${services[0]}` : undefined;
          if (diagnosis.hint === undefined) delete diagnosis.hint;
          throw new StepError(diagnosis, { cause: err });
        }
      },
      done,
    );

  const collectLogs = async (services: string[]) => {
    if (!options.logs) return [];
    const out: { source: string; lines: string[] }[] = [];
    for (const s of services) {
      try {
        out.push({ source: s, lines: await options.logs(s, LOG_LINES) });
      } catch (err) {
        out.push({ source: s, lines: [`(could not read the log: ${(err as Error).message})`] });
      }
    }
    return out;
  };

  const mailsTo = async (): Promise<Mail[]> => {
    const answer = await request(`${mail}/email`, { signal });
    if (answer.status !== 200) throw new Unexpected('the mail capture did not list its mails', `200 and a JSON list from GET ${mail}/email`, describe(answer));
    const all = parseJson<Mail[]>(answer, 'the captured mails');
    return all.filter((m) => m.to?.some((t) => t.address.toLowerCase() === email.toLowerCase()));
  };

  const waitForMail = async (what: string, match: (m: Mail) => boolean, progress: (m: string) => void): Promise<Mail> => {
    const timeoutMs = options.mailTimeoutMs ?? 15_000;
    const deadline = Date.now() + timeoutMs;
    let seen: Mail[] = [];
    progress(`polling ${mail}/email`);
    for (let delay = 50; ; delay = Math.min(delay * 2, 250)) {
      seen = await mailsTo();
      const found = seen.find(match);
      if (found) return found;
      if (Date.now() > deadline) {
        throw new Unexpected(
          `no ${what} for ${email} after ${timeoutMs / 1000} s`,
          `a mail to ${email}: ${what}`,
          seen.length ? `${seen.length} other mail(s) to ${email}: ${seen.map((m) => JSON.stringify(m.subject ?? '')).join(', ')}` : `no mail to ${email} at all`,
          'check that users reaches the SMTP server (SMTP_URL) and see: dev logs users',
        );
      }
      await sleep(delay, undefined, { signal });
    }
  };

  let probe: ProbeHandle | undefined;
  let lastProbeEvent: ProbeEvent | undefined;
  let published = 0;
  let organization: string | undefined;
  let failure: SmokeResult['failure'];
  try {
    await run('signup', `sign up ${email}`, ['frontend', 'users'], async () => {
      const answer = await request(`${frontend}/api/users/signup`, { method: 'POST', json: { email }, signal });
      if (answer.status < 200 || answer.status >= 300) throw new Unexpected('the frontend refused the sign-up', `2xx from POST /api/users/signup`, describe(answer));
      return answer.status;
    }, (s) => `${s}`);

    const welcome = await run('welcome-mail', 'welcome mail arrives', ['users', 'mailcatcher'], (progress) =>
      waitForMail('welcome mail', () => true, progress),
    (m) => JSON.stringify(m.subject ?? ''));

    await run('approve', 'approve in the users admin', ['users'], async () => {
      const list = await request(`${users}/private/api/users`, { headers: { accept: 'application/json' }, signal });
      if (list.status !== 200) throw new Unexpected('the users admin did not list the users', `200 and JSON from GET ${users}/private/api/users`, describe(list));
      const entries = parseJson<{ id: string | number; email: string; approved?: boolean }[]>(list, 'the user list');
      if (!Array.isArray(entries)) throw new Unexpected('the user list is not a list', 'a JSON array of {id, email, approved}', describe(list));
      const me = entries.find((u) => u.email?.toLowerCase() === email.toLowerCase());
      if (!me) throw new Unexpected(`${email} is not in the user list`, `an entry with email ${email}`, `${entries.length} user(s), none with that address`);
      const approve = await request(`${users}/private/api/users/${encodeURIComponent(String(me.id))}/approve`, { method: 'POST', headers: { accept: 'application/json' }, signal });
      if (approve.status < 200 || approve.status >= 400) throw new Unexpected('the approval failed', `2xx (or a redirect back to the admin page) from POST /private/api/users/${me.id}/approve`, describe(approve));
      return me.id;
    }, (id) => `user ${id}`);

    const loginMail = await run('login-mail', 'login link arrives', ['users', 'mailcatcher'], (progress) =>
      waitForMail('mail with a login link', (m) => m.id !== welcome.id && findLoginLink(m) !== undefined, progress),
    (m) => JSON.stringify(m.subject ?? ''));

    const login = await run('login', 'log in with the link', ['frontend', 'users', 'ui-server'], async () => {
      const link = findLoginLink(loginMail)!;
      const page = await request(`${frontend}${link.pathname}${link.search}`, { headers: { accept: 'text/html' }, signal });
      if (page.status !== 200) throw new Unexpected('the login page did not open', `200 from GET ${link.pathname} on the frontend (the link in the mail)`, describe(page));
      const answer = await request(`${frontend}/api/users/login${link.search}`, { signal });
      jar.take(answer);
      if (answer.status !== 200) throw new Unexpected('the login was refused', '200 and {email, organizationName} from GET /api/users/login', describe(answer));
      if (!jar.has(SESSION_COOKIE)) throw new Unexpected('the login set no session cookie', `a Set-Cookie for ${SESSION_COOKIE}`, `cookies: ${answer.headers.getSetCookie().map((c) => c.split('=')[0]).join(', ') || 'none'}`);
      const body = parseJson<{ email?: string; organizationName?: string }>(answer, 'the login answer');
      return body;
    }, (b) => `as ${b.email ?? email}`);

    const token = await run('token', 'read the probe token', ['frontend', 'users'], async () => {
      const lookup = await request(`${frontend}/api/users/lookup`, { headers: { cookie: jar.header() }, signal });
      if (lookup.status !== 200) throw new Unexpected('the session was not accepted', '200 and {organizationName} from GET /api/users/lookup', describe(lookup));
      const who = parseJson<{ organizationName?: string }>(lookup, 'the lookup answer');
      organization = who.organizationName ?? login.organizationName;
      if (!organization) throw new Unexpected('the user has no organisation after approval', 'an organizationName', describe(lookup));
      const org = await request(`${frontend}/api/users/org/${encodeURIComponent(organization)}`, { headers: { cookie: jar.header() }, signal });
      if (org.status !== 200) throw new Unexpected('the organisation did not answer', `200 and {probeToken} from GET /api/users/org/${organization}`, describe(org));
      const body = parseJson<{ probeToken?: string }>(org, 'the organisation');
      if (!body.probeToken) throw new Unexpected('the organisation has no probe token', 'a probeToken', describe(org));
      return body.probeToken;
    }, () => `organisation ${organization}`);

    await run('probe', 'start a probe', [], async () => {
      probe = await (options.startProbe ?? defaultStartProbe)({
        url: frontend,
        token,
        hostName: hostname,
        intervalMs: 500,
        // The org's app is provisioned on the first report (503 meanwhile): retry quickly, it is a short test.
        backoff: { initialMs: 100, maxMs: 500, maxRetryAfterMs: 500 },
        // The flow reports through events; the probe's own log would land on dev's stdout.
        log: pino({ level: 'silent' }),
        // This machine's host is what the map must show; containers and pods would only slow the first scan.
        docker: false,
        kubernetes: false,
        onEvent: (e) => {
          lastProbeEvent = e;
          if (e.type === 'published') published = e.count;
        },
      });
    }, () => `reporting to ${frontend} as ${hostname}`);

    await run('map', `the map shows ${hostname}`, ['app-mapper', 'frontend', 'users'], async (progress) => {
      const timeoutMs = options.mapTimeoutMs ?? 60_000;
      const deadline = Date.now() + timeoutMs;
      const url = `${frontend}/api/app/${encodeURIComponent(organization!)}/api/topology/hosts`;
      let last: Answer | undefined;
      let lastNote = '';
      for (let delay = 100; ; delay = Math.min(delay * 2, 250)) {
        last = await request(url, { headers: { cookie: jar.header(), accept: 'application/json' }, signal });
        if (last.status === 200) {
          const nodes = hostNodes(last);
          if (nodes.some((n) => n.id.split(';')[0] === hostname || n.label === hostname)) return nodes.length;
          const note = `map has ${nodes.length} host(s); ${published} report(s) accepted`;
          if (note !== lastNote) progress((lastNote = note));
        } else if (last.status === 503 || last.status === 502 || last.status === 404) {
          const note = `${last.status}: the organisation's app is starting`;
          if (note !== lastNote) progress((lastNote = note));
        } else {
          throw new Unexpected('the map did not answer', `200 from GET ${url}`, describe(last));
        }
        if (Date.now() > deadline) {
          throw new Unexpected(
            `${hostname} did not appear on the map within ${timeoutMs / 1000} s`,
            `a node for host ${hostname} in GET /api/app/${organization}/api/topology/hosts`,
            `${describe(last)}\nthe probe: ${published} report(s) accepted; last event ${describeProbeEvent(lastProbeEvent)}`,
            'see whether reports arrive: dev logs app-mapper',
          );
        }
        await sleep(delay, undefined, { signal });
      }
    }, (n) => `${n} host(s) on the map`);
  } catch (err) {
    if (!(err instanceof StepError)) throw err;
    const failed = steps.find((s) => !s.ok);
    failure = { step: failed?.step ?? 'test', title: failed?.title ?? 'smoke flow', diagnosis: err.diagnosis };
  } finally {
    if (probe) {
      const p = probe;
      await step(emit, 'test/probe-stop', 'test', 'stop the probe', async () => {
        await p.stop();
      }).catch((err: unknown) => {
        if (!failure && err instanceof StepError) failure = { step: 'test/probe-stop', title: 'stop the probe', diagnosis: err.diagnosis };
      });
    }
  }

  return {
    ok: failure === undefined,
    email,
    ...(organization ? { organization } : {}),
    durationMs: Date.now() - t0,
    steps,
    ...(failure ? { failure } : {}),
  };
}

/** The login link of a mail (text or HTML), whatever host it names. */
export function findLoginLink(m: Mail): URL | undefined {
  for (const body of [m.text ?? '', (m.html ?? '').replace(/&amp;/g, '&')]) {
    const match = /https?:\/\/[^\s"'<>]+\/login\?[^\s"'<>]+/.exec(body);
    if (!match) continue;
    try {
      const url = new URL(match[0]);
      if (url.searchParams.get('token') && url.searchParams.get('email')) return url;
    } catch {
      // not a URL after all; look further
    }
  }
  return undefined;
}

/** Host nodes of a topology answer ({nodes: {id: summary}}), with their labels. */
function hostNodes(answer: Answer): { id: string; label?: string }[] {
  const body = parseJson<{ nodes?: Record<string, { id?: string; label?: string }> }>(answer, 'the hosts topology');
  if (!body.nodes || typeof body.nodes !== 'object') throw new Unexpected('the hosts topology has no nodes', '{nodes: {id: summary}}', describe(answer));
  return Object.entries(body.nodes).map(([id, n]) => ({ id: n?.id ?? id, ...(typeof n?.label === 'string' ? { label: n.label } : {}) }));
}

function describeProbeEvent(e: ProbeEvent | undefined): string {
  if (!e) return 'none';
  switch (e.type) {
    case 'handshake-failed':
    case 'publish-failed':
      return `${e.type} (${e.reason}${e.status ? ` ${e.status}` : ''}): ${e.message}`;
    case 'stopped':
      return `stopped${e.error ? `: ${e.error}` : ''}`;
    default:
      return e.type;
  }
}
