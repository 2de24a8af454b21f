/**
 * The local stand-in for the upstream `maildev/maildev` image: maildev from npm, the same program. SMTP on
 * SMTP_PORT, web UI and REST API (`GET /email`, `DELETE /email/all`, `/healthz`) on PORT, mails persisted
 * under MAIL_DIR so they survive a restart.
 */
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createLogger, port, readConfigOrExit, str } from '@saas/kit';

const require = createRequire(import.meta.url);
const log = createLogger('mailcatcher');

const config = readConfigOrExit('mailcatcher', {
  smtpPort: port('SMTP_PORT', { default: 1025, doc: 'where mail is accepted' }),
  webPort: port('PORT', { default: 1080, doc: 'the web UI and REST API' }),
  host: str('HOST', { default: '0.0.0.0' }),
  mailDir: str('MAIL_DIR', { default: '', doc: 'where mails are kept; empty keeps them in memory' }),
});

if (config.mailDir) mkdirSync(config.mailDir, { recursive: true });

interface MailServer {
  on(event: string, fn: (arg: unknown) => void): void;
  /** Starts the SMTP server (the web UI starts with maildev() itself). */
  listen(): Promise<void>;
}
type MailDev = (config: Record<string, unknown>) => MailServer;
const maildev = require('maildev') as MailDev;
// maildev handles SIGTERM/SIGINT itself: it closes SMTP and web, then exits 0.
const server = maildev({
  smtp: config.smtpPort,
  web: config.webPort,
  ip: config.host,
  mailDirectory: config.mailDir || undefined,
  hideExtensions: [],
  silent: true,
});
server.on('new', (mail) => {
  const m = mail as { subject?: string; to?: { address: string }[] };
  log.info({ subject: m.subject, to: m.to?.map((t) => t.address) }, 'mail received');
});
try {
  await server.listen();
} catch (err) {
  log.fatal({ err }, `cannot accept mail on ${config.host}:${config.smtpPort}: ${(err as Error).message}`);
  process.exit(1);
}
log.info({ smtpPort: config.smtpPort, webPort: config.webPort, host: config.host, mailDir: config.mailDir || '(memory)' }, 'maildev accepting mail');
