/** The Host topology: one node for this machine, with Weave Scope's keys, templates and metrics. */
import os from 'node:os';
import { readCpuTimes, readLoad1, readMemInfo, readUptimeSeconds, type CpuTimes } from './proc.ts';
import { hostNodeId, makeNode, setLatest, setSet, singletonMetric, type Node, type TopologyTemplate } from './model.ts';

export const HOST_TEMPLATES: TopologyTemplate = {
  shape: 'circle',
  label: 'host',
  labelPlural: 'hosts',
  metadataTemplates: {
    kernel_version: { id: 'kernel_version', label: 'Kernel version', priority: 1, from: 'latest' },
    uptime: { id: 'uptime', label: 'Uptime', dataType: 'duration', priority: 2, from: 'latest' },
    host_name: { id: 'host_name', label: 'Hostname', priority: 11, from: 'latest' },
    os: { id: 'os', label: 'OS', priority: 12, from: 'latest' },
    local_networks: { id: 'local_networks', label: 'Local networks', priority: 13, from: 'sets' },
    host_scope_version: { id: 'host_scope_version', label: 'Scope version', priority: 14, from: 'latest' },
  },
  metricTemplates: {
    host_cpu_usage_percent: { id: 'host_cpu_usage_percent', label: 'CPU', format: 'percent', priority: 1 },
    host_mem_usage_bytes: { id: 'host_mem_usage_bytes', label: 'Memory', format: 'filesize', priority: 2 },
    load1: { id: 'load1', label: 'Load (1m)', group: 'load', priority: 11 },
  },
};

/** IPv4 addresses of this machine's interfaces with their prefix, as Scope lists them (`10.0.0.5/24`). */
export function localNetworks(): string[] {
  const out: string[] = [];
  for (const addrs of Object.values(os.networkInterfaces())) {
    for (const a of addrs ?? []) if (a.family === 'IPv4' && a.cidr) out.push(a.cidr);
  }
  return [...new Set(out)];
}

/** Networks of the Docker bridge: container addresses on it are local to this host. */
export function bridgeNetworks(bridge = 'docker0'): string[] {
  return (os.networkInterfaces()[bridge] ?? []).filter((a) => a.family === 'IPv4' && a.cidr).map((a) => a.cidr as string);
}

export class HostReporter {
  private prevCpu: CpuTimes | undefined;
  /** MemTotal from the last report, the ceiling of container memory metrics. */
  memTotalBytes: number | undefined;

  constructor(
    private readonly opts: { procRoot: string; hostID: string; hostName: string; probeID: string; version: string },
  ) {
    // A baseline now, so the first report already has the host's CPU use.
    this.prevCpu = readCpuTimes(opts.procRoot);
  }

  report(now: number): Node {
    const { procRoot, hostID, hostName, probeID, version } = this.opts;
    const node = makeNode('Host', hostNodeId(hostID));
    setLatest(node, now, {
      host_name: hostName,
      os: process.platform,
      kernel_version: `${os.release()} ${os.version()}`,
      uptime: readUptimeSeconds(procRoot) ?? Math.floor(os.uptime()),
      host_scope_version: version,
      control_probe_id: probeID,
      ts: new Date(now).toISOString(),
      host_node_id: node.id,
    });
    setSet(node, 'local_networks', localNetworks());
    node.parents.host = [node.id];

    const load1 = readLoad1(procRoot);
    if (load1 !== undefined) node.metrics.load1 = singletonMetric(now, load1, load1);
    const cpu = readCpuTimes(procRoot);
    if (cpu && this.prevCpu && cpu.total > this.prevCpu.total) {
      const total = cpu.total - this.prevCpu.total;
      const busy = total - (cpu.idle - this.prevCpu.idle);
      node.metrics.host_cpu_usage_percent = singletonMetric(now, (busy / total) * 100, 100);
    }
    if (cpu) this.prevCpu = cpu;
    const mem = readMemInfo(procRoot);
    if (mem) {
      node.metrics.host_mem_usage_bytes = singletonMetric(now, mem.usedBytes, mem.totalBytes);
      this.memTotalBytes = mem.totalBytes;
    }
    return node;
  }
}
