import path from 'node:path';
import { StepError } from '../../cluster/events.ts';
import { INSTALL_HINT } from '../../cluster/kind/cli.ts';
import { loadKubeConfig } from '../../cluster/kubernetes/client.ts';
import { which } from 'zx';
import { loadManifests } from '../../cluster/manifests/load.ts';
import { EXIT_OK, type RunOf } from '../args.ts';
import { openRuntime, pickTarget, writeState } from '../context.ts';
import { duration } from '../render/plain.ts';
import { openLines } from '../render/status.ts';

export const up: RunOf<'up'> = async (ctx, options) => {
  const target = pickTarget(ctx, options);
  const name = target.name;
  const manifests = await loadManifests(path.join(ctx.projectDir, 'manifests', 'local'));
  // A kubeconfig or context that does not exist is refused before it is remembered.
  if (name === 'kubernetes') {
    try {
      loadKubeConfig(target.cluster ?? {});
    } catch (err) {
      if (!(err instanceof StepError)) throw err;
      throw new Error(`${err.diagnosis.summary}${err.diagnosis.hint ? `; ${err.diagnosis.hint}` : ''}`);
    }
  }
  if (name === 'kind' && !(await which('kind', { nothrow: true }))) {
    throw new Error(`kind is not on PATH: ${INSTALL_HINT}; or run the embedded default, \`dev up\` (--runtime local)`);
  }
  const runtime = await openRuntime(ctx, target, { standIns: options['stand-ins'] });
  // Remember the runtime (and cluster) first, so `dev status` and `dev down` follow it even if this up fails half-way.
  writeState(ctx.devDir, { runtime: name, ...(target.cluster ? { cluster: target.cluster } : {}) });
  const t0 = Date.now();
  const s = await runtime.up({ manifests, emit: (e) => ctx.renderer.event(e), timeoutMs: options.timeout * 1000 });
  const lines = [`${s.services.length} services ready in ${duration(Date.now() - t0)} (runtime ${name}).`];
  if (s.endpoints) lines.push(...openLines(s.endpoints));
  lines.push('', 'next: dev test (the whole flow) · dev status · dev logs <service> · dev connect (in-cluster names in a browser) · dev down');
  ctx.renderer.print(lines.join('\n'));
  return EXIT_OK;
};
