import { EXIT_OK, type RunOf } from '../args.ts';
import { openRuntime, pickTarget } from '../context.ts';

export const down: RunOf<'down'> = async (ctx, options) => {
  const target = pickTarget(ctx, options);
  const name = target.name;
  const runtime = await openRuntime(ctx, target);
  await runtime.down({ emit: (e) => ctx.renderer.event(e), wipe: options.wipe });
  // kind: the cluster is deleted, the databases' volumes with it; elsewhere the data stays unless --wipe.
  const data = options.wipe ? ', data deleted' : name === 'kind' ? ' (the cluster, and the data in it, deleted)' : ' (data kept; dev down --wipe deletes it)';
  ctx.renderer.print(`stopped everything of runtime ${name}${data}.`);
  return EXIT_OK;
};
