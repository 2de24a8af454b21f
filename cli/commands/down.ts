import { EXIT_OK, type RunOf } from '../args.ts';
import { openRuntime, pickTarget } from '../context.ts';

export const down: RunOf<'down'> = async (ctx, options) => {
  const target = pickTarget(ctx, options);
  const name = target.name;
  const runtime = await openRuntime(ctx, target);
  await runtime.down({ emit: (e) => ctx.renderer.event(e), wipe: options.wipe });
  // On a cluster the stand-in databases keep their data in the pod (emptyDir), so it goes with them.
  const onCluster = name === 'kubernetes' || name === 'kind';
  const data = options.wipe ? ', data deleted' : onCluster ? ' (the databases went with their pods)' : ' (data kept; dev down --wipe deletes it)';
  ctx.renderer.print(`stopped everything of runtime ${name}${data}.`);
  return EXIT_OK;
};
