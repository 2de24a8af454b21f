import path from 'node:path';
import { loadManifests } from '../../cluster/manifests/load.ts';
import { EXIT_OK } from '../args.ts';
import { openRuntime, pickRuntime, writeState, type Context } from '../context.ts';
import { duration } from '../render/plain.ts';
import { openLines } from './status.ts';

export async function up(ctx: Context, values: Record<string, unknown>): Promise<number> {
  const name = pickRuntime(ctx, values.runtime);
  const manifests = await loadManifests(path.join(ctx.projectDir, 'manifests', 'local'));
  const runtime = await openRuntime(ctx, name);
  // Remember the runtime first, so `dev status` and `dev down` follow it even if this up fails half-way.
  writeState(ctx.devDir, { runtime: name });
  const t0 = Date.now();
  const timeoutMs = typeof values.timeout === 'string' ? Number(values.timeout) * 1000 : 180_000;
  const s = await runtime.up({ manifests, emit: (e) => ctx.renderer.event(e), timeoutMs });
  const lines = [`${s.services.length} services ready in ${duration(Date.now() - t0)} (runtime ${name}).`];
  if (s.endpoints) lines.push(...openLines(s.endpoints));
  lines.push('', 'next: dev test (the whole flow) · dev status · dev logs <service> · dev connect (in-cluster names in a browser) · dev down');
  ctx.renderer.print(lines.join('\n'));
  return EXIT_OK;
}
