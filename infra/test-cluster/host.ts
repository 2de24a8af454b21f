/**
 * What the cluster needs from this machine and what it changes on it: root, dockerd and its bridge, the
 * sysctls the kubelet and kube-proxy set, the KUBE-* iptables chains they make, and the mounts under the
 * state directory.
 */
import { existsSync, readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { $ } from 'zx';
import { STATE_DIR, state } from './layout.ts';

const sh = $({ quiet: true });

export class ClusterError extends Error {
  constructor(message: string, readonly hint?: string) {
    super(message);
  }
}

export function requireRoot(): void {
  if (process.getuid?.() !== 0) {
    throw new ClusterError('the test cluster runs a kubelet, containerd and iptables rules: it needs root', 'run it as root: sudo npm run k8s -- up');
  }
}

export async function requireDocker(): Promise<void> {
  const ping = await sh`docker version --format {{.Server.Version}}`.nothrow();
  if (ping.exitCode !== 0) {
    throw new ClusterError(`no Docker daemon answers (${ping.stderr.trim().split('\n').pop() ?? ''})`, 'start dockerd first (.ci/run does: nohup dockerd >/tmp/dockerd.log 2>&1 &), then run npm run k8s -- up again');
  }
}

export interface Bridge {
  name: string;
  address: string;
  prefix: number;
}

/**
 * docker0's IPv4 address: the node address, where the apiserver, kubelet and DNS listen. Read with `ip`:
 * os.networkInterfaces() leaves out a bridge without carrier, which docker0 is until a container runs.
 */
export async function dockerBridge(name = 'docker0'): Promise<Bridge> {
  const shown = await sh`ip -4 -o addr show dev ${name}`.nothrow();
  const [, address, prefix] = /inet (\d+\.\d+\.\d+\.\d+)\/(\d+)/.exec(shown.stdout) ?? [];
  if (!address || !prefix) {
    throw new ClusterError(`the docker bridge ${name} has no IPv4 address`, 'start dockerd with its default bridge network, then run npm run k8s -- up again');
  }
  return { name, address, prefix: Number(prefix) };
}

function ipToInt(ip: string): number {
  return ip.split('.').reduce((n, part) => n * 256 + Number(part), 0);
}
function intToIp(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.');
}

/**
 * The top eighth of the bridge's subnet, for pod IPs: docker hands out its containers' addresses from the
 * bottom, so the two never meet, and pods on docker0 get docker's own FORWARD rules between bridge ports.
 */
export function podRange(bridge: Bridge): { subnet: string; rangeStart: string; rangeEnd: string; cidr: string } {
  if (bridge.prefix > 24) throw new ClusterError(`${bridge.name} is a /${bridge.prefix}: too small to share with pods (a /24 or larger is needed)`);
  const size = 2 ** (32 - bridge.prefix);
  const network = ipToInt(bridge.address) - (ipToInt(bridge.address) % size);
  const start = network + (size / 8) * 7;
  return {
    subnet: `${intToIp(network)}/${bridge.prefix}`,
    rangeStart: intToIp(start + 1),
    rangeEnd: intToIp(network + size - 2),
    cidr: `${intToIp(start)}/${bridge.prefix + 3}`,
  };
}

/** The sysctls the kubelet (setupKernelTunables), kube-proxy and the bridge plugin may change. */
export const WATCHED_SYSCTLS = [
  'vm.overcommit_memory',
  'vm.panic_on_oom',
  'kernel.panic',
  'kernel.panic_on_oops',
  'kernel.keys.root_maxkeys',
  'kernel.keys.root_maxbytes',
  'net.ipv4.conf.all.route_localnet',
  'net.ipv4.ip_forward',
  'net.bridge.bridge-nf-call-iptables',
  'net.bridge.bridge-nf-call-ip6tables',
  'net.netfilter.nf_conntrack_max',
] as const;

const sysctlPath = (key: string) => `/proc/sys/${key.replaceAll('.', '/')}`;

export function readSysctls(): Record<string, string> {
  const values: Record<string, string> = {};
  for (const key of WATCHED_SYSCTLS) {
    if (existsSync(sysctlPath(key))) values[key] = readFileSync(sysctlPath(key), 'utf8').trim();
  }
  return values;
}

/** Records the values before the cluster first touches them; a second `up` keeps the first record. */
export async function recordSysctls(): Promise<void> {
  if (existsSync(state.sysctls)) return;
  await writeFile(state.sysctls, JSON.stringify(readSysctls(), null, 2) + '\n');
}

/** Puts back every recorded value that differs now; returns the keys it restored. */
export async function restoreSysctls(): Promise<string[]> {
  if (!existsSync(state.sysctls)) return [];
  const before = JSON.parse(await readFile(state.sysctls, 'utf8')) as Record<string, string>;
  const now = readSysctls();
  const restored: string[] = [];
  for (const [key, value] of Object.entries(before)) {
    if (now[key] !== undefined && now[key] !== value) {
      await writeFile(sysctlPath(key), value + '\n');
      restored.push(`${key}=${value} (was ${now[key]})`);
    }
  }
  return restored;
}

const IPTABLES_TABLES = ['filter', 'nat', 'mangle', 'raw'] as const;
const isKubeChain = (name: string) => name.startsWith('KUBE-');

/**
 * An iptables-restore --noflush script that removes the KUBE-* chains of one table and every rule that
 * jumps to them from other chains, leaving everything else (docker's rules) as it is.
 */
export function kubeChainRemoval(table: string, saved: string): string | undefined {
  const chains: string[] = [];
  const jumps: string[] = [];
  for (const line of saved.split('\n')) {
    const chain = /^:(\S+)/.exec(line)?.[1];
    if (chain && isKubeChain(chain)) chains.push(chain);
    const [, from, spec] = /^-A (\S+) (.*)$/.exec(line) ?? [];
    if (from && spec && !isKubeChain(from) && / -[jg] KUBE-\S+/.test(` ${spec}`)) jumps.push(`-D ${from} ${spec}`);
  }
  if (chains.length === 0 && jumps.length === 0) return undefined;
  return [`*${table}`, ...jumps, ...chains.map((c) => `-F ${c}`), ...chains.map((c) => `-X ${c}`), 'COMMIT', ''].join('\n');
}

export async function kubeChains(): Promise<string[]> {
  const found: string[] = [];
  for (const tool of ['iptables', 'ip6tables']) {
    for (const table of IPTABLES_TABLES) {
      const saved = await sh`${tool}-save -t ${table}`.nothrow();
      for (const m of saved.stdout.matchAll(/^:(KUBE-\S+)/gm)) found.push(`${tool} ${table} ${m[1]}`);
    }
  }
  return found;
}

/** Removes the KUBE-* chains the kubelet and kube-proxy made, in both address families; returns how many. */
export async function removeKubeChains(): Promise<number> {
  let removed = 0;
  for (const tool of ['iptables', 'ip6tables']) {
    for (const table of IPTABLES_TABLES) {
      const saved = await sh`${tool}-save -t ${table}`.nothrow();
      if (saved.exitCode !== 0) continue;
      const script = kubeChainRemoval(table, saved.stdout);
      if (!script) continue;
      await sh({ input: script })`${tool}-restore --noflush`;
      removed += (script.match(/^-X /gm) ?? []).length;
    }
  }
  return removed;
}

/** Mount points under the state directory (secrets, shm, rootfs, netns), deepest first. */
export function mountsUnderState(): string[] {
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((mount): mount is string => !!mount && (mount === STATE_DIR || mount.startsWith(STATE_DIR + '/')))
    .map((mount) => mount.replace(/\\040/g, ' '));
  return [...new Set(mounts)].sort((a, b) => b.length - a.length);
}

export async function unmountState(): Promise<number> {
  const mounts = mountsUnderState();
  for (const mount of mounts) {
    const done = await sh`umount ${mount}`.nothrow();
    if (done.exitCode !== 0) await sh`umount -l ${mount}`.nothrow();
  }
  return mounts.length;
}

/** The cgroups the kubelet made (cgroupfs driver: /kubepods in every v1 hierarchy), leaves first. */
export async function removeKubeCgroups(): Promise<number> {
  const found = await sh`find /sys/fs/cgroup -depth -mindepth 2 -maxdepth 12 -type d -path '*/kubepods*'`.nothrow();
  const dirs = found.stdout.split('\n').filter(Boolean);
  let removed = 0;
  for (const dir of dirs) {
    const done = await sh`rmdir ${dir}`.nothrow();
    if (done.exitCode === 0) removed++;
  }
  return removed;
}
