import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, suggest } from '../args.ts';
import { openRuntime, pickRuntime, type Context } from '../context.ts';
import { formatLogLine } from '../render/plain.ts';

export async function logs(ctx: Context, values: Record<string, unknown>, positionals: string[]): Promise<number> {
  const service = positionals[0]!;
  const name = pickRuntime(ctx, values.runtime);
  const runtime = await openRuntime(ctx, name);
  const s = await runtime.status();
  const names = s.services.map((x) => x.name);
  if (names.length && !names.includes(service)) {
    const guess = suggest(service, names);
    ctx.stderr.write(`dev logs: no service '${service}' in runtime ${name}${guess ? `. Did you mean 'dev logs ${guess}'?` : ''}\nservices: ${names.join(', ')}\n`);
    return EXIT_USAGE;
  }
  const pretty = (ctx.stdout as NodeJS.WriteStream).isTTY === true;
  const tail = typeof values.tail === 'string' ? Number(values.tail) : 100;
  try {
    await runtime.logs(service, (line) => ctx.stdout.write(`${pretty ? formatLogLine(line) : line}\n`), {
      follow: values.follow === true,
      tail,
      signal: ctx.signal,
    });
  } catch (err) {
    if (ctx.signal.aborted) return EXIT_OK;
    ctx.stderr.write(`dev logs: ${(err as Error).message}\n`);
    return EXIT_FAILURE;
  }
  return EXIT_OK;
}
