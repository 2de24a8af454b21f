import { once } from 'node:events';
import type { ProbeStarter } from '../../cluster/smoke/flow.ts';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from '../args.ts';
import { openRuntime, pickRuntime, type Context } from '../context.ts';

export async function probe(ctx: Context, values: Record<string, unknown>, positionals: string[]): Promise<number> {
  let url = positionals[0];
  if (url === undefined) {
    const name = pickRuntime(ctx, values.runtime);
    const endpoints = await (await openRuntime(ctx, name)).endpoints();
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
  const probeModule = '../../images/scope/src/probe/main.ts';
  const { startProbe } = (await import(probeModule)) as { startProbe: ProbeStarter };
  const handle = await startProbe({ url, token: String(values.token) });
  ctx.renderer.print(`probe reporting this machine to ${url}. Ctrl-C stops.`);
  if (!ctx.signal.aborted) await once(ctx.signal, 'abort');
  await handle.stop();
  ctx.renderer.print('probe stopped.');
  return EXIT_OK;
}
