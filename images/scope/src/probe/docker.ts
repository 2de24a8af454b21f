/**
 * Container and ContainerImage topologies from the Docker Engine API (dockerode), with Weave Scope's
 * keys. Used only when a Docker socket exists (DOCKER_HOST, or /var/run/docker.sock); otherwise the
 * probe says so once and carries on without containers.
 */
import fs from 'node:fs';
import Docker from 'dockerode';
import type { Logger } from '@saas/kit';
import {
  addNode,
  addParent,
  containerImageNodeId,
  containerNodeId,
  emptyTopology,
  hostNodeId,
  makeNode,
  podNodeId,
  setLatest,
  setSet,
  type Topology,
  type TopologyTemplate,
} from './model.ts';
import { SharedRequest } from './shared.ts';

export const DEFAULT_DOCKER_SOCKET = '/var/run/docker.sock';
const INSPECT_REFRESH_MS = 60_000;
/** A daemon that stops answering must not stall the scan (and so the whole probe). */
const DOCKER_TIMEOUT_MS = 10_000;

export const CONTAINER_TEMPLATES: TopologyTemplate = {
  shape: 'hexagon',
  label: 'container',
  labelPlural: 'containers',
  metadataTemplates: {
    docker_container_id: { id: 'docker_container_id', label: 'ID', priority: 1, from: 'latest', truncate: 12 },
    docker_container_state_human: { id: 'docker_container_state_human', label: 'State', priority: 2, from: 'latest' },
    docker_container_command: { id: 'docker_container_command', label: 'Command', priority: 3, from: 'latest' },
    docker_image_id: { id: 'docker_image_id', label: 'Image ID', priority: 11, from: 'latest', truncate: 12 },
    docker_container_uptime: { id: 'docker_container_uptime', label: 'Uptime', priority: 12, from: 'latest', dataType: 'duration' },
    docker_container_restart_count: { id: 'docker_container_restart_count', label: 'Restart #', priority: 13, from: 'latest' },
    docker_container_ips: { id: 'docker_container_ips', label: 'IPs', priority: 14, from: 'sets' },
    docker_container_ports: { id: 'docker_container_ports', label: 'Ports', priority: 15, from: 'sets' },
    docker_container_created: { id: 'docker_container_created', label: 'Created', priority: 16, from: 'latest' },
  },
  metricTemplates: {
    docker_cpu_total_usage: { id: 'docker_cpu_total_usage', label: 'CPU', format: 'percent', priority: 1 },
    docker_memory_usage: { id: 'docker_memory_usage', label: 'Memory', format: 'filesize', priority: 2 },
  },
};

export const CONTAINER_IMAGE_TEMPLATES: TopologyTemplate = {
  shape: 'hexagon',
  label: 'image',
  labelPlural: 'images',
  metadataTemplates: {
    docker_image_id: { id: 'docker_image_id', label: 'Image ID', priority: 1, from: 'latest', truncate: 12 },
    container: { id: 'container', label: '# Containers', priority: 2, from: 'counters', dataType: 'number' },
  },
};

export interface ContainerRef {
  id: string;
  imageID: string;
  /** The container's init process as the host sees it (0 when not running). */
  pid: number;
}

export interface DockerScan {
  containers: Topology;
  images: Topology;
  /** Known containers by full id and by init pid, to attach processes to them. */
  byId: Map<string, ContainerRef>;
  byPid: Map<number, ContainerRef>;
}

export type DockerSetting = false | { socketPath?: string };

/** A Docker client when a daemon socket is configured or present, else undefined. */
export function connectDocker(setting: DockerSetting | undefined, env: NodeJS.ProcessEnv = process.env): Docker | undefined {
  if (setting === false) return undefined;
  const timeout = DOCKER_TIMEOUT_MS;
  if (setting?.socketPath) return fs.existsSync(setting.socketPath) ? new Docker({ socketPath: setting.socketPath, timeout }) : undefined;
  if (env.DOCKER_HOST) return new Docker({ timeout }); // the rest (host, TLS) from DOCKER_HOST and friends
  return fs.existsSync(DEFAULT_DOCKER_SOCKET) ? new Docker({ socketPath: DEFAULT_DOCKER_SOCKET, timeout }) : undefined;
}

