import { EXIT_USAGE } from '../args.ts';
import type { Context } from '../context.ts';

export async function build(ctx: Context): Promise<number> {
  ctx.stderr.write(
    'dev build: the docker runtime builds images: not available yet.\n' +
      'The local runtime runs the services from source and needs no build: dev up\n',
  );
  return EXIT_USAGE;
}
