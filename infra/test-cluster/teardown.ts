/**
 * `down`: stops the daemons in reverse start order, then everything they left: pod processes and shims,
 * mounts under the state directory, KUBE-* chains, the kubelet's cgroups and changed sysctls. The state
 * directory goes too, except the logs.
 */
import { existsSync, readFileSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { $ } from 'zx';
import { COMPONENTS, type Component } from './components.ts';
import { removeKubeCgroups, removeKubeChains, restoreSysctls, unmountState } from './host.ts';
import { STATE_DIR, state } from './layout.ts';
import { killPid, pidsWithArgument, recordedDaemons, stopDaemon } from './processes.ts';

const sh = $({ quiet: true });

export interface TeardownReport {
  stopped: string[];
  podProcesses: number;
  shims: number;
  mounts: number;
  chains: number;
  cgroups: number;
  sysctls: string[];
}

/** Processes in the kubelet's pod cgroups: containers and pause processes. */
async function podProcesses(): Promise<number[]> {
  const found = await sh`find /sys/fs/cgroup -path '*kubepods*' -name cgroup.procs`.nothrow();
  const pids = new Set<number>();
  for (const file of found.stdout.split('\n').filter(Boolean)) {
    try {
      for (const pid of readFileSync(file, 'utf8').split('\n').filter(Boolean)) pids.add(Number(pid));
    } catch {
      // the cgroup went meanwhile
    }
  }
  return [...pids];
}

const graceFor = (name: string) => (name === 'kube-apiserver' || name === 'etcd' ? 15_000 : 8_000);

export async function teardown(): Promise<TeardownReport> {
  const report: TeardownReport = { stopped: [], podProcesses: 0, shims: 0, mounts: 0, chains: 0, cgroups: 0, sysctls: [] };
  const order = [...COMPONENTS].reverse();
  const stop = async (name: string) => {
    const started = Date.now();
    if (await stopDaemon(name, graceFor(name))) report.stopped.push(`${name} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  };
  const until: Component = 'containerd';
  for (const name of order.slice(0, order.indexOf(until))) await stop(name);
  // No kubelet any more: nothing restarts a pod while its processes are killed.
  const pods = await podProcesses();
  await Promise.all(pods.map((pid) => killPid(pid, 0)));
  report.podProcesses = pods.length;
  await stop('containerd');
  const shims = pidsWithArgument(state.containerdSocket);
  await Promise.all(shims.map((pid) => killPid(pid, 2_000)));
  report.shims = shims.length;
  for (const name of order.slice(order.indexOf(until) + 1)) await stop(name);
  for (const name of recordedDaemons()) await stop(name);
  report.mounts = await unmountState();
  report.chains = await removeKubeChains();
  report.cgroups = await removeKubeCgroups();
  report.sysctls = await restoreSysctls();
  if (existsSync(STATE_DIR)) {
    for (const entry of await readdir(STATE_DIR)) {
      if (join(STATE_DIR, entry) !== state.logs) await rm(join(STATE_DIR, entry), { recursive: true, force: true });
    }
  }
  return report;
}
