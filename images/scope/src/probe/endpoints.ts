/**
 * The Endpoint topology: TCP connections read from each network namespace's /proc/<pid>/net/tcp{,6},
 * mapped to processes through socket inodes (/proc/<pid>/fd → socket:[inode]), as Weave Scope's
 * procspy does. A connection becomes two endpoint nodes `<scope>;<ip>;<port>` and an adjacency from
 * the connecting side to the accepting side; the local side carries `pid` and `host_node_id`.
 */
import path from 'node:path';
import type { ProcessInfo } from './processes.ts';
import { readNetNamespace } from './proc.ts';
import { isConnected, isLoopback, isWildcard, readTcpTables, TCP_LISTEN, type TcpSocket } from './procnet.ts';
import { addAdjacent, addNode, emptyTopology, endpointNodeId, hostNodeId, makeNode, setLatest, type Topology } from './model.ts';

export interface EndpointScanInput {
  procRoot: string;
  hostID: string;
  processes: Map<number, ProcessInfo>;
  /** IPv4 networks (e.g. the docker0 bridge) whose addresses only mean something on this host. */
  localNetworks: Cidr[];
  now: number;
  /**
   * Re-reads every process's descriptor links. Called when a socket in the tables has no known owner
   * (process socket inodes may come from a cache); not needed when they were all read fresh.
   */
  resolveSockets?: () => Promise<void>;
  /** Sockets no process could be found for at the last full resolution (kept by the caller between scans). */
  knownUnowned?: Set<number>;
  /** Re-read every descriptor link first, whatever the tables say (the caller does so now and then). */
  forceResolve?: boolean;
}

export interface EndpointScanStats {
  namespaces: number;
  /** whether cached descriptor links had to be re-read (a socket had no known owner) */
  resolved: boolean;
  connections: number;
  listening: number;
}

export interface Cidr {
  base: number;
  mask: number;
}

export function parseCidr(cidr: string): Cidr | undefined {
  const [ip, bits] = cidr.split('/');
  const n = ipv4ToInt(ip ?? '');
  const b = Number(bits);
  if (n === undefined || !Number.isInteger(b) || b < 0 || b > 32) return undefined;
  const mask = b === 0 ? 0 : (~0 << (32 - b)) >>> 0;
  return { base: (n & mask) >>> 0, mask };
}

function ipv4ToInt(ip: string): number | undefined {
  const parts = ip.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    const v = Number(p);
    if (!Number.isInteger(v) || v < 0 || v > 255) return undefined;
    n = n * 256 + v;
  }
  return n;
}

function inNetworks(address: string, nets: Cidr[]): boolean {
  if (!nets.length) return false;
  const n = ipv4ToInt(address);
  return n !== undefined && nets.some((c) => ((n & c.mask) >>> 0) === c.base);
}

/**
 * Weave Scope's address scoping: loopback and host-local (bridge) addresses are only meaningful on
 * this host, so they get the host id as scope; loopback in another network namespace (a container)
 * also gets the namespace, since two containers' 127.0.0.1:80 are different endpoints. Routable
 * addresses get an empty scope so both ends of a cross-host connection meet on the same id.
 */
export function endpointScope(hostID: string, address: string, netns: number | undefined, hostNetns: number | undefined, nets: Cidr[]): string {
  if (isLoopback(address)) {
    return netns !== undefined && hostNetns !== undefined && netns !== hostNetns ? `${hostID}-${netns}` : hostID;
  }
  if (isWildcard(address) || inNetworks(address, nets)) return hostID;
  return '';
}

