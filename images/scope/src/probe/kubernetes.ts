/**
 * The Pod topology, from the Kubernetes API through @kubernetes/client-node, when the probe runs
 * inside a cluster (KUBERNETES_SERVICE_HOST set and a service account token mounted). Lists the
 * pods scheduled on this node, with Weave Scope's keys.
 */
import fs from 'node:fs';
import os from 'node:os';
import type { Logger } from '@saas/kit';
import type { CoreV1Api, V1Pod } from '@kubernetes/client-node';
import { SharedRequest } from './shared.ts';
import { addNode, addParent, emptyTopology, hostNodeId, makeNode, podNodeId, setLatest, type Topology, type TopologyTemplate } from './model.ts';

export const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

export const POD_TEMPLATES: TopologyTemplate = {
  shape: 'heptagon',
  label: 'pod',
  labelPlural: 'pods',
  metadataTemplates: {
    kubernetes_state: { id: 'kubernetes_state', label: 'State', priority: 2, from: 'latest' },
    kubernetes_ip: { id: 'kubernetes_ip', label: 'IP', priority: 3, from: 'latest', dataType: 'ip' },
    kubernetes_namespace: { id: 'kubernetes_namespace', label: 'Namespace', priority: 5, from: 'latest' },
    kubernetes_created: { id: 'kubernetes_created', label: 'Created', priority: 6, from: 'latest', dataType: 'datetime' },
    kubernetes_restart_count: { id: 'kubernetes_restart_count', label: 'Restart #', priority: 7, from: 'latest' },
  },
};

export interface KubernetesSetting {
  /** Prefix of the service account directory (tests point it at a temporary directory). */
  pathPrefix?: string;
  /** The node whose pods to list; defaults to KUBERNETES_NODENAME, then the hostname. */
  nodeName?: string;
}

/** Whether this process runs in a cluster: the API address is in the environment and a token is mounted. */
export function inCluster(setting: KubernetesSetting = {}, env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(env.KUBERNETES_SERVICE_HOST) && fs.existsSync(`${setting.pathPrefix ?? ''}${SERVICE_ACCOUNT_TOKEN}`);
}

export class KubernetesReporter {
  private api: CoreV1Api | undefined;
  private failing = false;
  readonly nodeName: string;

  constructor(
    private readonly setting: KubernetesSetting,
    private readonly opts: { hostID: string; probeID: string; log: Logger },
  ) {
    this.nodeName = setting.nodeName || process.env.KUBERNETES_NODENAME || os.hostname();
  }

  private async client(): Promise<CoreV1Api> {
    if (!this.api) {
      // Loaded only in a cluster: the library is large and most probes never need it.
      const k8s = await import('@kubernetes/client-node');
      const kc = new k8s.KubeConfig();
      kc.loadFromCluster(this.setting.pathPrefix ?? '');
      this.api = kc.makeApiClient(k8s.CoreV1Api);
    }
    return this.api;
  }

  private readonly request = new SharedRequest(() => this.list());

  /** The pods of this node, or undefined when the API has not answered within `timeoutMs`. */
  scan(timeoutMs: number): Promise<Topology | undefined> {
    return this.request.get(timeoutMs);
  }

  private async list(): Promise<Topology> {
    const now = Date.now();
    const topology = emptyTopology(POD_TEMPLATES);
    const { log } = this.opts;
    let pods: V1Pod[];
    try {
      const api = await this.client();
      const list = await api.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${this.nodeName}` });
      pods = list.items;
      if (this.failing) log.info('Kubernetes API reachable again');
      this.failing = false;
    } catch (err) {
      if (!this.failing) {
        const code = (err as { code?: number }).code;
        const hint = code === 401 || code === 403 ? ' (the service account needs "list pods" across namespaces)' : '';
        log.warn({ err: (err as Error).message, code }, `cannot list pods on node ${this.nodeName}${hint}; pods left out until it works`);
      }
      this.failing = true;
      return topology;
    }
    const hostNode = hostNodeId(this.opts.hostID);
    for (const pod of pods) {
      const meta = pod.metadata ?? {};
      const uid = meta.annotations?.['kubernetes.io/config.hash'] ?? meta.uid;
      if (!uid) continue;
      const node = makeNode('Pod', podNodeId(uid));
      const restarts = (pod.status?.containerStatuses ?? []).reduce((n, c) => n + (c.restartCount ?? 0), 0);
      const labels: Record<string, string> = {};
      for (const [k, v] of Object.entries(meta.labels ?? {})) labels[`kubernetes_labels_${k}`] = v;
      setLatest(node, now, {
        kubernetes_name: meta.name,
        kubernetes_namespace: meta.namespace,
        kubernetes_created: meta.creationTimestamp ? new Date(meta.creationTimestamp).toISOString() : undefined,
        kubernetes_state: meta.deletionTimestamp ? 'Terminating' : pod.status?.phase,
        kubernetes_ip: pod.status?.podIP,
        kubernetes_restart_count: restarts,
        kubernetes_is_in_host_network: pod.spec?.hostNetwork ? 'true' : undefined,
        kubernetes_node_name: pod.spec?.nodeName,
        control_probe_id: this.opts.probeID,
        host_node_id: hostNode,
        ...labels,
      });
      addParent(node, 'host', hostNode);
      addNode(topology, node);
    }
    return topology;
  }
}
