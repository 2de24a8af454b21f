/** The checkout's Deployments and the per-org Scope apps, as `dev status` shows every runtime. */
import { APP_ROLE, LABELS } from '@saas/kit/contracts';
import type { ScopeAppStatus, ServiceStatus } from '../runtime.ts';
import type { Kube } from './client.ts';
import { deploymentReady, fatalReason, lastRestartReason, podProgress, podsOf, restartsOf } from './pods.ts';

export interface ClusterStatus {
  services: ServiceStatus[];
  apps: ScopeAppStatus[];
}

const stateOf: Record<string, string> = { Ready: 'running', Running: 'starting', ContainerCreating: 'starting', Pending: 'starting', Terminating: 'stopped' };

export async function clusterStatus(kube: Kube, namespace: string, checkout: string): Promise<ClusterStatus> {
  const list = await kube.apps.listNamespacedDeployment({ namespace, labelSelector: `${LABELS.project}=${checkout}` });
  const services: ServiceStatus[] = [];
  const apps: ScopeAppStatus[] = [];
  for (const d of list.items) {
    const pods = await podsOf(kube, d);
    const pod = pods.find((p) => !p.metadata?.deletionTimestamp) ?? pods[0];
    const fatal = pod && fatalReason(pod);
    const progress = pod ? podProgress(pod) : 'Pending';
    const ready = deploymentReady(d);
    const state = fatal ? (fatal.reason === 'CrashLoopBackOff' ? 'backoff' : 'crashed') : ready ? 'running' : (stateOf[progress] ?? 'starting');
    const org = d.metadata?.labels?.[LABELS.org];
    if (d.metadata?.labels?.[LABELS.role] === APP_ROLE && org) {
      apps.push({ org, state: ready ? 'ready' : state, container: `deployment/${d.metadata?.name}` });
      continue;
    }
    const started = pod?.status?.startTime;
    const message = fatal ? `${fatal.reason}${fatal.message ? `: ${fatal.message}` : ''}` : pod && lastRestartReason(pod);
    services.push({
      name: d.metadata?.name ?? '',
      ready,
      state,
      restarts: pods.reduce((n, p) => n + restartsOf(p), 0),
      ...(started ? { startedAt: new Date(started).getTime() } : {}),
      ...(message ? { message } : {}),
    });
  }
  services.sort((a, b) => a.name.localeCompare(b.name));
  return { services, apps };
}
