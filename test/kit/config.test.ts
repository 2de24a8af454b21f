import test from 'ava';
import { ConfigError, readConfig, int, port, secret, url, str } from '@saas/kit';

const spec = {
  db: url('DATABASE_URL', ['postgres', 'postgresql']),
  port: port('PORT', { default: 8080 }),
  secret: secret('SESSION_SECRET', 32),
  name: str('NAME', { default: 'x' }),
  idle: int('IDLE', { min: 1, default: 60 }),
};

test('reads a valid environment with defaults', (t) => {
  const c = readConfig(spec, { DATABASE_URL: 'postgres://db/x', SESSION_SECRET: 'a'.repeat(32) });
  t.deepEqual(c, { db: 'postgres://db/x', port: 8080, secret: 'a'.repeat(32), name: 'x', idle: 60 });
});

test('names every missing or bad variable at once, never echoing a secret', (t) => {
  const err = t.throws(() => readConfig(spec, { DATABASE_URL: 'http://db', PORT: '99999', SESSION_SECRET: 'short', IDLE: 'soon' }), {
    instanceOf: ConfigError,
  });
  t.is(err?.problems.length, 4);
  t.regex(err!.message, /DATABASE_URL "http:\/\/db" is invalid: must use postgres:\/\/ or postgresql:\/\//);
  t.regex(err!.message, /PORT "99999" is invalid: must be at most 65535/);
  t.regex(err!.message, /SESSION_SECRET is invalid: must be at least 32 characters/);
  t.regex(err!.message, /IDLE "soon" is invalid: must be an integer/);
  t.false(err!.message.includes('short'));
});

test('a missing required variable is named with its description', (t) => {
  const err = t.throws(() => readConfig({ u: url('USERS_URL', ['http'], { doc: 'the users service' }) }, {}), { instanceOf: ConfigError });
  t.is(err?.problems[0], 'USERS_URL is missing (the users service)');
});
