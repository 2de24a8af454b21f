/**
 * The smoke flow behind `dev test` as data: a new user signs up through the frontend, is approved in the users
 * admin, logs in with the mailed link, reads the probe token, runs a probe, and sees this machine on the
 * organisation's map. flow.ts runs these in order; the TUI's list of what is still to come is SMOKE_PLAN.
 */
import { pino } from 'pino';
import { setTimeout as sleep } from 'node:timers/promises';
import type { PlannedStep, StepId } from '../events.ts';
import { Unexpected, describe, parseJson, request, type Answer } from './http.ts';
import { findLoginLink, waitForMail } from './mail.ts';
import { describeProbeEvent } from './probe.ts';
import { need, type SmokeSession } from './session.ts';
import { SESSION_COOKIE } from '@saas/kit/contracts';
import { plural } from '../words.ts';

export interface SmokeStep {
  id: StepId;
  /** The title the plan shows before the step runs. */
  title: string;
  /** The title once it runs, when it names what this run picked (the address, the host). */
  runTitle?: (s: SmokeSession) => string;
  /** Whose last log lines a failure shows; the first is the log the hint names. */
  services: readonly string[];
  /** Marks a clean-up step: it runs after the others, failed or not, when this says there is something to undo. */
  cleanup?: (s: SmokeSession) => boolean;
  /** Does the step and resolves to its done message. */
  run(s: SmokeSession, progress: (message: string) => void): Promise<string | undefined>;
}


