import { fileURLToPath } from 'node:url';
import { EXIT_OK, type RunOf } from '../args.ts';
import { openRuntime, pickTarget, wantsInk } from '../context.ts';
import { formatStatus, statusJson } from '../render/status.ts';

/** The live view needs both ends to be a terminal (raw-mode keys in, redraws out); otherwise the plain tables. */
function interactive(out: NodeJS.WritableStream): out is NodeJS.WriteStream {
  return wantsInk(out) && process.stdin.isTTY === true;
}

export const status: RunOf<'status'> = async (ctx, options) => {
  const runtime = await openRuntime(ctx, pickTarget(ctx, options));
  const s = await runtime.status();
  if (options.json) ctx.renderer.print(JSON.stringify(statusJson(s), null, 2));
  else if (interactive(ctx.stdout)) {
    // On a terminal the tables stay live, with keys for logs, mail, restarts and the smoke test (cli/ui/).
    const { runStatusUi } = await import('../ui/StatusApp.tsx');
    const bin = fileURLToPath(new URL('../bin/dev.js', import.meta.url));
    await runStatusUi({
      runtime,
      initial: s,
      stdout: ctx.stdout,
      stdin: process.stdin,
      testCommand: { title: `dev test --runtime ${s.runtime}`, command: process.execPath, args: [bin, 'test', '--runtime', s.runtime] },
    });
  } else ctx.renderer.print(formatStatus(s));
  return EXIT_OK;
};
