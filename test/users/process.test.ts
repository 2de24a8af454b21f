import test from 'ava';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { freePort, startMaildev, waitFor } from '@saas/kit/testing';
import { postJson } from './helpers.ts';

const main = fileURLToPath(new URL('../../images/users/src/main.ts', import.meta.url));

function startMain(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', main], {
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString('utf8')));
  child.stderr.on('data', (c: Buffer) => (output += c.toString('utf8')));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    exit,
    output: () => output,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exit;
    },
  };
}

test('main.ts refuses a bad configuration with exit 78, naming every problem', async (t) => {
  const proc = startMain({ DATABASE_URL: 'mysql://x', SESSION_SECRET: 'short', FRONTEND_URL: 'http://localhost:8080' });
  try {
    t.is(await proc.exit, 78);
    const out = proc.output();
    t.regex(out, /DATABASE_URL .*must use postgres/);
    t.regex(out, /SMTP_URL is missing/);
    t.regex(out, /SESSION_SECRET is invalid: must be at least 32 characters/);
    t.false(out.includes('short'), 'the secret is not echoed');
  } finally {
    await proc.stop();
  }
});

test('main.ts waits for a database that starts after it, migrates, serves, and stops on SIGTERM', async (t) => {
  const [dbPort, port, mail] = await Promise.all([freePort(), freePort(), startMaildev()]);
  const proc = startMain({
    PORT: String(port),
    DATABASE_URL: `postgresql://postgres@127.0.0.1:${dbPort}/postgres?sslmode=disable`,
    SMTP_URL: mail.smtpUrl,
    FRONTEND_URL: 'http://localhost:8080',
    SESSION_SECRET: 'x'.repeat(40),
  });
  let db: PGlite | undefined;
  let server: PGLiteSocketServer | undefined;
  try {
    await waitFor('the service to say it waits for the database', async () => proc.output().includes('waiting for database'), 60_000, 100);
    db = await PGlite.create();
    server = new PGLiteSocketServer({ db, port: dbPort, host: '127.0.0.1', maxConnections: 10 });
    await server.start();
    const base = `http://127.0.0.1:${port}`;
    await waitFor('ready', async () => (await fetch(`${base}/readyz`)).ok, 90_000, 200);
    t.regex(proc.output(), /migration applied/);
    const email = 'process@example.com';
    t.is((await postJson(`${base}/api/users/signup`, { email })).status, 200);
    t.truthy(await mail.waitForMail(email, /on the list/, 30_000));
    proc.child.kill('SIGTERM');
    t.is(await proc.exit, 0);
    t.regex(proc.output(), /"msg":"stopped"/);
  } finally {
    await proc.stop();
    await server?.stop();
    await db?.close();
    await mail.stop();
  }
});