const trimImageID = (id: string): string => id.replace(/^sha256:/, '');

/** Weave Scope's StateString: running / paused / restarting / dead / created / exited. */
function stateString(s: Docker.ContainerInspectInfo['State']): string {
  if (s.Running) return s.Paused ? 'paused' : s.Restarting ? 'restarting' : 'running';
  if (s.Dead) return 'dead';
  if (!s.StartedAt || s.StartedAt.startsWith('0001-')) return 'created';
  return 'exited';
}

function prefixed(prefix: string, values: Record<string, string> | null | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(values ?? {})) out[`${prefix}${k}`] = v;
  return out;
}

export class DockerReporter {
  private inspected = new Map<string, { info: Docker.ContainerInspectInfo; listState: string; at: number }>();
  private failing = false;

  constructor(
    private readonly docker: Docker,
    private readonly opts: { hostID: string; probeID: string; log: Logger; includeEnv?: boolean },
  ) {}

  private readonly request = new SharedRequest(() => this.list());

  /** Containers and images, or undefined when the daemon has not answered within `timeoutMs`. */
  scan(timeoutMs: number): Promise<DockerScan | undefined> {
    return this.request.get(timeoutMs);
  }

  private async list(): Promise<DockerScan> {
    const now = Date.now();
    const { hostID, probeID, log } = this.opts;
    const hostNode = hostNodeId(hostID);
    const result: DockerScan = {
      containers: emptyTopology(CONTAINER_TEMPLATES),
      images: emptyTopology(CONTAINER_IMAGE_TEMPLATES),
      byId: new Map(),
      byPid: new Map(),
    };
    let list: Docker.ContainerInfo[];
    let images: Docker.ImageInfo[];
    try {
      [list, images] = await Promise.all([this.docker.listContainers({ all: true }), this.docker.listImages()]);
      if (this.failing) log.info('Docker daemon reachable again');
      this.failing = false;
    } catch (err) {
      if (!this.failing) log.warn({ err: (err as Error).message }, 'Docker daemon not answering; containers left out until it does');
      this.failing = true;
      return result;
    }

    const live = new Set<string>();
    for (const c of list) {
      live.add(c.Id);
      let cached = this.inspected.get(c.Id);
      if (!cached || cached.listState !== c.State || now - cached.at > INSPECT_REFRESH_MS) {
        try {
          cached = { info: await this.docker.getContainer(c.Id).inspect(), listState: c.State, at: now };
          this.inspected.set(c.Id, cached);
        } catch {
          continue; // removed between list and inspect
        }
      }
      const info = cached.info;
      const imageID = trimImageID(info.Image);
      const ref: ContainerRef = { id: c.Id, imageID, pid: info.State.Running ? info.State.Pid : 0 };
      result.byId.set(c.Id, ref);
      if (ref.pid > 0) result.byPid.set(ref.pid, ref);

      const node = makeNode('Container', containerNodeId(c.Id));
      const state = stateString(info.State);
      const hostname = info.Config.Domainname ? `${info.Config.Hostname}.${info.Config.Domainname}` : info.Config.Hostname;
      setLatest(node, now, {
        docker_container_id: c.Id,
        docker_container_name: info.Name.replace(/^\//, ''),
        docker_image_id: imageID,
        docker_image_name: c.Image,
        docker_container_created: info.Created,
        docker_container_command: [info.Path, ...(info.Args ?? [])].join(' '),
        docker_container_hostname: hostname,
        docker_container_state: state,
        docker_container_state_human: c.Status,
        control_probe_id: probeID,
        host_node_id: hostNode,
        ...prefixed('docker_label_', info.Config.Labels),
        ...(this.opts.includeEnv ? prefixed('docker_env_', envMap(info.Config.Env)) : {}),
      });
      if (state === 'running') {
        setLatest(node, now, {
          docker_container_uptime: Math.max(0, Math.floor((now - Date.parse(info.State.StartedAt)) / 1000)),
          docker_container_restart_count: info.RestartCount,
          docker_container_network_mode: info.HostConfig?.NetworkMode,
        });
      }
      const ips = new Set<string>();
      const networks: string[] = [];
      for (const [name, net] of Object.entries(info.NetworkSettings?.Networks ?? {})) {
        if (name === 'none') continue;
        networks.push(name);
        if (net.IPAddress) ips.add(net.IPAddress);
      }
      // Engines before API 1.44 also give the default network's address at the top level.
      const legacyIP = (info.NetworkSettings as { IPAddress?: string } | undefined)?.IPAddress;
      if (legacyIP) ips.add(legacyIP);
      setSet(node, 'docker_container_networks', networks);
      setSet(node, 'docker_container_ips', ips);
      setSet(node, 'docker_container_ips_with_scopes', [...ips].map((ip) => `${hostID};${ip}`));
      const ports = (c.Ports ?? []).map((p) =>
        p.PublicPort ? `${p.IP || '0.0.0.0'}:${p.PublicPort}->${p.PrivatePort}/${p.Type}` : `${p.PrivatePort}/${p.Type}`,
      );
      setSet(node, 'docker_container_ports', ports);
      addParent(node, 'container_image', containerImageNodeId(imageID));
      addParent(node, 'host', hostNode);
      const podUID = info.Config.Labels?.['io.kubernetes.pod.uid'];
      if (podUID) addParent(node, 'pod', podNodeId(podUID));
      addNode(result.containers, node);
    }
    for (const id of this.inspected.keys()) if (!live.has(id)) this.inspected.delete(id);

    for (const img of images) {
      const imageID = trimImageID(img.Id);
      const node = makeNode('ContainerImage', containerImageNodeId(imageID));
      const name = img.RepoTags?.find((t) => t !== '<none>:<none>');
      setLatest(node, now, {
        docker_image_id: imageID,
        docker_image_name: name,
        docker_image_tag: name?.includes(':') ? name.slice(name.lastIndexOf(':') + 1) : undefined,
        docker_image_size: img.Size,
        docker_image_created_at: img.Created ? new Date(img.Created * 1000).toISOString() : undefined,
        host_node_id: hostNode,
        ...prefixed('docker_image_label_', img.Labels),
      });
      addParent(node, 'host', hostNode);
      addNode(result.images, node);
    }
    return result;
  }
}

function envMap(env: string[] | null | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of env ?? []) {
    const i = kv.indexOf('=');
    if (i > 0) out[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return out;
}

const CONTAINER_ID_IN_CGROUP = /[0-9a-f]{64}/g;

/**
 * Finds the container a process runs in: first from its cgroup path (which names the container id
 * for `docker run` and `docker exec` processes alike), then by walking up the process tree to a
 * container's init process, as Weave Scope's Docker tagger does.
 */
export function containerOf(
  pid: number,
  scan: Pick<DockerScan, 'byId' | 'byPid'>,
  parentOf: (pid: number) => number | undefined,
  cgroupOf: (pid: number) => string | undefined,
): ContainerRef | undefined {
  if (scan.byId.size === 0) return undefined;
  const cgroup = cgroupOf(pid);
  for (const m of cgroup?.match(CONTAINER_ID_IN_CGROUP) ?? []) {
    const ref = scan.byId.get(m);
    if (ref) return ref;
  }
  const seen = new Set<number>();
  for (let p: number | undefined = pid; p !== undefined && p > 0 && !seen.has(p); p = parentOf(p)) {
    seen.add(p);
    const ref = scan.byPid.get(p);
    if (ref) return ref;
  }
  return undefined;
}
