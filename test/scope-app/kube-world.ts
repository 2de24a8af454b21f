/**
 * A Kubernetes node's report in the shapes a Weave Scope 1.13 probe sends (probe/kubernetes, probe/docker):
 * pods with their controllers and services as parents (matched by the probe's selectors), containers with the
 * kubelet's labels and their pod as parent, a Job owned by a CronJob, Namespace and ContainerImage nodes.
 *
 * On host `node-1` (10.1.0.0/24): Deployment `web` (pods web-1, web-2, one nginx container each plus web-1's
 * pause container), StatefulSet `cache` (cache-0, redis), DaemonSet `log-agent` (fluentd), CronJob `backup`
 * through Job `backup-1` (busybox), Deployment `coredns` in kube-system; Services `web` (web-*) and `cache`;
 * a stopped container `old-tool` (no pod) and `sshd` in no container. web-1's nginx calls cache-0's redis;
 * sshd calls the Internet.
 */
import { ids, KEYS, makeNode, makeReport, topologyOf, type Node, type Report, type TopologyName } from '../../images/scope/src/report/index.ts';
import { FIXED_NOW } from '../../fixtures/reports/synthetic.ts';

export const HOST = 'node-1';
const HOST_NODE = ids.host(HOST);

function put(r: Report, t: TopologyName, id: string, latest: Record<string, string>, parents: Record<string, string[]> = {}): Node {
  const n = makeNode(id, t.toLowerCase());
  for (const [k, v] of Object.entries(latest)) n.latest[k] = { timestamp: FIXED_NOW, value: v };
  for (const [k, v] of Object.entries(parents)) n.parents[k] = v;
  topologyOf(r, t).nodes[id] = n;
  return n;
}

const kube = (uid: string, kind: string) => `${uid};<${kind}>`;

export function kubeWorld(): Report {
  const r = makeReport('kube-world');
  r.ts = FIXED_NOW;
  const host = put(r, 'Host', HOST_NODE, { [KEYS.hostName]: HOST, [KEYS.hostNodeID]: HOST_NODE, [KEYS.os]: 'linux' });
  host.sets.local_networks = ['10.1.0.0/24'];

  for (const ns of ['default', 'kube-system']) put(r, 'Namespace', kube(`ns-${ns}`, 'namespace'), { [KEYS.kubernetesName]: ns });
  const controller = (t: TopologyName, kind: string, name: string, ns = 'default', parents: Record<string, string[]> = {}) =>
    put(r, t, kube(`uid-${name}`, kind), { [KEYS.kubernetesName]: name, [KEYS.kubernetesNamespace]: ns, kubernetes_node_type: t }, parents).id;
  const web = controller('Deployment', 'deployment', 'web');
  const coredns = controller('Deployment', 'deployment', 'coredns', 'kube-system');
  const cache = controller('StatefulSet', 'stateful_set', 'cache');
  const logAgent = controller('DaemonSet', 'daemon_set', 'log-agent');
  const backup = controller('CronJob', 'cron_job', 'backup');
  const backupJob = controller('Job', 'job', 'backup-1', 'default', { cron_job: [backup] });
  const webSvc = controller('Service', 'service', 'web');
  const cacheSvc = controller('Service', 'service', 'cache');

  const pod = (name: string, ns: string, parents: Record<string, string[]>) =>
    put(r, 'Pod', kube(`uid-pod-${name}`, 'pod'), { [KEYS.kubernetesName]: name, [KEYS.kubernetesNamespace]: ns, [KEYS.kubernetesState]: 'Running', [KEYS.hostNodeID]: HOST_NODE }, { host: [HOST_NODE], ...parents }).id;
  const web1 = pod('web-1', 'default', { deployment: [web], service: [webSvc] });
  const web2 = pod('web-2', 'default', { deployment: [web], service: [webSvc] });
  const cache0 = pod('cache-0', 'default', { stateful_set: [cache], service: [cacheSvc] });
  const agent = pod('log-agent-x1', 'default', { daemon_set: [logAgent] });
  const backupPod = pod('backup-1-abcde', 'default', { job: [backupJob] });
  const dns = pod('coredns-7c9', 'kube-system', { deployment: [coredns] });

  let pid = 200;
  const container = (name: string, image: string, podID: string | undefined, opts: { ns?: string; state?: string; kubeName?: string; hostname?: string } = {}) => {
    const cid = `c-${name}`.padEnd(64, '0');
    const labels: Record<string, string> = podID
      ? { 'docker_label_io.kubernetes.pod.namespace': opts.ns ?? 'default', 'docker_label_io.kubernetes.container.name': opts.kubeName ?? name }
      : {};
    put(
      r,
      'Container',
      ids.container(cid),
      {
        [KEYS.dockerContainerID]: cid,
        [KEYS.dockerContainerName]: `/${name}`,
        [KEYS.dockerImageName]: image,
        [KEYS.dockerContainerState]: opts.state ?? 'running',
        [KEYS.dockerContainerHostname]: opts.hostname ?? name,
        [KEYS.hostNodeID]: HOST_NODE,
        ...labels,
      },
      podID ? { host: [HOST_NODE], pod: [podID] } : { host: [HOST_NODE] },
    );
    const p = String(pid++);
    put(r, 'Process', ids.process(HOST, p), { [KEYS.pid]: p, [KEYS.name]: `/usr/bin/${image.split(/[/:]/).slice(-2)[0]}`, [KEYS.dockerContainerID]: cid, [KEYS.hostNodeID]: HOST_NODE }, { host: [HOST_NODE], container: [ids.container(cid)] });
    return p;
  };
  const nginx1 = container('k8s_nginx_web-1', 'nginx:1.25', web1, { hostname: 'web-1' });
  container('k8s_nginx_web-2', 'docker.io/nginx:1.25', web2, { hostname: 'web-2' });
  container('k8s_POD_web-1', 'k8s.gcr.io/pause:3.9', web1, { kubeName: 'POD', hostname: 'web-1' });
  const redis = container('k8s_redis_cache-0', 'redis:7', cache0, { hostname: 'cache-0' });
  container('k8s_fluentd_log-agent', 'fluent/fluentd:v1', agent);
  container('k8s_backup_backup-1', 'busybox:latest', backupPod);
  container('k8s_coredns', 'coredns/coredns:1.11', dns, { ns: 'kube-system' });
  container('old-tool', 'busybox:latest', undefined, { state: 'exited' });
  put(r, 'ContainerImage', ids.containerImage('sha256:nginx'), { [KEYS.dockerImageName]: 'nginx', [KEYS.dockerImageTag]: '1.25' });
  put(r, 'Process', ids.process(HOST, 22), { [KEYS.pid]: '22', [KEYS.name]: '/usr/sbin/sshd', [KEYS.hostNodeID]: HOST_NODE }, { host: [HOST_NODE] });

  const endpoint = (addr: string, port: number, pidOf?: string, to?: string) => {
    const id = ids.endpoint('', addr, port);
    const n = put(r, 'Endpoint', id, pidOf ? { [KEYS.pid]: pidOf, [KEYS.hostNodeID]: HOST_NODE } : {});
    if (to) n.adjacency = [to];
    return id;
  };
  const redisPort = endpoint('10.1.0.12', 6379, redis);
  endpoint('10.1.0.11', 41000, nginx1, redisPort);
  endpoint('10.1.0.2', 50000, '22', endpoint('93.184.216.34', 443));
  return r;
}
