import nodemailer from 'nodemailer';
import type { MailKind } from './store.ts';

export interface Mail {
  to: string;
  subject: string;
  text: string;
  html: string;
}

/** Sends one mail or rejects with why it could not. */
export interface MailTransport {
  send(mail: Mail): Promise<void>;
  close(): void;
}

/** SMTP through nodemailer; short timeouts so a dead mail server fails an attempt quickly and the outbox retries. */
export function smtpTransport(smtpUrl: string, from: string): MailTransport {
  const transporter = nodemailer.createTransport({
    url: smtpUrl,
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 30_000,
  });
  return {
    send: async (mail) => {
      await transporter.sendMail({ from, to: mail.to, subject: mail.subject, text: mail.text, html: mail.html });
    },
    close: () => transporter.close(),
  };
}

const PRODUCT = 'Scope as a Service';

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch] as string);

function html(paragraphs: string[], link?: { href: string; label: string }): string {
  const body = paragraphs.map((p) => `<p>${escapeHtml(p)}</p>`).join('\n');
  const button = link
    ? `<p><a href="${escapeHtml(link.href)}" style="display:inline-block;padding:10px 18px;background:#3f51b5;color:#fff;text-decoration:none;border-radius:4px">${escapeHtml(link.label)}</a></p>
<p style="color:#666;font-size:13px">Or paste this address into your browser:<br>${escapeHtml(link.href)}</p>`
    : '';
  return `<!doctype html><html><body style="font-family:sans-serif;line-height:1.5;color:#222">\n${body}\n${button}\n<p style="color:#666">— ${PRODUCT}</p></body></html>`;
}

export interface MailContext {
  to: string;
  organizationName?: string;
  /** The login link, for the mails that carry one. */
  loginLink?: string;
  loginTokenTtlHours: number;
}

/** Whether a kind of mail carries a login link (made at send time, so its token is never stored raw). */
export const carriesLoginLink = (kind: MailKind): boolean => kind === 'approved' || kind === 'login-link';

export function renderMail(kind: MailKind, ctx: MailContext): Mail {
  const validity = ctx.loginTokenTtlHours % 24 === 0 ? `${ctx.loginTokenTtlHours / 24} days` : `${ctx.loginTokenTtlHours} hours`;
  switch (kind) {
    case 'welcome': {
      const lines = [
        'Hello,',
        `Thanks for signing up for ${PRODUCT}: you are on the list.`,
        'We let people in as fast as we can. When your account is approved you will get another mail with a link to log in.',
      ];
      return { to: ctx.to, subject: `Welcome to ${PRODUCT}: you are on the list`, text: text(lines), html: html(lines) };
    }
    case 'approved':
    case 'login-link': {
      const link = ctx.loginLink ?? '';
      const lines =
        kind === 'approved'
          ? [
              'Hello,',
              `Your ${PRODUCT} account is approved. Your organisation is ${ctx.organizationName ?? ''}.`,
              `Log in with the link below. It works once and for ${validity}.`,
            ]
          : ['Hello,', `Here is a new link to log in to ${PRODUCT}. It works once and for ${validity}.`];
      const subject = kind === 'approved' ? `Your ${PRODUCT} account is ready` : `Your ${PRODUCT} login link`;
      return { to: ctx.to, subject, text: text([...lines, link]), html: html(lines, { href: link, label: 'Log in' }) };
    }
  }
}

const text = (lines: string[]) => `${lines.join('\n\n')}\n\n— ${PRODUCT}\n`;

export function loginLink(frontendUrl: string, email: string, token: string): string {
  return `${frontendUrl}/login?email=${encodeURIComponent(email)}&token=${encodeURIComponent(token)}`;
}
