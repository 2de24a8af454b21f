/**
 * Where the test cluster keeps things, and the network it uses. One cluster per machine: its state lives
 * outside any clone, so `down` from any checkout stops exactly what `up` started.
 */
import os from 'node:os';
import { join } from 'node:path';

/** Built binaries and the pause image, per Debian source version; survives `down`. */
export const CACHE_DIR = process.env.SAAS_TEST_CLUSTER_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(os.homedir(), '.cache'), 'saas-test-cluster');
/** Pids, certificates, configs, data and logs of the running cluster. */
export const STATE_DIR = process.env.SAAS_TEST_CLUSTER_STATE ?? '/var/lib/saas-test-cluster';

/** Held while `up`, `down` or `load` runs; outside STATE_DIR, which `down` empties. */
export const LOCK_FILE = process.env.SAAS_TEST_CLUSTER_LOCK ?? '/run/saas-test-cluster.lock';

/** The admin kubeconfig `up` writes; tests read it when KUBECONFIG is unset. */
export const KUBECONFIG_PATH = join(STATE_DIR, 'kubeconfig');

export const SOURCE_PACKAGE = 'kubernetes';
export const SOURCE_DIR = join(CACHE_DIR, 'src');

export const KUBE_BINARIES = ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kubelet', 'kube-proxy', 'kubectl'] as const;
export type KubeBinary = (typeof KUBE_BINARIES)[number];

export function versionDir(version: string): string {
  return join(CACHE_DIR, version);
}
export function binaryPath(version: string, name: KubeBinary): string {
  return join(versionDir(version), 'bin', name);
}
export function pauseArchivePath(version: string): string {
  return join(versionDir(version), 'pause-image.tar');
}

export const NODE_NAME = 'saas-test';
export const CLUSTER_DOMAIN = 'cluster.local';
/** Far from docker's 172.17.0.0/16 and its default address pools (172.17–31, 192.168). */
export const SERVICE_CIDR = '10.96.0.0/16';
export const KUBERNETES_SERVICE_IP = '10.96.0.1';
export const APISERVER_PORT = 6443;
export const ETCD_CLIENT_URL = 'http://127.0.0.1:2379';
export const ETCD_PEER_URL = 'http://127.0.0.1:2380';
export const KUBELET_HEALTHZ_PORT = 10248;
export const KUBE_PROXY_HEALTHZ = '127.0.0.1:10256';
/** The default StorageClass, named as kind names its own, and who provisions its volumes (volume-provisioner.ts). */
export const STORAGE_CLASS = 'standard';
export const STORAGE_PROVISIONER = 'saas-test-cluster/host-path';
export const PAUSE_IMAGE = 'saas-test-cluster/pause:3.4';
export const CONTAINERD_NAMESPACE = 'k8s.io';

/** Every file and folder of the running cluster, under STATE_DIR. */
export const state = {
  pids: join(STATE_DIR, 'pids'),
  logs: join(STATE_DIR, 'logs'),
  pki: join(STATE_DIR, 'pki'),
  config: join(STATE_DIR, 'config'),
  etcd: join(STATE_DIR, 'etcd'),
  containerd: join(STATE_DIR, 'containerd'),
  containerdSocket: join(STATE_DIR, 'containerd', 'containerd.sock'),
  kubelet: join(STATE_DIR, 'kubelet'),
  cniConf: join(STATE_DIR, 'cni', 'net.d'),
  cniIpam: join(STATE_DIR, 'cni', 'ipam'),
  dnsHosts: join(STATE_DIR, 'dns', 'hosts'),
  /** The folders of the PersistentVolumes volume-provisioner.ts makes. */
  volumes: join(STATE_DIR, 'volumes'),
  /** Sysctl values as they were before the first `up`, restored by `down`. */
  sysctls: join(STATE_DIR, 'sysctls.json'),
  /** The version and network `up` brought up with. */
  cluster: join(STATE_DIR, 'cluster.json'),
  kubeconfig: KUBECONFIG_PATH,
} as const;

export function kubeconfigFor(component: string): string {
  return component === 'admin' ? KUBECONFIG_PATH : join(state.config, `${component}.kubeconfig`);
}
