import { EXIT_OK, EXIT_USAGE, type RunOf } from '../args.ts';
import { suggest } from '../suggest.ts';
import { duration } from '../render/plain.ts';

/** `dev build [image…] [--force]`: builds the images with dockerode; unchanged inputs mean no build. */
export const build: RunOf<'build'> = async (ctx, options, positionals) => {
  const { buildImages, imageSpec, IMAGE_NAMES } = await import('../../cluster/images/index.ts');
  const known: readonly string[] = IMAGE_NAMES;
  for (const name of positionals) {
    if (!known.includes(name)) {
      const guess = suggest(name, [...known]);
      ctx.stderr.write(`dev build: no image '${name}'${guess ? `. Did you mean 'dev build ${guess}'?` : ''}\nimages: ${known.join(', ')}\n`);
      return EXIT_USAGE;
    }
  }
  const t0 = Date.now();
  const built = await buildImages({
    emit: (e) => ctx.renderer.event(e),
    root: ctx.projectDir,
    images: positionals.length ? positionals.map((n) => imageSpec(n, ctx.projectDir)) : undefined,
    force: options.force,
  });
  const rows = [...built.values()].map(
    (b) => `  ${b.name.padEnd(12)} ${b.tag.padEnd(42)} ${(b.sizeBytes / 1e6).toFixed(1).padStart(6)} MB  ${b.built ? `built in ${duration(b.durationMs)}` : 'unchanged'}`,
  );
  const fresh = [...built.values()].filter((b) => b.built).length;
  ctx.renderer.print([`${built.size} images, ${fresh} built, in ${duration(Date.now() - t0)}:`, ...rows].join('\n'));
  return EXIT_OK;
};
