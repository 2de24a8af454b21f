/**
 * Waits until every Deployment is ready, reporting each one's progress (Pending → ContainerCreating → Running
 * → Ready), and fails fast: a pod that cannot start (crash loop, image not on the node, unschedulable, bad
 * config) ends the wait within a poll with a diagnosis — the reason, the pod's events, its last log lines.
 */
import type { V1Deployment } from '@kubernetes/client-node';
import { StepError } from '../events.ts';
import type { Kube } from './client.ts';
import { deploymentReady, fatalReason, podEvents, podLogTail, podProgress, podsOf, restartsOf } from './pods.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface WaitOptions {
  deadline: number;
  progress: (message: string) => void;
  pollMs?: number;
  signal?: AbortSignal;
}

/** Resolves when the Deployment is ready; throws a StepError with the diagnosis when it cannot become so. */
export async function waitDeployment(kube: Kube, name: string, namespace: string, opts: WaitOptions): Promise<void> {
  let last = '';
  for (;;) {
    opts.signal?.throwIfAborted();
    const d: V1Deployment = await kube.apps.readNamespacedDeployment({ name, namespace });
    const pods = await podsOf(kube, d);
    if (deploymentReady(d) && pods.every((p) => p.metadata?.deletionTimestamp || podProgress(p) === 'Ready')) return;
    const current = pods.filter((p) => !p.metadata?.deletionTimestamp);
    for (const p of current) {
      const fatal = fatalReason(p);
      if (!fatal) continue;
      const crashed = fatal.reason === 'CrashLoopBackOff' || restartsOf(p) > 0;
      const lines = await podLogTail(kube, p, 20, crashed);
      const events = await podEvents(kube, p);
      throw new StepError({
        summary: `${name}: pod ${p.metadata?.name} is ${fatal.reason}${fatal.message ? `: ${fatal.message}` : ''}`,
        hint: fatal.reason.includes('Image')
          ? `the image is not on the node: run \`dev up\` again to load it, or check \`kubectl --context ${kube.context} describe pod -n ${namespace} ${p.metadata?.name}\``
          : `see \`dev logs ${name}\` and \`kubectl --context ${kube.context} describe pod -n ${namespace} ${p.metadata?.name}\``,
        logs: [
          ...(events.length ? [{ source: `events of ${p.metadata?.name}`, lines: events }] : []),
          ...(lines.length ? [{ source: `${name}${crashed ? ' (before its last restart)' : ''}`, lines }] : []),
        ],
      });
    }
    const phase = current.map(podProgress).sort().join(', ') || 'Pending';
    if (phase !== last) opts.progress(phase);
    last = phase;
    if (Date.now() > opts.deadline) {
      throw new StepError({ summary: `${name} was not ready in time (pods: ${phase})`, hint: `see \`dev logs ${name}\` or \`dev status\`` });
    }
    await sleep(opts.pollMs ?? 500);
  }
}
