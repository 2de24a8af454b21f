import { EXIT_OK } from '../args.ts';
import { openRuntime, pickRuntime, type Context } from '../context.ts';

export async function down(ctx: Context, values: Record<string, unknown>): Promise<number> {
  const name = pickRuntime(ctx, values.runtime);
  const runtime = await openRuntime(ctx, name);
  await runtime.down({ emit: (e) => ctx.renderer.event(e), wipe: values.wipe === true });
  ctx.renderer.print(`stopped everything of runtime ${name}${values.wipe ? ', data deleted' : ' (data kept; dev down --wipe deletes it)'}.`);
  return EXIT_OK;
}
