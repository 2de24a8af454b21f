/**
 * npm run k8s -- up | down | status | load IMAGE...
 * A single-node Kubernetes for the tests, built from Debian's packages (see README, "Kubernetes tests").
 */
import { ClusterError, requireRoot } from './host.ts';
import { KUBECONFIG_PATH } from './layout.ts';
import { loadImages } from './load.ts';
import { withLock } from './lock.ts';
import { teardown } from './teardown.ts';

const started = Date.now();
const say = (line: string) => console.log(`[k8s ${String(Math.round((Date.now() - started) / 1000)).padStart(3)}s] ${line}`);
const USAGE = 'usage: npm run k8s -- up | down | status | load IMAGE...';

async function main(command: string | undefined, args: string[]): Promise<number> {
  switch (command) {
    case 'up': {
      requireRoot();
      const { up } = await import('./cluster.ts');
      await withLock(say, () => up(say));
      say('up');
      console.log(`KUBECONFIG=${KUBECONFIG_PATH}`);
      return 0;
    }
    case 'down': {
      requireRoot();
      const r = await withLock(say, teardown);
      say(`stopped ${r.stopped.join(', ') || 'nothing (nothing ran)'}`);
      say(`killed ${r.podProcesses} pod processes and ${r.shims} shims; unmounted ${r.mounts}; removed ${r.chains} KUBE-* chains and ${r.cgroups} cgroups`);
      say(r.sysctls.length ? `restored ${r.sysctls.join(', ')}` : 'no sysctl to restore');
      return 0;
    }
    case 'status': {
      requireRoot();
      const { describe, status } = await import('./cluster.ts');
      const s = await status();
      for (const line of describe(s)) console.log(line);
      if (!s.apiAnswers) {
        console.error('the test cluster is not up: run npm run k8s -- up');
        return 1;
      }
      console.log(`KUBECONFIG=${KUBECONFIG_PATH}`);
      return 0;
    }
    case 'load':
      requireRoot();
      await withLock(say, () => loadImages(args));
      say(`loaded ${args.join(' ')} into the node's containerd`);
      return 0;
    default:
      console.error(command ? `unknown command ${command}\n${USAGE}` : USAGE);
      return 2;
  }
}

try {
  process.exitCode = await main(process.argv[2], process.argv.slice(3));
} catch (err) {
  if (err instanceof ClusterError) {
    console.error(`k8s: ${err.message}`);
    if (err.hint) console.error(`next: ${err.hint}`);
  } else {
    console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  }
  process.exitCode = 1;
}
