/** The configuration files of the cluster's components, rendered from one network description. */
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { CLIENTS, pki } from './certs.ts';
import type { Bridge } from './host.ts';
import { podRange } from './host.ts';
import { APISERVER_PORT, CLUSTER_DOMAIN, KUBELET_HEALTHZ_PORT, PAUSE_IMAGE, kubeconfigFor, state } from './layout.ts';

export interface Network {
  bridge: Bridge;
  /** Where the apiserver, the kubelet and DNS listen: the bridge's address. */
  nodeAddress: string;
  apiserverUrl: string;
  pods: ReturnType<typeof podRange>;
}

export function network(bridge: Bridge): Network {
  return { bridge, nodeAddress: bridge.address, apiserverUrl: `https://${bridge.address}:${APISERVER_PORT}`, pods: podRange(bridge) };
}

export const configFile = {
  containerd: join(state.config, 'containerd.toml'),
  kubelet: join(state.config, 'kubelet.yaml'),
  cni: join(state.cniConf, '10-saas-test.conflist'),
  dnsmasq: join(state.config, 'dnsmasq.conf'),
};

const b64 = (path: string) => readFileSync(path).toString('base64');

export function kubeconfig(net: Network, certName: string): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'saas-test', cluster: { server: net.apiserverUrl, 'certificate-authority-data': b64(pki.caCert) } }],
    users: [{ name: certName, user: { 'client-certificate-data': b64(pki.cert(certName)), 'client-key-data': b64(pki.key(certName)) } }],
    contexts: [{ name: 'saas-test', context: { cluster: 'saas-test', user: certName } }],
    'current-context': 'saas-test',
  });
}

/** containerd of the kubelet's own: its own socket and directories, never the system's or docker's. */
export function containerdConfig(): string {
  const c = state.containerd;
  const cri = 'plugins."io.containerd.grpc.v1.cri"';
  return `version = 2
root = "${c}/root"
state = "${c}/state"
disabled_plugins = ["io.containerd.internal.v1.tracing", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]

[grpc]
  address = "${state.containerdSocket}"

[ttrpc]
  address = "${c}/containerd.ttrpc.sock"

[debug]
  address = ""

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "${c}/opt"

[${cri}]
  sandbox_image = "${PAUSE_IMAGE}"
  # The machine lacks CAP_SYS_RESOURCE: no oom_score_adj below our own (the kubelet asks -998 for sandboxes).
  restrict_oom_score_adj = true
  disable_apparmor = true
  netns_mounts_under_state_dir = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false

[${cri}.containerd]
  snapshotter = "overlayfs"
  default_runtime_name = "runc"

[${cri}.containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"

[${cri}.containerd.runtimes.runc.options]
  SystemdCgroup = false

[${cri}.cni]
  bin_dir = "/usr/lib/cni"
  conf_dir = "${state.cniConf}"
`;
}

/** Pods on docker's bridge, from its top eighth, no masquerading (nothing leaves this machine). */
export function cniConfig(net: Network): string {
  return JSON.stringify(
    {
      cniVersion: '0.4.0',
      name: 'saas-test',
      plugins: [
        {
          type: 'bridge',
          bridge: net.bridge.name,
          isGateway: false,
          ipMasq: false,
          hairpinMode: true,
          ipam: {
            type: 'host-local',
            dataDir: state.cniIpam,
            ranges: [[{ subnet: net.pods.subnet, rangeStart: net.pods.rangeStart, rangeEnd: net.pods.rangeEnd, gateway: net.nodeAddress }]],
            routes: [{ dst: '0.0.0.0/0' }],
          },
        },
      ],
    },
    null,
    2,
  );
}

export function kubeletConfig(net: Network, cgroupDriver: 'cgroupfs' | 'systemd'): string {
  return stringify({
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    address: net.nodeAddress,
    port: 10250,
    readOnlyPort: 0,
    healthzBindAddress: '127.0.0.1',
    healthzPort: KUBELET_HEALTHZ_PORT,
    tlsCertFile: pki.cert('kubelet'),
    tlsPrivateKeyFile: pki.key('kubelet'),
    authentication: { anonymous: { enabled: false }, webhook: { enabled: false }, x509: { clientCAFile: pki.caCert } },
    authorization: { mode: 'AlwaysAllow' },
    cgroupDriver,
    clusterDNS: [net.nodeAddress],
    clusterDomain: CLUSTER_DOMAIN,
    // The network is closed: pods get the cluster's DNS only, never the host's resolvers.
    resolvConf: '',
    failSwapOn: false,
    oomScoreAdj: 0,
    evictionHard: { 'memory.available': '50Mi', 'nodefs.available': '2%', 'imagefs.available': '2%' },
    imageGCHighThresholdPercent: 99,
    imageGCLowThresholdPercent: 98,
    serializeImagePulls: false,
    maxPods: 110,
  });
}

/** dnsmasq on the node address only, answering the cluster's Services from a hosts file and nothing else. */
export function dnsmasqConfig(net: Network): string {
  return [
    `listen-address=${net.nodeAddress}`,
    'bind-interfaces',
    'port=53',
    'no-resolv',
    'no-hosts',
    'no-poll',
    `addn-hosts=${state.dnsHosts}`,
    `local=/${CLUSTER_DOMAIN}/`,
    'domain-needed',
    'bogus-priv',
    'log-facility=-',
    'user=root',
    '',
  ].join('\n');
}

export async function writeConfigs(net: Network, cgroupDriver: 'cgroupfs' | 'systemd'): Promise<void> {
  for (const dir of [state.config, state.cniConf, state.cniIpam, join(state.dnsHosts, '..')]) await mkdir(dir, { recursive: true });
  await writeFile(kubeconfigFor('admin'), kubeconfig(net, 'admin'), { mode: 0o600 });
  for (const client of CLIENTS) {
    if (client.name !== 'admin') await writeFile(kubeconfigFor(client.name), kubeconfig(net, client.name), { mode: 0o600 });
  }
  await writeFile(configFile.containerd, containerdConfig());
  await writeFile(configFile.cni, cniConfig(net));
  await writeFile(configFile.kubelet, kubeletConfig(net, cgroupDriver));
  await writeFile(configFile.dnsmasq, dnsmasqConfig(net));
}
