/**
 * Scope apps as a Deployment + Service `scope-app-<orgID>` each, in app-mapper's own namespace. The objects'
 * labels are the record: a new app-mapper finds the last one's apps by label, and `dev down` removes them by
 * the checkout label the runtime passes in. Ready is the Deployment's available replicas, not a guess.
 */
import { AppsV1Api, CoreV1Api, type KubeConfig, type V1Deployment, type V1Service } from '@kubernetes/client-node';
import { APP_ROLE, appName, isOrgId, LABELS } from '@saas/kit/contracts';
import type { AppBackend, AppHandle, AppLiveness } from './types.ts';

export interface KubernetesBackendOptions {
  kubeConfig: KubeConfig;
  namespace: string;
  image: string;
  /** Put on every app's objects (the runtime's checkout label, so `dev down` finds them). */
  labels: Record<string, string>;
  /** The port the app listens on in its container. */
  port: number;
  env?: Record<string, string>;
}

export interface KubernetesApp extends AppHandle {
  name: string;
}

function status(err: unknown): number | undefined {
  const e = err as { code?: number; statusCode?: number };
  return e.code ?? e.statusCode;
}

/** Why a pod of the app cannot start, from its containers' waiting or terminated states. */
const hopeless = new Set(['CrashLoopBackOff', 'ErrImagePull', 'ImagePullBackOff', 'ErrImageNeverPull', 'CreateContainerConfigError', 'InvalidImageName']);

export class KubernetesBackend implements AppBackend<KubernetesApp> {
  readonly kind = 'kubernetes' as const;
  private readonly apps: AppsV1Api;
  private readonly core: CoreV1Api;

  constructor(private readonly opts: KubernetesBackendOptions) {
    this.apps = opts.kubeConfig.makeApiClient(AppsV1Api);
    this.core = opts.kubeConfig.makeApiClient(CoreV1Api);
  }

  private labelsOf(org: string): Record<string, string> {
    return { ...this.opts.labels, [LABELS.role]: APP_ROLE, [LABELS.org]: org };
  }

  private handle(org: string, startedAt: Date): KubernetesApp {
    return { org, name: appName(org), startedAt, ref: `deployment ${appName(org)} in ${this.opts.namespace}` };
  }

  async start(org: string): Promise<KubernetesApp> {
    const name = appName(org);
    const { namespace, port, image } = this.opts;
    await this.removeObjects(name);
    const labels = this.labelsOf(org);
    const selector = { [LABELS.role]: APP_ROLE, [LABELS.org]: org };
    const env = { ...this.opts.env, SCOPE_ROLE: 'app', HOST: '0.0.0.0', PORT: String(port) };
    const deployment: V1Deployment = {
      metadata: { name, namespace, labels },
      spec: {
        replicas: 1,
        selector: { matchLabels: selector },
        template: {
          metadata: { labels },
          spec: {
            automountServiceAccountToken: false,
            securityContext: { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000 },
            containers: [
              {
                name: 'scope-app',
                image,
                imagePullPolicy: 'IfNotPresent',
                env: Object.entries(env).map(([k, v]) => ({ name: k, value: v })),
                ports: [{ name: 'http', containerPort: port }],
                readinessProbe: { httpGet: { path: '/readyz', port: 'http' }, periodSeconds: 1, timeoutSeconds: 2, failureThreshold: 3 },
                resources: { requests: { cpu: '20m', memory: '64Mi' }, limits: { memory: '512Mi' } },
                securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
              },
            ],
          },
        },
      },
    };
    const service: V1Service = {
      metadata: { name, namespace, labels },
      spec: { selector, ports: [{ name: 'http', port, targetPort: 'http' }] },
    };
    await this.apps.createNamespacedDeployment({ namespace, body: deployment });
    await this.core.createNamespacedService({ namespace, body: service });
    return this.handle(org, new Date());
  }

