/**
 * One scan of this machine: host, processes, TCP endpoints, and containers and pods when their
 * sources exist, put together as one full report.
 */
import crypto from 'node:crypto';
import type { Logger } from '@saas/kit';
import { bridgeNetworks, HOST_TEMPLATES, HostReporter } from './host.ts';
import { ProcessWalker } from './processes.ts';
import { parseCidr, scanEndpoints, type Cidr } from './endpoints.ts';
import { connectDocker, containerOf, DockerReporter, type DockerSetting } from './docker.ts';
import { inCluster, KubernetesReporter, POD_TEMPLATES, type KubernetesSetting } from './kubernetes.ts';
import {
  addNode,
  addParent,
  containerNodeId,
  containerImageNodeId,
  emptyTopology,
  hostNodeId,
  makeNode,
  processNodeId,
  setLatest,
  singletonMetric,
  type Topology,
  type TopologyTemplate,
} from './model.ts';
import { dict, randomReportID, type Report } from '../report/index.ts';
import { CONTAINER_IMAGE_TEMPLATES, CONTAINER_TEMPLATES } from './docker.ts';

export const PROCESS_TEMPLATES: TopologyTemplate = {
  shape: 'square',
  label: 'process',
  labelPlural: 'processes',
  metadataTemplates: {
    pid: { id: 'pid', label: 'PID', dataType: 'number', priority: 1, from: 'latest' },
    cmdline: { id: 'cmdline', label: 'Command', priority: 2, from: 'latest' },
    ppid: { id: 'ppid', label: 'Parent PID', dataType: 'number', priority: 3, from: 'latest' },
    threads: { id: 'threads', label: '# Threads', dataType: 'number', priority: 4, from: 'latest' },
  },
  metricTemplates: {
    process_cpu_usage_percent: { id: 'process_cpu_usage_percent', label: 'CPU', format: 'percent', priority: 1 },
    process_memory_usage_bytes: { id: 'process_memory_usage_bytes', label: 'Memory', format: 'filesize', priority: 2 },
    open_files_count: { id: 'open_files_count', label: 'Open files', format: 'integer', priority: 3 },
  },
};

/** How often every descriptor link is re-read even when nothing looks stale (Scope's cache lifetime). */
const FULL_RESOLVE_MS = 60_000;
/** The longest a report waits for Docker or Kubernetes. */
const SOURCE_TIMEOUT_MS = 15_000;

export interface ScannerOptions {
  procRoot: string;
  hostID: string;
  hostName: string;
  probeID: string;
  version: string;
  log: Logger;
  /** false: never look for Docker; default: DOCKER_HOST, else /var/run/docker.sock if it exists. */
  docker?: DockerSetting;
  /** false: never look for Kubernetes; default: only when running in a cluster. */
  kubernetes?: false | KubernetesSetting;
  /** Publish interval in ms: the report's Window. */
  windowMs: number;
  /** The longest a scan waits for Docker or Kubernetes (default 15 s). */
  sourceTimeoutMs?: number;
}

export interface ScanStats {
  /** wall time of the whole scan, Docker and Kubernetes API calls included */
  ms: number;
  /** wall time of the /proc phase (walk and TCP tables; it yields to the event loop now and then) */
  procMs: number;
  /** CPU time (user + system) this process used during the scan: the probe's cost when it runs alone */
  cpuMs: number;
  /** whether this scan re-read every descriptor link (see ProcessWalker) */
  resolvedSockets: boolean;
  processes: number;
  connections: number;
  listening: number;
  namespaces: number;
  containers: number;
  pods: number;
}

export class Scanner {
  private readonly walker: ProcessWalker;
  private readonly host: HostReporter;
  private readonly docker: DockerReporter | undefined;
  private readonly kubernetes: KubernetesReporter | undefined;
  private readonly localNetworks: Cidr[];
  private readonly knownUnowned = new Set<number>();
  private lastResolve = 0;
  /** Sources (Docker, Kubernetes) that did not answer in time at the last scan. */
  private readonly slow = new Set<string>();

  constructor(private readonly opts: ScannerOptions) {
    this.walker = new ProcessWalker(opts.procRoot);
    this.host = new HostReporter(opts);
    const docker = connectDocker(opts.docker);
    if (docker) this.docker = new DockerReporter(docker, { hostID: opts.hostID, probeID: opts.probeID, log: opts.log });
    else if (opts.docker !== false) opts.log.info('no Docker socket (DOCKER_HOST or /var/run/docker.sock): containers are not reported');
    if (opts.kubernetes !== false && inCluster(opts.kubernetes ?? {})) {
      this.kubernetes = new KubernetesReporter(opts.kubernetes ?? {}, { hostID: opts.hostID, probeID: opts.probeID, log: opts.log });
      opts.log.info({ node: this.kubernetes.nodeName }, 'in a Kubernetes cluster: reporting the pods of this node');
    }
    this.localNetworks = bridgeNetworks().flatMap((c) => parseCidr(c) ?? []);
  }

  /**
   * Takes the CPU baseline of every process without making a report, so that the first report already
   * carries CPU use (the probe does this while it waits for the handshake).
   */
  async prime(): Promise<void> {
    await this.walker.walk();
  }

  get dockerEnabled(): boolean {
    return this.docker !== undefined;
  }

  get kubernetesEnabled(): boolean {
    return this.kubernetes !== undefined;
  }

