import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { freePort, waitFor } from './ports.ts';

const require = createRequire(import.meta.url);

/** A mail as maildev's REST API returns it (the fields tests use). */
export interface CapturedMail {
  id: string;
  subject: string;
  text?: string;
  html?: string;
  to: { address: string; name?: string }[];
  from: { address: string; name?: string }[];
  date: string;
}

export interface Maildev {
  smtpPort: number;
  webUrl: string;
  smtpUrl: string;
  list(): Promise<CapturedMail[]>;
  /** Waits for a mail to `to` whose subject matches. */
  waitForMail(to: string, subject: RegExp, timeoutMs?: number): Promise<CapturedMail>;
  stop(): Promise<void>;
}

/**
 * Real maildev 2.2.1 from npm, in a child process of its own (its SMTP server is a module singleton).
 * smtpPort: listen for SMTP there (e.g. where a service was told the mail server is, to bring it back up).
 */
export async function startMaildev(opts: { smtpPort?: number } = {}): Promise<Maildev> {
  const smtpPort = opts.smtpPort ?? (await freePort());
  const webPort = await freePort();
  const bin = require.resolve('maildev/bin/maildev');
  const child: ChildProcess = spawn(process.execPath, [bin, '--smtp', String(smtpPort), '--web', String(webPort), '--ip', '127.0.0.1', '--silent'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  // A test process that ends without stop() (a crash, a worker torn down) must not leave maildev behind.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  child.once('exit', () => process.removeListener('exit', killOnExit));
  const webUrl = `http://127.0.0.1:${webPort}`;
  try {
    await waitFor('maildev', async () => (await fetch(`${webUrl}/healthz`)).ok, 20_000);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  const list = async () => (await (await fetch(`${webUrl}/email`)).json()) as CapturedMail[];
  return {
    smtpPort,
    webUrl,
    smtpUrl: `smtp://127.0.0.1:${smtpPort}`,
    list,
    waitForMail: (to, subject, timeoutMs = 15_000) =>
      waitFor(`a mail to ${to} matching ${subject}`, async () =>
        (await list()).find((m) => m.to.some((t) => t.address === to) && subject.test(m.subject)),
      timeoutMs),
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
