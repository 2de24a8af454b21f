/**
 * Waits until every Deployment is ready, reporting each one's progress (Pending → ContainerCreating → Running
 * → Ready), and fails fast: a pod that cannot start (crash loop, image not on the node, unschedulable, bad
 * config) ends the wait as soon as its watch reports it, with a diagnosis — the reason, the pod's events,
 * its last log lines. The state comes from two watches (the Deployment, its pods); a slow timer re-evaluates
 * it only as a guard.
 */
import type { V1Deployment, V1Pod } from '@kubernetes/client-node';
import { StepError } from '../events.ts';
import type { Kube } from './client.ts';
import { deploymentReady, fatalReason, podEvents, podLogTail, podProgress, restartsOf, selectorOf } from './pods.ts';
import { watchList, type ListWatcher, type WatchSource } from './watch.ts';

export interface WaitOptions {
  deadline: number;
  progress: (message: string) => void;
  /** How often the watched state is re-evaluated without a change (a guard; changes are evaluated at once). */
  pollMs?: number;
  signal?: AbortSignal;
}

const GUARD_MS = 5000;

export function deploymentSource(kube: Kube, namespace: string, name: string): WatchSource<V1Deployment> {
  return {
    path: `/apis/apps/v1/namespaces/${namespace}/deployments`,
    selectors: { fieldSelector: `metadata.name=${name}` },
    list: (selectors) => kube.apps.listNamespacedDeployment({ namespace, ...selectors }),
  };
}

export function podSource(kube: Kube, namespace: string, labelSelector: string): WatchSource<V1Pod> {
  return {
    path: `/api/v1/namespaces/${namespace}/pods`,
    selectors: { labelSelector },
    list: (selectors) => kube.core.listNamespacedPod({ namespace, ...selectors }),
  };
}

/** Resolves when the Deployment is ready; throws a StepError with the diagnosis when it cannot become so. */
export async function waitDeployment(kube: Kube, name: string, namespace: string, opts: WaitOptions): Promise<void> {
  opts.signal?.throwIfAborted();
  let settle: { resolve: () => void; reject: (err: unknown) => void } | undefined;
  const outcome = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
  let deployment: ListWatcher<V1Deployment> | undefined;
  let pods: ListWatcher<V1Pod> | undefined;
  let last = '';
  let finished = false;
  const finish = (err?: unknown) => {
    if (finished) return;
    finished = true;
    if (err === undefined) settle?.resolve();
    else settle?.reject(err);
  };

  const evaluate = () => {
    if (finished || !deployment || !pods) return;
    if (opts.signal?.aborted) return finish(opts.signal.reason);
    const d = deployment.items()[0];
    if (!d) return finish(new StepError({ summary: `the Deployment ${name} in namespace ${namespace} was deleted while waiting for it`, hint: 'run `dev up` again' }));
    const all = pods.items();
    const current = all.filter((p) => !p.metadata?.deletionTimestamp);
    const phase = current.map(podProgress).sort().join(', ') || 'Pending';
    if (deploymentReady(d) && all.every((p) => p.metadata?.deletionTimestamp || podProgress(p) === 'Ready')) {
      if (phase !== last) opts.progress(phase);
      return finish();
    }
    const failing = current.find((p) => fatalReason(p));
    if (failing) {
      finished = true;
      void diagnose(kube, name, namespace, failing).then(settle?.reject, settle?.reject);
      return;
    }
    if (phase !== last) opts.progress(phase);
    last = phase;
    if (Date.now() > opts.deadline) {
      finish(new StepError({ summary: `${name} was not ready in time (pods: ${phase})`, hint: `see \`dev logs ${name}\` or \`dev status\`` }));
    }
  };

  const onAbort = () => evaluate();
  const guard = setInterval(evaluate, opts.pollMs ?? GUARD_MS);
  const atDeadline = setTimeout(evaluate, Math.max(0, opts.deadline - Date.now()) + 1);
  opts.signal?.addEventListener('abort', onAbort);
  try {
    deployment = await watchList(kube, deploymentSource(kube, namespace, name), evaluate);
    const d = deployment.items()[0];
    if (!d) {
      throw new StepError({
        summary: `there is no Deployment ${name} in namespace ${namespace}`,
        hint: `run \`dev up\` to create it, or see \`kubectl --context ${kube.context} get deployments -n ${namespace}\``,
      });
    }
    pods = await watchList(kube, podSource(kube, namespace, selectorOf(d)), evaluate);
    evaluate();
    await outcome;
  } finally {
    clearInterval(guard);
    clearTimeout(atDeadline);
    opts.signal?.removeEventListener('abort', onAbort);
    deployment?.stop();
    pods?.stop();
  }
}

/** The StepError for a pod that will not start: its reason, its events and its last log lines. */
async function diagnose(kube: Kube, name: string, namespace: string, p: V1Pod): Promise<StepError> {
  const fatal = fatalReason(p);
  const reason = fatal?.reason ?? 'failing';
  const crashed = reason === 'CrashLoopBackOff' || restartsOf(p) > 0;
  const lines = await podLogTail(kube, p, 20, crashed);
  const events = await podEvents(kube, p);
  return new StepError({
    summary: `${name}: pod ${p.metadata?.name} is ${reason}${fatal?.message ? `: ${fatal.message}` : ''}`,
    hint: reason.includes('Image')
      ? `the image is not on the node: run \`dev up\` again to load it, or check \`kubectl --context ${kube.context} describe pod -n ${namespace} ${p.metadata?.name}\``
      : `see \`dev logs ${name}\` and \`kubectl --context ${kube.context} describe pod -n ${namespace} ${p.metadata?.name}\``,
    logs: [
      ...(events.length ? [{ source: `events of ${p.metadata?.name}`, lines: events }] : []),
      ...(lines.length ? [{ source: `${name}${crashed ? ' (before its last restart)' : ''}`, lines }] : []),
    ],
  });
}