  /**
   * The Service's ClusterIP, which stays the Service's for its life: no wait on the cluster DNS catching up
   * with a new name, and reachable from wherever kube-proxy runs.
   */
  async url(app: KubernetesApp): Promise<string | undefined> {
    try {
      const svc = await this.core.readNamespacedService({ name: app.name, namespace: this.opts.namespace });
      const ip = svc.spec?.clusterIP;
      return ip && ip !== 'None' ? `http://${ip}:${this.opts.port}` : undefined;
    } catch (err) {
      if (status(err) === 404) return undefined;
      throw err;
    }
  }

  async alive(app: KubernetesApp): Promise<AppLiveness> {
    let d: V1Deployment;
    try {
      d = await this.apps.readNamespacedDeployment({ name: app.name, namespace: this.opts.namespace });
    } catch (err) {
      if (status(err) === 404) return { state: 'gone', reason: 'its Deployment is gone' };
      throw err;
    }
    if ((d.status?.availableReplicas ?? 0) > 0) return { state: 'ready' };
    const stuck = await this.stuckReason(app);
    return stuck ? { state: 'gone', reason: stuck } : { state: 'running' };
  }

  private async stuckReason(app: KubernetesApp): Promise<string | undefined> {
    const pods = await this.core.listNamespacedPod({ namespace: this.opts.namespace, labelSelector: `${LABELS.role}=${APP_ROLE},${LABELS.org}=${app.org}` });
    for (const pod of pods.items) {
      for (const c of pod.status?.containerStatuses ?? []) {
        const reason = c.state?.waiting?.reason;
        if (reason && hopeless.has(reason)) return `${reason}: ${c.state?.waiting?.message ?? ''}`.trim();
      }
    }
    return undefined;
  }

  async remove(app: KubernetesApp, graceMs: number): Promise<void> {
    await this.removeObjects(app.name, Math.ceil(graceMs / 1000));
  }

  async list(): Promise<KubernetesApp[]> {
    const selector = [`${LABELS.role}=${APP_ROLE}`, ...Object.entries(this.opts.labels).map(([k, v]) => `${k}=${v}`)].join(',');
    const found = await this.apps.listNamespacedDeployment({ namespace: this.opts.namespace, labelSelector: selector });
    return found.items.flatMap((d) => {
      const org = d.metadata?.labels?.[LABELS.org];
      return isOrgId(org) ? [this.handle(org, d.metadata?.creationTimestamp ? new Date(d.metadata.creationTimestamp) : new Date())] : [];
    });
  }

  async logTail(app: KubernetesApp): Promise<string> {
    try {
      const pods = await this.core.listNamespacedPod({ namespace: this.opts.namespace, labelSelector: `${LABELS.role}=${APP_ROLE},${LABELS.org}=${app.org}` });
      const pod = pods.items[0]?.metadata?.name;
      if (!pod) return '';
      return await this.core.readNamespacedPodLog({ name: pod, namespace: this.opts.namespace, tailLines: 20 });
    } catch {
      return '';
    }
  }

  /** Deletes the app's Deployment (the garbage collector takes its pods, after the grace) and Service; gone already is fine. */
  private async removeObjects(name: string, graceSeconds = 1): Promise<void> {
    const { namespace } = this.opts;
    const ignoreMissing = (err: unknown) => {
      if (status(err) !== 404) throw err;
    };
    await this.apps.deleteNamespacedDeployment({ name, namespace, gracePeriodSeconds: graceSeconds, propagationPolicy: 'Background' }).catch(ignoreMissing);
    await this.core.deleteNamespacedService({ name, namespace }).catch(ignoreMissing);
    // A new Deployment of the same name cannot be made while the old one is still being deleted.
    for (let i = 0; i < 120; i++) {
      const still = await this.apps.readNamespacedDeployment({ name, namespace }).then(() => true, (err: unknown) => (status(err) === 404 ? false : Promise.reject(err)));
      if (!still) return;
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`deployment ${name} in ${namespace} was not deleted within 30 s`);
  }
}
