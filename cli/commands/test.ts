import { preloadProbe, runSmoke } from '../../cluster/smoke/flow.ts';
import { tailLog } from '../../cluster/smoke/logs.ts';
import { EXIT_FAILURE, EXIT_OK, type RunOf } from '../args.ts';
import { openRuntime, pickTarget } from '../context.ts';
import { duration } from '../render/plain.ts';

export const test: RunOf<'test'> = async (ctx, options) => {
  preloadProbe(); // it takes a while to load: let it overlap the status call and the first steps
  const target = pickTarget(ctx, options);
  const name = target.name;
  const runtime = await openRuntime(ctx, target);
  const s = await runtime.status();
  const endpoints = s.endpoints;
  if (!endpoints) {
    const message = `nothing is running (runtime ${name}); start it first: dev up${name === 'local' ? '' : ` --runtime ${name}`}`;
    if (options.json) ctx.renderer.print(JSON.stringify({ ok: false, runtime: name, error: message }, null, 2));
    ctx.stderr.write(`dev test: ${message}\n`);
    return EXIT_FAILURE;
  }
  for (const svc of s.services.filter((x) => !x.ready)) {
    ctx.renderer.event({ type: 'notice', level: 'warn', message: `${svc.name} is not ready (${svc.state}${svc.message ? `: ${svc.message}` : ''}); the flow may fail where it needs it`, at: Date.now() });
  }
  const result = await runSmoke({
    endpoints,
    emit: (e) => ctx.renderer.event(e),
    logs: (service, n) => tailLog(runtime, service, n),
    signal: ctx.signal,
  });
  if (options.json) {
    ctx.renderer.print(JSON.stringify({ runtime: name, endpoints, ...result }, null, 2));
  } else if (result.ok) {
    ctx.renderer.print(`smoke flow passed in ${duration(result.durationMs)} (${result.email}, organisation ${result.organization}).`);
  } else {
    ctx.renderer.print(`smoke flow FAILED at "${result.failure?.title}" after ${duration(result.durationMs)}: ${result.failure?.diagnosis.summary}`);
  }
  return result.ok ? EXIT_OK : EXIT_FAILURE;
};
