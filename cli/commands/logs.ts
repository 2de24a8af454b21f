import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, type RunOf } from '../args.ts';
import { suggest } from '../suggest.ts';
import { openRuntime, pickTarget } from '../context.ts';
import { formatLogLine } from '../render/plain.ts';

export const logs: RunOf<'logs'> = async (ctx, options, positionals) => {
  const service = positionals[0]!;
  const target = pickTarget(ctx, options);
  const name = target.name;
  const runtime = await openRuntime(ctx, target);
  const s = await runtime.status();
  const names = s.services.map((x) => x.name);
  if (names.length && !names.includes(service)) {
    const guess = suggest(service, names);
    ctx.stderr.write(`dev logs: no service '${service}' in runtime ${name}${guess ? `. Did you mean 'dev logs ${guess}'?` : ''}\nservices: ${names.join(', ')}\n`);
    return EXIT_USAGE;
  }
  const pretty = (ctx.stdout as NodeJS.WriteStream).isTTY === true;
  try {
    await runtime.logs(service, (line) => ctx.stdout.write(`${pretty ? formatLogLine(line) : line}\n`), {
      follow: options.follow,
      tail: options.tail,
      signal: ctx.signal,
    });
  } catch (err) {
    if (ctx.signal.aborted) return EXIT_OK;
    ctx.stderr.write(`dev logs: ${(err as Error).message}\n`);
    return EXIT_FAILURE;
  }
  return EXIT_OK;
};
