/** The kind cluster config `dev up --runtime kind` creates: one control-plane node, the frontend on 127.0.0.1. */
import { stringify } from 'yaml';

/** The kind release whose notes list NODE_IMAGE (github.com/kubernetes-sigs/kind/releases/tag/v0.33.0). */
export const KIND_VERSION = 'v0.33.0';
/** kind v0.33.0's default node image, pinned by digest as its release notes require. */
export const NODE_IMAGE = 'kindest/node:v1.37.0@sha256:a1ed56cfb0e7b93589bdf97c8cd566405a265939e3620fc4f5de89adff580ae5';

export type PortProtocol = 'TCP' | 'UDP' | 'SCTP';

export interface PortMapping {
  containerPort: number;
  hostPort?: number;
  listenAddress?: string;
  protocol?: PortProtocol;
}

export interface KindNode {
  role: 'control-plane' | 'worker';
  image?: string;
  extraPortMappings?: PortMapping[];
  labels?: Record<string, string>;
}

export interface KindClusterConfig {
  kind: 'Cluster';
  apiVersion: 'kind.x-k8s.io/v1alpha4';
  name?: string;
  nodes?: KindNode[];
}

export interface FrontendPorts {
  /** The frontend Service's NodePort (30000–32767), which the node container publishes. */
  nodePort: number;
  /** Where the user reaches the frontend: 127.0.0.1:<hostPort>. */
  hostPort: number;
}

export function kindConfig(ports: FrontendPorts): KindClusterConfig {
  return {
    kind: 'Cluster',
    apiVersion: 'kind.x-k8s.io/v1alpha4',
    nodes: [
      {
        role: 'control-plane',
        image: NODE_IMAGE,
        extraPortMappings: [{ containerPort: ports.nodePort, hostPort: ports.hostPort, listenAddress: '127.0.0.1', protocol: 'TCP' }],
      },
    ],
  };
}

export function renderConfig(config: KindClusterConfig): string {
  return stringify(config);
}
