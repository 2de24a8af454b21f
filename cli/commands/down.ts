import { EXIT_OK, type RunOf } from '../args.ts';
import { openRuntime, pickRuntime } from '../context.ts';

export const down: RunOf<'down'> = async (ctx, options) => {
  const name = pickRuntime(ctx, options.runtime);
  const runtime = await openRuntime(ctx, name);
  await runtime.down({ emit: (e) => ctx.renderer.event(e), wipe: options.wipe });
  ctx.renderer.print(`stopped everything of runtime ${name}${options.wipe ? ', data deleted' : ' (data kept; dev down --wipe deletes it)'}.`);
  return EXIT_OK;
};
