import { setTimeout as sleep } from 'node:timers/promises';
import { Unexpected, describe, parseJson, request } from './http.ts';

/** Where to look for whose mail, and for how long. */
export interface Mailbox {
  /** The mail capture's REST API. */
  readonly mail: string;
  readonly email: string;
  readonly mailTimeoutMs: number;
  readonly signal: AbortSignal | undefined;
}

/** A mail as the mail capture's REST API lists it. */
export interface Mail {
  id: string;
  subject?: string;
  text?: string;
  html?: string;
  to?: { address: string }[];
}

async function mailsTo(s: Mailbox): Promise<Mail[]> {
  const answer = await request(`${s.mail}/email`, { signal: s.signal });
  if (answer.status !== 200) throw new Unexpected('the mail capture did not list its mails', `200 and a JSON list from GET ${s.mail}/email`, describe(answer));
  const all = parseJson<Mail[]>(answer, 'the captured mails');
  return all.filter((m) => m.to?.some((t) => t.address.toLowerCase() === s.email.toLowerCase()));
}

/** Polls the mail capture until a mail to the address matches, or the mail timeout passes. */
export async function waitForMail(s: Mailbox, what: string, match: (m: Mail) => boolean, progress: (m: string) => void): Promise<Mail> {
  const deadline = Date.now() + s.mailTimeoutMs;
  progress(`polling ${s.mail}/email`);
  for (let delay = 50; ; delay = Math.min(delay * 2, 250)) {
    const seen = await mailsTo(s);
    const found = seen.find(match);
    if (found) return found;
    if (Date.now() > deadline) {
      throw new Unexpected(
        `no ${what} for ${s.email} after ${s.mailTimeoutMs / 1000} s`,
        `a mail to ${s.email}: ${what}`,
        seen.length ? `${seen.length} other mail(s) to ${s.email}: ${seen.map((m) => JSON.stringify(m.subject ?? '')).join(', ')}` : `no mail to ${s.email} at all`,
        'check that users reaches the SMTP server (SMTP_URL) and see: dev logs users',
      );
    }
    await sleep(delay, undefined, { signal: s.signal });
  }
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