export const SMOKE_STEPS: readonly SmokeStep[] = [
  {
    id: 'test/signup',
    title: 'sign up',
    runTitle: (s) => `sign up ${s.email}`,
    services: ['frontend', 'users'],
    async run(s) {
      const answer = await request(`${s.frontend}/api/users/signup`, { method: 'POST', json: { email: s.email }, signal: s.signal });
      if (answer.status < 200 || answer.status >= 300) throw new Unexpected('the frontend refused the sign-up', `2xx from POST /api/users/signup`, describe(answer));
      return `${answer.status}`;
    },
  },
  {
    id: 'test/welcome-mail',
    title: 'welcome mail arrives',
    services: ['users', 'mailcatcher'],
    async run(s, progress) {
      s.welcome = await waitForMail(s, 'welcome mail', () => true, progress);
      return JSON.stringify(s.welcome.subject ?? '');
    },
  },
  {
    id: 'test/approve',
    title: 'approve in the users admin',
    services: ['users'],
    async run(s) {
      const list = await request(`${s.users}/private/api/users`, { headers: { accept: 'application/json' }, signal: s.signal });
      if (list.status !== 200) throw new Unexpected('the users admin did not list the users', `200 and JSON from GET ${s.users}/private/api/users`, describe(list));
      const entries = parseJson<{ id: string | number; email: string; approved?: boolean }[]>(list, 'the user list');
      if (!Array.isArray(entries)) throw new Unexpected('the user list is not a list', 'a JSON array of {id, email, approved}', describe(list));
      const me = entries.find((u) => u.email?.toLowerCase() === s.email.toLowerCase());
      if (!me) throw new Unexpected(`${s.email} is not in the user list`, `an entry with email ${s.email}`, `${entries.length} user(s), none with that address`);
      const approve = await request(`${s.users}/private/api/users/${encodeURIComponent(String(me.id))}/approve`, { method: 'POST', headers: { accept: 'application/json' }, signal: s.signal });
      if (approve.status < 200 || approve.status >= 400) throw new Unexpected('the approval failed', `2xx (or a redirect back to the admin page) from POST /private/api/users/${me.id}/approve`, describe(approve));
      return `user ${me.id}`;
    },
  },
  {
    id: 'test/login-mail',
    title: 'login link arrives',
    services: ['users', 'mailcatcher'],
    async run(s, progress) {
      const welcome = need(s.welcome, 'welcome mail');
      s.loginMail = await waitForMail(s, 'mail with a login link', (m) => m.id !== welcome.id && findLoginLink(m) !== undefined, progress);
      return JSON.stringify(s.loginMail.subject ?? '');
    },
  },
  {
    id: 'test/login',
    title: 'log in with the link',
    services: ['frontend', 'users', 'ui-server'],
    async run(s) {
      const link = need(findLoginLink(need(s.loginMail, 'login mail')), 'login link');
      const page = await request(`${s.frontend}${link.pathname}${link.search}`, { headers: { accept: 'text/html' }, signal: s.signal });
      if (page.status !== 200) throw new Unexpected('the login page did not open', `200 from GET ${link.pathname} on the frontend (the link in the mail)`, describe(page));
      const answer = await request(`${s.frontend}/api/users/login${link.search}`, { signal: s.signal });
      s.jar.take(answer);
      if (answer.status !== 200) throw new Unexpected('the login was refused', '200 and {email, organizationName} from GET /api/users/login', describe(answer));
      if (!s.jar.has(SESSION_COOKIE)) throw new Unexpected('the login set no session cookie', `a Set-Cookie for ${SESSION_COOKIE}`, `cookies: ${answer.headers.getSetCookie().map((c) => c.split('=')[0]).join(', ') || 'none'}`);
      s.login = parseJson<{ email?: string; organizationName?: string }>(answer, 'the login answer');
      return `as ${s.login.email ?? s.email}`;
    },
  },
  {
    id: 'test/token',
    title: 'read the probe token',
    services: ['frontend', 'users'],
    async run(s) {
      const lookup = await request(`${s.frontend}/api/users/lookup`, { headers: { cookie: s.jar.header() }, signal: s.signal });
      if (lookup.status !== 200) throw new Unexpected('the session was not accepted', '200 and {organizationName} from GET /api/users/lookup', describe(lookup));
      const who = parseJson<{ organizationName?: string }>(lookup, 'the lookup answer');
      const organization = who.organizationName ?? s.login?.organizationName;
      if (!organization) throw new Unexpected('the user has no organisation after approval', 'an organizationName', describe(lookup));
      s.organization = organization;
      const org = await request(`${s.frontend}/api/users/org/${encodeURIComponent(organization)}`, { headers: { cookie: s.jar.header() }, signal: s.signal });
      if (org.status !== 200) throw new Unexpected('the organisation did not answer', `200 and {probeToken} from GET /api/users/org/${organization}`, describe(org));
      const body = parseJson<{ probeToken?: string }>(org, 'the organisation');
      if (!body.probeToken) throw new Unexpected('the organisation has no probe token', 'a probeToken', describe(org));
      s.token = body.probeToken;
      return `organisation ${organization}`;
    },
  },
  {
    id: 'test/probe',
    title: 'start a probe',
    services: [],
    async run(s) {
      s.probe = await s.startProbe({
        url: s.frontend,
        token: need(s.token, 'probe token'),
        hostName: s.hostname,
        intervalMs: 500,
        // The org's app is provisioned on the first report (503 meanwhile): retry quickly, it is a short test.
        backoff: { initialMs: 100, maxMs: 500, maxRetryAfterMs: 500 },
        // The flow reports through events; the probe's own log would land on dev's stdout.
        log: pino({ level: 'silent' }),
        // This machine's host is what the map must show; containers and pods would only slow the first scan.
        docker: false,
        kubernetes: false,
        onEvent: (e) => {
          s.lastProbeEvent = e;
          if (e.type === 'published') s.published = e.count;
        },
      });
      return `reporting to ${s.frontend} as ${s.hostname}`;
    },
  },
  {
    id: 'test/map',
    title: 'the map shows this host',
    runTitle: (s) => `the map shows ${s.hostname}`,
    services: ['app-mapper', 'frontend', 'users'],
    async run(s, progress) {
      const organization = need(s.organization, 'organisation');
      const deadline = Date.now() + s.mapTimeoutMs;
      const url = `${s.frontend}/api/app/${encodeURIComponent(organization)}/api/topology/hosts`;
      let lastNote = '';
      for (let delay = 100; ; delay = Math.min(delay * 2, 250)) {
        const last = await request(url, { headers: { cookie: s.jar.header(), accept: 'application/json' }, signal: s.signal });
        if (last.status === 200) {
          const nodes = hostNodes(last);
          if (nodes.some((n) => n.id.split(';')[0] === s.hostname || n.label === s.hostname)) return `${plural(nodes.length, 'host')} on the map`;
          const note = `map has ${plural(nodes.length, 'host')}; ${plural(s.published, 'report')} accepted`;
          if (note !== lastNote) progress((lastNote = note));
        } else if (last.status === 503 || last.status === 502 || last.status === 404) {
          const note = `${last.status}: the organisation's app is starting`;
          if (note !== lastNote) progress((lastNote = note));
        } else {
          throw new Unexpected('the map did not answer', `200 from GET ${url}`, describe(last));
        }
        if (Date.now() > deadline) {
          throw new Unexpected(
            `${s.hostname} did not appear on the map within ${s.mapTimeoutMs / 1000} s`,
            `a node for host ${s.hostname} in GET /api/app/${organization}/api/topology/hosts`,
            `${describe(last)}\nthe probe: ${plural(s.published, 'report')} accepted; last event ${describeProbeEvent(s.lastProbeEvent)}`,
            'see whether reports arrive: dev logs app-mapper',
          );
        }
        await sleep(delay, undefined, { signal: s.signal });
      }
    },
  },
  {
    id: 'test/probe-stop',
    title: 'stop the probe',
    services: [],
    cleanup: (s) => s.probe !== undefined,
    async run(s) {
      await need(s.probe, 'probe').stop();
      return undefined;
    },
  },
];

/** The steps as the TUI lists them before they run. */
export const SMOKE_PLAN: readonly PlannedStep[] = SMOKE_STEPS.map(({ id, title }) => ({ id, title }));

/** Host nodes of a topology answer ({nodes: {id: summary}}), with their labels. */
function hostNodes(answer: Answer): { id: string; label?: string }[] {
  const body = parseJson<{ nodes?: Record<string, { id?: string; label?: string }> }>(answer, 'the hosts topology');
  if (!body.nodes || typeof body.nodes !== 'object') throw new Unexpected('the hosts topology has no nodes', '{nodes: {id: summary}}', describe(answer));
  return Object.entries(body.nodes).map(([id, n]) => ({ id: n?.id ?? id, ...(typeof n?.label === 'string' ? { label: n.label } : {}) }));
}
