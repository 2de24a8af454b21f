import test from 'ava';
import { renderMail, loginLink } from '../../images/users/src/mailer.ts';
import { retryDelayMs } from '../../images/users/src/outbox.ts';
import { cookieValue } from '../../images/users/src/sessions.ts';
import { normaliseEmail } from '../../images/users/src/input.ts';
import { newLoginToken, newOrganizationId, newOrganizationName, newProbeToken } from '../../images/users/src/tokens.ts';

test('failed mails are retried after MAIL_RETRY_SECONDS, doubling, capped at 15 minutes', (t) => {
  t.deepEqual([1, 2, 3, 4, 5].map((n) => retryDelayMs(10, n)), [10_000, 20_000, 40_000, 80_000, 160_000]);
  t.is(retryDelayMs(10, 30), 15 * 60_000);
  t.is(retryDelayMs(1, 1), 1000);
  t.is(retryDelayMs(3600, 5), 3600_000, 'a retry period above the cap is kept as is');
});

test('organisation names are human-readable, ids are lowercase [a-z0-9] starting with a letter, tokens are random', (t) => {
  const names = new Set(Array.from({ length: 500 }, () => newOrganizationName()));
  for (const name of names) t.regex(name, /^[a-z]+-[a-z]+-\d{2}$/);
  t.true(names.size > 450, `${names.size} distinct names of 500`);
  t.regex(newOrganizationName(2), /^[a-z]+-[a-z]+-\d{2,4}$/);
  for (let i = 0; i < 100; i++) t.regex(newOrganizationId(), /^[a-z][a-z0-9]{11}$/);
  t.regex(newLoginToken(), /^[0-9a-f]{40}$/);
  t.not(newLoginToken(), newLoginToken());
  t.regex(newProbeToken(), /^[a-z0-9]{32}$/);
  t.not(newProbeToken(), newProbeToken());
});

test('the session cookie is read from a Cookie header among others', (t) => {
  t.is(cookieValue('a=1; _weave_scope_session=abc.def%2B; b=2', '_weave_scope_session'), 'abc.def+');
  t.is(cookieValue('_weave_scope_session="quoted"', '_weave_scope_session'), 'quoted');
  t.is(cookieValue('x_weave_scope_session=no', '_weave_scope_session'), undefined);
  t.is(cookieValue('_weave_scope_session=%E0%A4%A', '_weave_scope_session'), '%E0%A4%A');
  t.is(cookieValue('', '_weave_scope_session'), undefined);
});

test('addresses are trimmed and lowercased; mails escape what they show and carry the encoded link', (t) => {
  t.is(normaliseEmail('  Ada.Lovelace+Scope@Example.COM '), 'ada.lovelace+scope@example.com');
  const link = loginLink('http://localhost:8080', 'a+b@example.com', 'ff'.repeat(20));
  t.is(link, `http://localhost:8080/login?email=a%2Bb%40example.com&token=${'ff'.repeat(20)}`);
  const mail = renderMail('approved', { to: 'a+b@example.com', organizationName: 'quiet-river-42', loginLink: link, loginTokenTtlHours: 72 });
  t.regex(mail.subject, /ready/);
  t.true(mail.text.includes(link));
  t.true(mail.text.includes('quiet-river-42'));
  t.regex(mail.text, /3 days/);
  t.true(mail.html.includes(`href="${link.replace('&', '&amp;')}"`));
  const welcome = renderMail('welcome', { to: 'a@example.com', loginTokenTtlHours: 72 });
  t.regex(welcome.text, /you are on the list/);
  t.false(welcome.text.includes('login?'));
});