  async scan(): Promise<{ report: Report; stats: ScanStats }> {
    const started = performance.now();
    const cpuStarted = process.cpuUsage();
    const now = Date.now();
    const { procRoot, hostID } = this.opts;
    const hostNode = hostNodeId(hostID);

    // Containers and pods come over the network; ask for them while /proc is read. Their reporters
    // handle their own errors; anything else is logged here so it can never go unhandled meanwhile.
    const limit = this.opts.sourceTimeoutMs ?? SOURCE_TIMEOUT_MS;
    const fromSource = async <T>(what: string, ask: ((timeoutMs: number) => Promise<T | undefined>) | undefined): Promise<T | undefined> => {
      if (!ask) return undefined;
      try {
        const answer = await ask(limit);
        if (answer === undefined) {
          if (!this.slow.has(what)) this.opts.log.warn(`${what} did not answer within ${limit / 1000} s; reports go without it until it does`);
          this.slow.add(what);
        } else if (this.slow.delete(what)) {
          this.opts.log.info(`${what} answers again`);
        }
        return answer;
      } catch (err) {
        this.opts.log.error({ err }, `${what} scan failed`);
        return undefined;
      }
    };
    const dockerPromise = fromSource('Docker', this.docker && ((ms) => this.docker!.scan(ms)));
    const podsPromise = fromSource('Kubernetes', this.kubernetes && ((ms) => this.kubernetes!.scan(ms)));

    const procStarted = performance.now();
    const { processes, maxCpuPercent } = await this.walker.walk(now);
    const endpoints = await scanEndpoints({
      procRoot,
      hostID,
      processes,
      localNetworks: this.localNetworks,
      now,
      resolveSockets: () => this.walker.resolveSockets(processes.values()),
      knownUnowned: this.knownUnowned,
      // Bounds how long a stale cached descriptor link can hide a connection.
      forceResolve: now - this.lastResolve > FULL_RESOLVE_MS,
    });
    if (endpoints.stats.resolved) this.lastResolve = now;
    const procMs = performance.now() - procStarted;
    const docker = await dockerPromise;
    const pods = await podsPromise;

    const hostTopology = emptyTopology(HOST_TEMPLATES);
    addNode(hostTopology, this.host.report(now));
    const processTopology = emptyTopology(PROCESS_TEMPLATES);
    // Per container: the memory and CPU of its processes, summed (cheaper than Docker's stats stream).
    const usage = new Map<string, { rss: number; cpu: number; measured: boolean }>();
    for (const p of processes.values()) {
      const node = makeNode('Process', processNodeId(hostID, p.pid));
      setLatest(node, now, {
        pid: p.pid,
        name: p.name,
        cmdline: p.cmdline,
        ppid: p.ppid > 0 ? p.ppid : undefined,
        threads: p.threads,
        host_node_id: hostNode,
      });
      node.metrics.process_memory_usage_bytes = singletonMetric(now, p.rssBytes, p.rssLimitBytes);
      node.metrics.open_files_count = singletonMetric(now, p.openFiles, p.openFilesLimit);
      if (p.cpuPercent !== undefined) node.metrics.process_cpu_usage_percent = singletonMetric(now, p.cpuPercent, maxCpuPercent);
      addParent(node, 'host', hostNode);
      if (docker) {
        const c = containerOf(p.pid, docker, (pid) => processes.get(pid)?.ppid, (pid) => this.walker.cgroupOf(pid, now));
        if (c) {
          setLatest(node, now, { docker_container_id: c.id });
          addParent(node, 'container', containerNodeId(c.id));
          addParent(node, 'container_image', containerImageNodeId(c.imageID));
          const u = usage.get(c.id) ?? { rss: 0, cpu: 0, measured: false };
          u.rss += p.rssBytes;
          if (p.cpuPercent !== undefined) {
            u.cpu += p.cpuPercent;
            u.measured = true;
          }
          usage.set(c.id, u);
        }
      }
      addNode(processTopology, node);
    }
    if (docker) {
      const memTotal = this.host.memTotalBytes;
      for (const [id, u] of usage) {
        const cNode = docker.containers.nodes[containerNodeId(id)];
        if (!cNode) continue;
        cNode.metrics.docker_memory_usage = singletonMetric(now, u.rss, memTotal ?? u.rss);
        // Percent of the whole machine, as Scope's docker_cpu_total_usage (max 100).
        if (u.measured) cNode.metrics.docker_cpu_total_usage = singletonMetric(now, u.cpu / (maxCpuPercent / 100), 100);
      }
    }

    const report: Report = {
      id: randomReportID(),
      ts: now,
      window: this.opts.windowMs,
      shortcut: false,
      dns: dict(),
      sampling: { count: 0, total: 0 },
      plugins: [],
      topologies: {
        Endpoint: endpoints.topology,
        Process: processTopology,
        Container: docker?.containers ?? emptyTopology(CONTAINER_TEMPLATES),
        ContainerImage: docker?.images ?? emptyTopology(CONTAINER_IMAGE_TEMPLATES),
        Pod: pods ?? emptyTopology(POD_TEMPLATES),
        Host: hostTopology,
      },
    };
    const cpu = process.cpuUsage(cpuStarted);
    return {
      report,
      stats: {
        ms: Math.round((performance.now() - started) * 10) / 10,
        procMs: Math.round(procMs * 10) / 10,
        cpuMs: Math.round(((cpu.user + cpu.system) / 1000) * 10) / 10,
        resolvedSockets: endpoints.stats.resolved,
        processes: processes.size,
        connections: endpoints.stats.connections,
        listening: endpoints.stats.listening,
        namespaces: endpoints.stats.namespaces,
        containers: docker ? Object.keys(docker.containers.nodes).length : 0,
        pods: pods ? Object.keys(pods.nodes).length : 0,
      },
    };
  }
}

/** A probe id as Weave Scope makes them: a random 63-bit integer in hex. */
export function randomProbeID(): string {
  return (crypto.randomBytes(8).readBigUInt64BE() >> 1n).toString(16);
}