export async function scanEndpoints(input: EndpointScanInput): Promise<{ topology: Topology; stats: EndpointScanStats }> {
  const { procRoot, hostID, processes, localNetworks, now } = input;
  const topology = emptyTopology();
  const hostNode = hostNodeId(hostID);
  const selfNetns = readNetNamespace(procRoot, 'self');
  const hostNetns = readNetNamespace(procRoot, 1) ?? selfNetns;

  let resolved = false;
  if (input.forceResolve && input.resolveSockets) {
    await input.resolveSockets();
    resolved = true;
  }

  // One table per network namespace, read through any of its processes (ours through /proc/self).
  // Reading a table walks the kernel's whole connection hash, so namespaces where no process holds a
  // socket (most containers between requests) are skipped.
  const namespaces = new Map<number, ProcessInfo[]>();
  for (const p of processes.values()) {
    if (p.netns === undefined || p.netns === selfNetns || p.socketInodes.length === 0) continue;
    const members = namespaces.get(p.netns);
    if (members) members.push(p);
    else namespaces.set(p.netns, [p]);
  }
  const tables: { netns: number | undefined; sockets: TcpSocket[] }[] = [];
  const ownTable = readTcpTables(path.join(procRoot, 'self'));
  if (ownTable) tables.push({ netns: selfNetns, sockets: ownTable });
  for (const [netns, members] of namespaces) {
    for (const m of members) {
      const sockets = readTcpTables(path.join(procRoot, String(m.pid)));
      if (sockets) {
        tables.push({ netns, sockets });
        break;
      }
    }
  }

  // Socket inodes are unique machine-wide, so one map serves every namespace.
  const buildOwners = (): Map<number, ProcessInfo> => {
    const owner = new Map<number, ProcessInfo>();
    for (const p of processes.values()) for (const inode of p.socketInodes) owner.set(inode, p);
    return owner;
  };
  let owner = buildOwners();
  const unowned = (): number[] =>
    tables.flatMap((t) => t.sockets.filter((s) => s.inode && (s.state === TCP_LISTEN || isConnected(s.state)) && !owner.has(s.inode)).map((s) => s.inode));
  const known = input.knownUnowned ?? new Set<number>();
  if (input.resolveSockets && !resolved && unowned().some((inode) => !known.has(inode))) {
    await input.resolveSockets();
    resolved = true;
    owner = buildOwners();
  }
  if (resolved) {
    // What is still unowned after reading every link (sockets of processes we cannot see) stays so.
    known.clear();
    for (const inode of unowned()) known.add(inode);
  }

  const stats: EndpointScanStats = { namespaces: tables.length, resolved, connections: 0, listening: 0 };
  for (const { netns, sockets } of tables) {
    const scope = (address: string): string => endpointScope(hostID, address, netns, hostNetns, localNetworks);
    const listening = new Set<string>();
    for (const s of sockets) {
      if (s.state !== TCP_LISTEN) continue;
      listening.add(`${s.localAddress}:${s.localPort}`);
      const proc = owner.get(s.inode);
      const node = makeNode('Endpoint', endpointNodeId(scope(s.localAddress), s.localAddress, s.localPort));
      if (proc) setLatest(node, now, { pid: proc.pid, host_node_id: hostNode });
      addNode(topology, node);
      stats.listening++;
    }
    const isListened = (address: string, port: number): boolean =>
      listening.has(`${address}:${port}`) || listening.has(`0.0.0.0:${port}`) || listening.has(`:::${port}`);

    for (const s of sockets) {
      if (!isConnected(s.state)) continue;
      const proc = owner.get(s.inode);
      const local = makeNode('Endpoint', endpointNodeId(scope(s.localAddress), s.localAddress, s.localPort));
      const remote = makeNode('Endpoint', endpointNodeId(scope(s.remoteAddress), s.remoteAddress, s.remotePort));
      if (proc) setLatest(local, now, { pid: proc.pid, host_node_id: hostNode });
      // Accepted connections point at us; without a listener to tell, Scope's guess: the lower port serves.
      const incoming = isListened(s.localAddress, s.localPort) || (!isListened(s.remoteAddress, s.remotePort) && s.localPort < s.remotePort);
      if (incoming) addAdjacent(remote, local.id);
      else addAdjacent(local, remote.id);
      addNode(topology, local);
      addNode(topology, remote);
      stats.connections++;
    }
  }
  return { topology, stats };
}
