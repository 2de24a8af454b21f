/** What a pod is doing, in the words `dev` shows: its phase of starting, and why it cannot start. */
import type { V1Deployment, V1Pod } from '@kubernetes/client-node';
import type { Kube } from './client.ts';

export type PodProgress = 'Pending' | 'ContainerCreating' | 'Running' | 'Ready' | 'Terminating';

/** Container and scheduling reasons that will not mend by waiting. */
export const FATAL_REASONS = new Set(['CrashLoopBackOff', 'ErrImageNeverPull', 'ImagePullBackOff', 'ErrImagePull', 'InvalidImageName', 'CreateContainerConfigError', 'Unschedulable']);

export function podProgress(p: V1Pod): PodProgress {
  if (p.metadata?.deletionTimestamp) return 'Terminating';
  if (p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) return 'Ready';
  const waiting = p.status?.containerStatuses?.find((c) => c.state?.waiting)?.state?.waiting?.reason;
  if (p.status?.phase === 'Running' && !waiting) return 'Running';
  if (p.spec?.nodeName && (waiting === 'ContainerCreating' || !p.status?.containerStatuses)) return 'ContainerCreating';
  return p.status?.phase === 'Running' ? 'Running' : 'Pending';
}

/** Why the pod cannot become ready, when that will not change by waiting. */
export function fatalReason(p: V1Pod): { reason: string; message: string; container?: string } | undefined {
  if (p.metadata?.deletionTimestamp) return undefined;
  const unschedulable = p.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False' && c.reason === 'Unschedulable');
  // Waiting for a claim to be bound mends by itself once the provisioner has made its volume.
  if (unschedulable && !/unbound .*PersistentVolumeClaims/i.test(unschedulable.message ?? '')) return { reason: 'Unschedulable', message: unschedulable.message ?? '' };
  for (const c of p.status?.containerStatuses ?? []) {
    const w = c.state?.waiting;
    if (w?.reason && FATAL_REASONS.has(w.reason)) return { reason: w.reason, message: w.message ?? '', container: c.name };
  }
  return undefined;
}

export function restartsOf(p: V1Pod): number {
  return (p.status?.containerStatuses ?? []).reduce((n, c) => n + c.restartCount, 0);
}

export function lastRestartReason(p: V1Pod): string | undefined {
  const t = p.status?.containerStatuses?.find((c) => c.lastState?.terminated)?.lastState?.terminated;
  return t ? `${t.reason ?? 'exited'} (exit code ${t.exitCode})` : undefined;
}

export function selectorOf(d: V1Deployment): string {
  return Object.entries(d.spec?.selector.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`).join(',');
}

export function deploymentReady(d: V1Deployment): boolean {
  const want = d.spec?.replicas ?? 1;
  const s = d.status;
  return (s?.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0) && (s?.updatedReplicas ?? 0) >= want && (s?.availableReplicas ?? 0) >= want && (s?.replicas ?? 0) <= want;
}

export async function podsOf(kube: Kube, d: V1Deployment): Promise<V1Pod[]> {
  const namespace = d.metadata?.namespace ?? 'default';
  return (await kube.core.listNamespacedPod({ namespace, labelSelector: selectorOf(d) })).items;
}

/** The last lines of a pod's main container; with previous, of the instance before the last restart. */
export async function podLogTail(kube: Kube, p: V1Pod, lines = 20, previous = false): Promise<string[]> {
  try {
    const text = await kube.core.readNamespacedPodLog({ name: p.metadata?.name ?? '', namespace: p.metadata?.namespace ?? 'default', tailLines: lines, ...(previous ? { previous } : {}) });
    return text.split('\n').filter(Boolean).slice(-lines);
  } catch {
    return [];
  }
}

export async function podEvents(kube: Kube, p: V1Pod): Promise<string[]> {
  try {
    const list = await kube.core.listNamespacedEvent({ namespace: p.metadata?.namespace ?? 'default', fieldSelector: `involvedObject.name=${p.metadata?.name ?? ''}` });
    return list.items.slice(-10).map((e) => `${e.type ?? ''} ${e.reason ?? ''}: ${e.message ?? ''}`.trim());
  } catch {
    return [];
  }
}
