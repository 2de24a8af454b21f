import { EXIT_OK, type RunOf } from '../args.ts';
import { openRuntime, pickTarget } from '../context.ts';

export const down: RunOf<'down'> = async (ctx, options) => {
  const target = pickTarget(ctx, options);
  const name = target.name;
  const runtime = await openRuntime(ctx, target);
  await runtime.down({ emit: (e) => ctx.renderer.event(e), wipe: options.wipe });
  ctx.renderer.print(`stopped everything of runtime ${name}${options.wipe ? ', data deleted' : ' (data kept; dev down --wipe deletes it)'}.`);
  return EXIT_OK;
};
