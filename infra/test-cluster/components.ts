/**
 * The cluster's daemons in start order, each listening on loopback or the node (docker bridge) address.
 * `down` stops them in the reverse order.
 */
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { pki } from './certs.ts';
import { configFile, type Network } from './config.ts';
import type { Daemon } from './processes.ts';
import {
  APISERVER_PORT,
  CLUSTER_DOMAIN,
  ETCD_CLIENT_URL,
  ETCD_PEER_URL,
  KUBE_PROXY_HEALTHZ,
  NODE_NAME,
  PAUSE_IMAGE,
  SERVICE_CIDR,
  binaryPath,
  kubeconfigFor,
  state,
} from './layout.ts';

export const COMPONENTS = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'containerd', 'dnsmasq', 'dns-watch', 'volume-provisioner', 'kubelet', 'kube-proxy'] as const;
export type Component = (typeof COMPONENTS)[number];

const SA_ISSUER = `https://kubernetes.default.svc.${CLUSTER_DOMAIN}`;
const DNS_WATCH = fileURLToPath(new URL('./dns-watch.ts', import.meta.url));
const VOLUME_PROVISIONER = fileURLToPath(new URL('./volume-provisioner.ts', import.meta.url));

/** Kubernetes components log through klog; one level above the default says what they are doing. */
const klog = ['--v=1', '--logtostderr=true'];

/** The controller manager's and the scheduler's common flags: their identity, secure port on loopback only, one of each. */
function controlPlaneClient(name: 'kube-controller-manager' | 'kube-scheduler'): string[] {
  return [
    `--kubeconfig=${kubeconfigFor(name)}`,
    `--authentication-kubeconfig=${kubeconfigFor(name)}`,
    `--authorization-kubeconfig=${kubeconfigFor(name)}`,
    '--bind-address=127.0.0.1',
    '--port=0',
    `--cert-dir=${join(state.config, name)}`,
    '--leader-elect=false',
    ...klog,
  ];
}

export function daemon(name: Component, version: string, net: Network): Daemon {
  switch (name) {
    case 'etcd':
      return {
        name,
        command: 'etcd',
        args: [
          '--name=saas-test',
          `--data-dir=${state.etcd}`,
          `--listen-client-urls=${ETCD_CLIENT_URL}`,
          `--advertise-client-urls=${ETCD_CLIENT_URL}`,
          `--listen-peer-urls=${ETCD_PEER_URL}`,
          `--initial-advertise-peer-urls=${ETCD_PEER_URL}`,
          `--initial-cluster=saas-test=${ETCD_PEER_URL}`,
          '--initial-cluster-state=new',
        ],
      };
    case 'kube-apiserver':
      return {
        name,
        command: binaryPath(version, name),
        args: [
          `--advertise-address=${net.nodeAddress}`,
          `--bind-address=${net.nodeAddress}`,
          `--secure-port=${APISERVER_PORT}`,
          '--insecure-port=0',
          `--etcd-servers=${ETCD_CLIENT_URL}`,
          `--service-cluster-ip-range=${SERVICE_CIDR}`,
          '--service-node-port-range=30000-32767',
          `--client-ca-file=${pki.caCert}`,
          `--tls-cert-file=${pki.cert('apiserver')}`,
          `--tls-private-key-file=${pki.key('apiserver')}`,
          `--kubelet-client-certificate=${pki.cert('apiserver-kubelet-client')}`,
          `--kubelet-client-key=${pki.key('apiserver-kubelet-client')}`,
          '--kubelet-preferred-address-types=InternalIP',
          '--authorization-mode=Node,RBAC',
          '--enable-admission-plugins=NodeRestriction',
          `--service-account-key-file=${pki.saPub}`,
          `--service-account-signing-key-file=${pki.saKey}`,
          `--service-account-issuer=${SA_ISSUER}`,
          `--api-audiences=${SA_ISSUER}`,
          '--allow-privileged=true',
          '--anonymous-auth=false',
          '--profiling=false',
          ...klog,
        ],
      };
    case 'kube-controller-manager':
      return {
        name,
        command: binaryPath(version, name),
        args: [
          ...controlPlaneClient(name),
          `--root-ca-file=${pki.caCert}`,
          `--service-account-private-key-file=${pki.saKey}`,
          `--cluster-signing-cert-file=${pki.caCert}`,
          `--cluster-signing-key-file=${pki.caKey}`,
          '--use-service-account-credentials=true',
          `--service-cluster-ip-range=${SERVICE_CIDR}`,
        ],
      };
    case 'kube-scheduler':
      return {
        name,
        command: binaryPath(version, name),
        args: controlPlaneClient(name),
      };
    case 'containerd':
      return { name, command: 'containerd', args: [`--config=${configFile.containerd}`] };
    case 'dnsmasq':
      return { name, command: 'dnsmasq', args: ['--keep-in-foreground', `--conf-file=${configFile.dnsmasq}`, `--pid-file=${join(state.config, 'dnsmasq.pid')}`] };
    case 'dns-watch':
      return { name, command: process.execPath, args: [...process.execArgv, DNS_WATCH] };
    case 'volume-provisioner':
      return { name, command: process.execPath, args: [...process.execArgv, VOLUME_PROVISIONER] };
    case 'kubelet':
      return {
        name,
        command: binaryPath(version, name),
        args: [
          `--config=${configFile.kubelet}`,
          `--kubeconfig=${kubeconfigFor('kubelet-client')}`,
          '--container-runtime=remote',
          `--container-runtime-endpoint=unix://${state.containerdSocket}`,
          '--runtime-request-timeout=5m',
          `--root-dir=${state.kubelet}`,
          `--cert-dir=${join(state.kubelet, 'pki')}`,
          `--node-ip=${net.nodeAddress}`,
          `--hostname-override=${NODE_NAME}`,
          `--pod-infra-container-image=${PAUSE_IMAGE}`,
          ...klog,
        ],
      };
    case 'kube-proxy':
      return {
        name,
        command: binaryPath(version, name),
        args: [
          `--kubeconfig=${kubeconfigFor(name)}`,
          '--proxy-mode=iptables',
          `--hostname-override=${NODE_NAME}`,
          `--bind-address=${net.nodeAddress}`,
          `--cluster-cidr=${net.pods.cidr}`,
          '--nodeport-addresses=127.0.0.1/32',
          `--healthz-bind-address=${KUBE_PROXY_HEALTHZ}`,
          '--metrics-bind-address=127.0.0.1:10249',
          // 0: leave the host's conntrack sysctls as they are.
          '--conntrack-max-per-core=0',
          '--conntrack-tcp-timeout-established=0',
          '--conntrack-tcp-timeout-close-wait=0',
          ...klog,
        ],
      };
  }
}
