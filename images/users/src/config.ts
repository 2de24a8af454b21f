import { int, secret, str, url, type ConfigOf } from '@saas/kit';

export const DEFAULT_MAIL_FROM = 'Scope as a Service <noreply@scope.local>';

/** The users service's environment (CONTRIBUTING.md, "Service configuration"). */
export const configSpec = {
  databaseUrl: url('DATABASE_URL', ['postgres', 'postgresql'], { doc: 'the users database', secret: true }),
  smtpUrl: url('SMTP_URL', ['smtp', 'smtps'], { doc: 'where mail goes out, e.g. smtp://mail:1025' }),
  mailFrom: str('MAIL_FROM', { default: DEFAULT_MAIL_FROM, doc: 'the From of every mail' }),
  frontendUrl: url('FRONTEND_URL', ['http', 'https'], { doc: 'the public base of links in mails' }),
  sessionSecret: secret('SESSION_SECRET', 32, { doc: 'signs session cookies' }),
  loginTokenTtlHours: int('LOGIN_TOKEN_TTL_HOURS', { default: 72, min: 1, max: 24 * 365, doc: 'how long a login link stays valid' }),
  sessionTtlHours: int('SESSION_TTL_HOURS', { default: 24 * 30, min: 1, max: 24 * 365, doc: 'how long a login lasts' }),
  signupMailsPerAddressPerHour: int('SIGNUP_MAILS_PER_ADDRESS_PER_HOUR', { default: 3, min: 1, max: 1000, doc: 'mails one address gets from sign-ups per hour; more sign-ups are answered the same but mail nothing' }),
  signupsPerClientPerMinute: int('SIGNUPS_PER_CLIENT_PER_MINUTE', { default: 30, min: 1, max: 100_000, doc: 'sign-ups one client address may make per minute (429 past it)' }),
  mailRetrySeconds: int('MAIL_RETRY_SECONDS', { default: 10, min: 1, max: 3600, doc: 'first delay before a failed mail is tried again' }),
};

export type UsersConfig = ConfigOf<typeof configSpec>;
