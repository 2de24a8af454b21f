import { once } from 'node:events';
import { startConnectProxy } from '../../cluster/connect/proxy.ts';
import { EXIT_FAILURE, EXIT_OK, type RunOf } from '../args.ts';
import { openRuntime, pickTarget } from '../context.ts';
import { openLines } from '../render/status.ts';

export const connect: RunOf<'connect'> = async (ctx, options) => {
  const target = pickTarget(ctx, options);
  const name = target.name;
  const runtime = await openRuntime(ctx, target);
  const endpoints = await runtime.endpoints();
  if (!endpoints) {
    ctx.stderr.write(`dev connect: nothing is running (runtime ${name}); start it first: dev up\n`);
    return EXIT_FAILURE;
  }
  let proxy;
  try {
    proxy = await startConnectProxy({
      endpoints,
      port: options.port,
      onRequest: ({ method, url, status }) => ctx.stderr.write(`${new Date().toISOString().slice(11, 19)} ${String(status).padEnd(6)} ${method} ${url}\n`),
    });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    ctx.stderr.write(`dev connect: cannot listen on 127.0.0.1:${options.port}: ${e.code === 'EADDRINUSE' ? 'the port is taken; pick another with --port' : e.message}\n`);
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
};
