import type { Logger } from '@saas/kit';
import { carriesLoginLink, loginLink, renderMail, type Mail, type MailTransport } from './mailer.ts';
import type { OutboxMail, Store } from './store.ts';
import { newLoginToken, sha256 } from './tokens.ts';

export interface OutboxOptions {
  store: Store;
  transport: MailTransport;
  log: Logger;
  clock: () => Date;
  frontendUrl: string;
  loginTokenTtlHours: number;
  /** Delay before the first retry of a failed mail; doubles each attempt, up to 15 minutes (or this, if longer). */
  retrySeconds: number;
  /** How long a claimed mail is held for this worker before another may take it over. */
  leaseSeconds?: number;
  /** Longest sleep between looks at the outbox when nobody wakes the worker. */
  idlePollSeconds?: number;
}

const HOUR = 3600_000;

/** The delay before the next attempt after `failedAttempts` failures: retrySeconds, doubling, at most 15 minutes (or retrySeconds if longer). */
export function retryDelayMs(retrySeconds: number, failedAttempts: number): number {
  const base = retrySeconds * 1000;
  const cap = Math.max(base, 15 * 60_000);
  return Math.min(base * 2 ** Math.max(0, failedAttempts - 1), cap);
}

/**
 * Delivers queued mails: right away when woken, and failed ones again with backoff. The queue is a table, so
 * a restart or a mail server that is down for a day loses nothing.
 */
export class Outbox {
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private wakeUp: (() => void) | undefined;
  private woken = false;
  private loop: Promise<void> | undefined;
  private lastHousekeeping = 0;

  constructor(private readonly o: OutboxOptions) {}

  start(): void {
    this.loop ??= this.run();
  }

  /** Asks the worker to look at the outbox now (a mail was just queued). */
  wake(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake();
    await this.loop;
  }


  private async run(): Promise<void> {
    const { store, log, clock } = this.o;
    while (!this.stopped) {
      this.woken = false;
      let sleepMs = (this.o.idlePollSeconds ?? 60) * 1000;
      try {
        for (;;) {
          if (this.stopped) return;
          const now = clock();
          const mail = await store.claimDueMail(now, new Date(now.getTime() + (this.o.leaseSeconds ?? 120) * 1000));
          if (!mail) break;
          await this.deliver(mail);
        }
        const due = await store.nextMailDueAt();
        if (due) sleepMs = Math.min(sleepMs, Math.max(0, due.getTime() - clock().getTime()));
        if (Date.now() - this.lastHousekeeping > HOUR) {
          await store.deleteExpired(clock());
          this.lastHousekeeping = Date.now();
        }
      } catch (err) {
        log.warn({ err: (err as Error).message }, 'mail outbox: database unavailable; trying again');
        sleepMs = this.o.retrySeconds * 1000;
      }
      if (!this.woken && !this.stopped) await this.sleep(sleepMs);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wakeUp = () => {
        clearTimeout(this.timer);
        this.wakeUp = undefined;
        resolve();
      };
      this.timer = setTimeout(() => this.wakeUp?.(), ms);
    });
  }

  private async deliver(mail: OutboxMail): Promise<void> {
    const { store, log, clock } = this.o;
    let tokenHash: string | undefined;
    let rendered: Mail;
    if (carriesLoginLink(mail.kind)) {
      const user = mail.userId ? await store.getUser(mail.userId) : null;
      if (!user?.organization) {
        log.warn({ mailId: mail.id, kind: mail.kind }, 'mail outbox: the user is gone or not approved; mail dropped');
        await store.markMailSent(mail.id, clock());
        return;
      }
      const token = newLoginToken();
      tokenHash = sha256(token);
      const now = clock();
      await store.insertLoginToken(tokenHash, user.id, now, new Date(now.getTime() + this.o.loginTokenTtlHours * HOUR));
      rendered = renderMail(mail.kind, {
        to: mail.toAddress,
        organizationName: user.organization.name,
        loginLink: loginLink(this.o.frontendUrl, user.email, token),
        loginTokenTtlHours: this.o.loginTokenTtlHours,
      });
    } else {
      rendered = renderMail(mail.kind, { to: mail.toAddress, loginTokenTtlHours: this.o.loginTokenTtlHours });
    }

    try {
      await this.o.transport.send(rendered);
    } catch (err) {
      const attempts = mail.attempts + 1;
      const retryMs = retryDelayMs(this.o.retrySeconds, attempts);
      if (tokenHash) await store.deleteLoginToken(tokenHash);
      await store.markMailFailed(mail.id, (err as Error).message, new Date(clock().getTime() + retryMs));
      log.warn(
        { err: (err as Error).message, mailId: mail.id, kind: mail.kind, to: mail.toAddress, attempts, retryInSeconds: retryMs / 1000 },
        'mail delivery failed; will retry',
      );
      return;
    }
    await store.markMailSent(mail.id, clock());
    log.info({ mailId: mail.id, kind: mail.kind, to: mail.toAddress, attempts: mail.attempts + 1 }, 'mail sent');
  }
}
