import { once } from 'node:events';
import { startConnectProxy } from '../../cluster/connect/proxy.ts';
import { EXIT_FAILURE, EXIT_OK } from '../args.ts';
import { openRuntime, pickRuntime, type Context } from '../context.ts';
import { openLines } from './status.ts';

export async function connect(ctx: Context, values: Record<string, unknown>): Promise<number> {
  const name = pickRuntime(ctx, values.runtime);
  const runtime = await openRuntime(ctx, name);
  const endpoints = await runtime.endpoints();
  if (!endpoints) {
    ctx.stderr.write(`dev connect: nothing is running (runtime ${name}); start it first: dev up\n`);
    return EXIT_FAILURE;
  }
  const port = typeof values.port === 'string' ? Number(values.port) : 8000;
  let proxy;
  try {
    proxy = await startConnectProxy({
      endpoints,
      port,
      onRequest: ({ method, url, status }) => ctx.stderr.write(`${new Date().toISOString().slice(11, 19)} ${String(status).padEnd(6)} ${method} ${url}\n`),
    });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    ctx.stderr.write(`dev connect: cannot listen on 127.0.0.1:${port}: ${e.code === 'EADDRINUSE' ? 'the port is taken; pick another with --port' : e.message}\n`);
    return EXIT_FAILURE;
  }
  ctx.renderer.print(
    [
      ...openLines(endpoints),
      '',
      `browser proxy on ${proxy.url} (loopback only) for the in-cluster names:`,
      ...proxy.routes.map((r) => `  http://${r.hosts[3]}  (or http://${r.hosts[0]})  → ${r.target}`),
      '',
      `e.g. chromium --proxy-server=${proxy.url} --user-data-dir=$(mktemp -d) http://frontend.default.svc.cluster.local`,
      'other hosts are refused. Ctrl-C stops.',
    ].join('\n'),
  );
  if (!ctx.signal.aborted) await once(ctx.signal, 'abort');
  await proxy.close();
  return EXIT_OK;
}
