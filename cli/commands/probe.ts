import { once } from 'node:events';
import { pino } from 'pino';
import type { ProbeEvent } from '@saas/scope/probe';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, type RunOf } from '../args.ts';
import { openRuntime, pickTarget } from '../context.ts';
import { plural } from '../../cluster/words.ts';

export const probe: RunOf<'probe'> = async (ctx, options, positionals) => {
  let url = positionals[0];
  if (url === undefined) {
    const target = pickTarget(ctx, options);
    const name = target.name;
    const endpoints = await (await openRuntime(ctx, target)).endpoints();
    if (!endpoints) {
      ctx.stderr.write(`dev probe: nothing is running (runtime ${name}) to report to; start it (dev up) or give the URL: dev probe --token T http://…\n`);
      return EXIT_FAILURE;
    }
    url = endpoints.frontend;
  }
  try {
    const u = new URL(url);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('not http');
  } catch {
    ctx.stderr.write(`dev probe: '${url}' is not an http(s) URL\n`);
    return EXIT_USAGE;
  }
  const { startProbe } = await import('@saas/scope/probe');
  let lastFailure = '';
  const handle = startProbe({
    url,
    token: options.token,
    log: pino({ level: 'silent' }),
    onEvent: (e) => {
      const line = describe(e);
      // A failing probe retries with backoff; say so once per kind of failure, not at every attempt.
      const failure = e.type === 'handshake-failed' || e.type === 'publish-failed' ? `${e.type}:${e.reason}` : '';
      if (failure && failure === lastFailure) return;
      lastFailure = failure;
      if (line) ctx.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
    },
  });
  ctx.renderer.print(`probe ${handle.probeID} reporting host ${handle.hostID} to ${url}. Ctrl-C stops.`);
  if (!ctx.signal.aborted) await once(ctx.signal, 'abort');
  await handle.stop();
  ctx.renderer.print(`probe stopped after ${plural(handle.published, 'report')}.`);
  return EXIT_OK;
};

function describe(e: ProbeEvent): string | undefined {
  switch (e.type) {
    case 'handshake':
      return `connected to app ${e.appID}${e.appVersion ? ` (version ${e.appVersion})` : ''}`;
    case 'handshake-failed':
    case 'publish-failed':
      return `${e.type === 'handshake-failed' ? 'handshake' : 'report'} failed (${e.reason}${e.status ? ` ${e.status}` : ''}): ${e.message}; retrying in ${Math.round(e.retryInMs / 1000)} s`;
    case 'published':
      return e.count === 1 || e.count % 20 === 0 ? `${plural(e.count, 'report')} accepted` : undefined;
    case 'stopped':
      return e.error ? `probe stopped: ${e.error}` : undefined;
    case 'scan':
      return undefined;
  }
}
