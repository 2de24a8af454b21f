/**
 * The local runtime's stand-ins, run from their bundles exactly as `dev up` runs them: PGlite creating a new
 * database in a child process (so the server does not keep initdb's memory) and maildev with jsdom loaded
 * on first use.
 */
import test from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import nodemailer from 'nodemailer';
import pg from 'pg';
import { freePort, waitFor } from '@saas/kit/testing';
import { buildImage, type Built } from '../../cluster/runtimes/local/build.ts';
import { acceptsConnections } from '../helpers/net.ts';

const projectDir = path.resolve(import.meta.dirname, '../..');
const work = mkdtempSync(path.join(tmpdir(), 'stand-ins-'));
const buildDir = path.join(work, 'build');
const children = new Set<ChildProcess>();

test.after.always(() => {
  for (const c of children) c.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

const builds = new Map<string, Promise<Built>>();
const built = (image: string) => {
  if (!builds.has(image)) builds.set(image, buildImage(projectDir, buildDir, image, 'bundle'));
  return builds.get(image)!;
};

interface Run {
  child: ChildProcess;
  output: () => string;
  exit: Promise<number | null>;
}

async function run(image: string, env: Record<string, string>): Promise<Run> {
  const b = await built(image);
  const child = spawn(b.command, b.args, { env: { ...process.env, HOST: '127.0.0.1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (out += s));
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (out += s));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => (children.delete(child), resolve(code))));
  return { child, output: () => out, exit };
}

/** Listening, and its start-up line (which says how the database was made) logged. */
async function ready(r: Run, port: number): Promise<void> {
  await waitFor('pglite listening', async () => (await acceptsConnections(port)) && /accepting connections/.test(r.output()), 120_000, 100);
}

async function stop(r: Run): Promise<void> {
  r.child.kill('SIGTERM');
  await r.exit;
}

const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

async function query<T>(port: number, sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: `postgresql://postgres:postgres@127.0.0.1:${port}/postgres` });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows as T[];
  } finally {
    await client.end();
  }
}

test('pglite makes a new database in a child process: the server starts small, leaves no temporary folder, and keeps the data across a restart', async (t) => {
  const data = path.join(work, 'data');
  const dataDir = path.join(data, 'users-db');
  mkdirSync(path.join(data, 'users-db.initdb-1'), { recursive: true });
  writeFileSync(path.join(data, 'users-db.initdb-1', 'junk'), 'left by an initdb that was killed');
  const port = await freePort();
  const first = await run('pglite', { PORT: String(port), DATA_DIR: dataDir });
  await ready(first, port);
  t.true(existsSync(path.join(dataDir, 'PG_VERSION')));
  t.deepEqual(readdirSync(data), ['users-db'], 'the half-made folder is gone and the new one renamed into place');
  // initdb grows PGlite's memory to ~590 MB; done in a child, the server holds only the opened database.
  t.true(rssMb(first.child.pid!) < 250, `server RSS ${rssMb(first.child.pid!).toFixed(0)} MB`);
  t.regex(first.output(), /"database":"created"/);

  await query(port, 'CREATE TABLE kept (v text)');
  await query(port, 'INSERT INTO kept VALUES ($1)', ['survives a restart']);
  await stop(first);

  const second = await run('pglite', { PORT: String(port), DATA_DIR: dataDir });
  await ready(second, port);
  t.regex(second.output(), /"database":"existing"/);
  t.deepEqual(await query<{ v: string }>(port, 'SELECT v FROM kept'), [{ v: 'survives a restart' }]);
  await stop(second);
});

test('two pglite stand-ins started at once with one template: initdb runs once, each database is a copy of it, and they are separate', async (t) => {
  const data = path.join(work, 'templated');
  const template = path.join(work, 'template', 'pglite-template');
  const ports = [await freePort(), await freePort()];
  const runs = await Promise.all(ports.map((port, i) => run('pglite', { PORT: String(port), DATA_DIR: path.join(data, `db${i}`), TEMPLATE_DIR: template })));
  for (const [i, port] of ports.entries()) await ready(runs[i]!, port);
  for (const r of runs) t.regex(r.output(), /"database":"copied"/);
  const made = readdirSync(path.dirname(template));
  t.is(made.length, 1, `one template, no lock or temporary folder left: ${made.join(', ')}`);
  t.regex(made[0]!, /^pglite-template-[0-9a-f]{12}$/);
  await query(ports[0]!, 'CREATE TABLE only_in_first (v int)');
  t.deepEqual(await query<{ n: string }>(ports[1]!, "SELECT count(*) AS n FROM pg_tables WHERE tablename = 'only_in_first'"), [{ n: '0' }]);
  await Promise.all(runs.map(stop));
});

test('pglite refuses a data folder that holds files but no database, with exit 78 and what to do', async (t) => {
  const dataDir = path.join(work, 'not-a-database');
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(path.join(dataDir, 'notes.txt'), 'someone else’s files');
  const r = await run('pglite', { PORT: String(await freePort()), DATA_DIR: dataDir });
  t.is(await r.exit, 78);
  t.regex(r.output(), /holds files but no database/);
  t.deepEqual(readdirSync(dataDir), ['notes.txt'], 'nothing of theirs is touched');
});

test('mailcatcher from its bundle (jsdom stood in, loaded on first use) gives a read mail back with its HTML sanitised', async (t) => {
  const [web, smtp] = [await freePort(), await freePort()];
  const r = await run('mailcatcher', { PORT: String(web), SMTP_PORT: String(smtp), MAIL_DIR: path.join(work, 'mail') });
  await waitFor('maildev web', async () => (await fetch(`http://127.0.0.1:${web}/healthz`).catch(() => undefined))?.ok, 60_000, 100);
  await nodemailer.createTransport({ host: '127.0.0.1', port: smtp, secure: false, ignoreTLS: true }).sendMail({
    from: 'noreply@scope.local',
    to: 'someone@example.com',
    subject: 'Welcome',
    html: '<p>Hello <a href="http://frontend/login">log in</a></p><script>alert(1)</script>',
  });
  const list = await waitFor('the mail listed', async () => {
    const mails = (await (await fetch(`http://127.0.0.1:${web}/email`)).json()) as { id: string; subject: string }[];
    return mails.length ? mails : undefined;
  });
  t.is(list[0]!.subject, 'Welcome');
  const one = (await (await fetch(`http://127.0.0.1:${web}/email/${list[0]!.id}`)).json()) as { html: string };
  t.regex(one.html, /<a href="http:\/\/frontend\/login">log in<\/a>/);
  t.notRegex(one.html, /<script/);
  await stop(r);
});
