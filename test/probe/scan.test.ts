import test from 'ava';
import net from 'node:net';
import os from 'node:os';
import { waitFor } from '@saas/kit/testing';
import { decodeAddress, formatIPv6, parseTcpTable, TCP_ESTABLISHED, TCP_LISTEN } from '../../images/scope/src/probe/procnet.ts';
import { parseStat } from '../../images/scope/src/probe/proc.ts';
import { endpointScope, parseCidr } from '../../images/scope/src/probe/endpoints.ts';
import { decodeReport, encodeReport } from '../../images/scope/src/report/index.ts';
import { procScanner } from './helpers.ts';

const hostName = os.hostname();



test.serial('a scan of the real /proc finds this test process, its host, and a loopback TCP connection mapped through socket inodes', async (t) => {
  const accepted: net.Socket[] = [];
  const server = net.createServer((s) => accepted.push(s));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const serverPort = (server.address() as net.AddressInfo).port;
  const client = net.connect(serverPort, '127.0.0.1');
  await new Promise<void>((resolve) => client.once('connect', resolve));
  // Until the server accepts it, the kernel's socket has no descriptor (inode 0 in /proc/net/tcp).
  await waitFor('the server to accept', async () => accepted.length === 1);
  t.teardown(() => {
    client.destroy();
    for (const s of accepted) s.destroy();
    server.close();
  });
  const clientPort = client.localPort!;

  const { report, stats } = await procScanner().scan();
  t.log(`scan: ${stats.ms} ms, ${stats.processes} processes, ${stats.connections} connections, ${stats.listening} listening sockets`);

  // The host node.
  const hostNode = report.topologies.Host!.nodes[`${hostName};<host>`];
  t.truthy(hostNode, 'host node <hostname>;<host>');
  t.is(hostNode!.latest.host_name?.value, hostName);
  t.is(hostNode!.latest.os?.value, 'linux');
  t.is(hostNode!.latest.kernel_version?.value, `${os.release()} ${os.version()}`);
  t.regex(hostNode!.latest.uptime?.value ?? '', /^\d+$/);
  t.true((hostNode!.sets.local_networks ?? []).includes('127.0.0.1/8'));
  t.true(hostNode!.metrics.host_mem_usage_bytes!.samples[0]!.value > 0);
  t.true(hostNode!.metrics.host_mem_usage_bytes!.max >= hostNode!.metrics.host_mem_usage_bytes!.samples[0]!.value);
  t.is(typeof hostNode!.metrics.load1?.samples[0]?.value, 'number');

  // This very process.
  const self = report.topologies.Process!.nodes[`${hostName};${process.pid}`];
  t.truthy(self, 'process node <hostID>;<pid> for the test process');
  t.is(self!.topology, 'process');
  t.is(self!.latest.pid?.value, String(process.pid));
  t.is(self!.latest.ppid?.value, String(process.ppid));
  t.is(self!.latest.name?.value, process.argv0, 'name is argv[0], as Scope names processes');
  t.is(self!.latest.cmdline?.value.split(' ')[0], process.argv0);
  // Our command line contains the script ava runs us with; argv[0] is the node binary.
  t.true(self!.latest.cmdline!.value.includes(process.argv[1]!), self!.latest.cmdline!.value);
  t.true(Number(self!.latest.threads?.value) >= 1);
  t.deepEqual(self!.parents.host, [`${hostName};<host>`]);
  t.is(self!.latest.host_node_id?.value, `${hostName};<host>`);
  t.true(self!.metrics.process_memory_usage_bytes!.samples[0]!.value > 1024 * 1024);
  t.true(self!.metrics.open_files_count!.samples[0]!.value > 0);

  // The connection, both ends, loopback scoped by the host id; client → server adjacency.
  const endpoints = report.topologies.Endpoint!.nodes;
  const clientEnd = endpoints[`${hostName};127.0.0.1;${clientPort}`];
  const serverEnd = endpoints[`${hostName};127.0.0.1;${serverPort}`];
  t.truthy(clientEnd, 'client endpoint');
  t.truthy(serverEnd, 'server endpoint');
  t.deepEqual(clientEnd!.adjacency, [`${hostName};127.0.0.1;${serverPort}`]);
  t.deepEqual(serverEnd!.adjacency, []);
  t.is(clientEnd!.latest.pid?.value, String(process.pid), 'client socket inode maps to this process');
  t.is(serverEnd!.latest.pid?.value, String(process.pid), 'accepted socket inode maps to this process');
  t.is(clientEnd!.latest.host_node_id?.value, `${hostName};<host>`);
  t.is(clientEnd!.topology, 'endpoint');

  // And it goes through our wire format and back.
  const encoded = encodeReport(report);
  const back = decodeReport(encoded.body, { contentType: encoded.headers['Content-Type'], contentEncoding: encoded.headers['Content-Encoding'] });
  t.deepEqual(back.topologies.Endpoint!.nodes[clientEnd!.id]!.adjacency, clientEnd!.adjacency);
  t.is(back.topologies.Process!.nodes[self!.id]!.latest.cmdline!.value, self!.latest.cmdline!.value);
});

test.serial('a second scan reports CPU use per process, relative to one CPU', async (t) => {
  const s = procScanner();
  const first = await s.scan();
  t.is(first.report.topologies.Process!.nodes[`${hostName};${process.pid}`]!.metrics.process_cpu_usage_percent, undefined);
  const until = Date.now() + 50;
  while (Date.now() < until); // a little CPU of our own to measure
  const second = await s.scan();
  const cpu = second.report.topologies.Process!.nodes[`${hostName};${process.pid}`]!.metrics.process_cpu_usage_percent;
  t.truthy(cpu);
  t.true(cpu!.samples[0]!.value >= 0);
  t.is(cpu!.max, os.cpus().length * 100);
  t.truthy(second.report.topologies.Host!.nodes[`${hostName};<host>`]!.metrics.host_cpu_usage_percent);
});

test.serial('connections opened between scans are mapped too (descriptor links are cached, never trusted blindly)', async (t) => {
  const accepted: net.Socket[] = [];
  const server = net.createServer((sock) => accepted.push(sock));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  const clients: net.Socket[] = [];
  t.teardown(() => {
    for (const s of [...clients, ...accepted]) s.destroy();
    server.close();
  });
  const connect = async (): Promise<net.Socket> => {
    const c = net.connect(port, '127.0.0.1');
    clients.push(c);
    await new Promise<void>((resolve) => c.once('connect', resolve));
    await waitFor('the server to accept', async () => accepted.length === 1);
    return c;
  };
  const s = procScanner();
  const first = await connect();
  const r1 = await s.scan();
  t.is(r1.report.topologies.Endpoint!.nodes[`${hostName};127.0.0.1;${first.localPort}`]?.latest.pid?.value, String(process.pid));
  // Close and reconnect: the kernel hands out the lowest free descriptor, usually the one just closed.
  first.destroy();
  for (const a of accepted.splice(0)) a.destroy();
  await new Promise((r) => setTimeout(r, 50));
  const second = await connect();
  const r2 = await s.scan();
  const node = r2.report.topologies.Endpoint!.nodes[`${hostName};127.0.0.1;${second.localPort}`];
  t.truthy(node);
  t.is(node!.latest.pid?.value, String(process.pid));
  t.deepEqual(node!.adjacency, [`${hostName};127.0.0.1;${port}`]);
});

test.serial('a listening socket is an endpoint of its process; connections accepted on it point at it', async (t) => {
  const server = net.createServer((s) => s.destroy());
  await new Promise<void>((resolve) => server.listen(0, '0.0.0.0', resolve));
  t.teardown(() => server.close());
  const port = (server.address() as net.AddressInfo).port;
  const { report } = await procScanner().scan();
  const listener = report.topologies.Endpoint!.nodes[`${hostName};0.0.0.0;${port}`];
  t.truthy(listener, 'wildcard listener scoped by the host id');
  t.is(listener!.latest.pid?.value, String(process.pid));
});

test.serial('/proc/net/tcp lines decode to addresses, ports, states and inodes (IPv4, IPv6, v4-mapped)', (t) => {
  const table = [
    '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
    '   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 4242 1 0000000000000000 100 0 0 10 0',
    '   1: 0100007F:DF4E 0100007F:1F90 01 00000000:00000000 00:00000000 00000000  1000        0 4243 1 0000000000000000 20 4 30 10 -1',
  ].join('\n');
  const sockets = parseTcpTable(table);
  t.deepEqual(sockets[0], { localAddress: '127.0.0.1', localPort: 8080, remoteAddress: '0.0.0.0', remotePort: 0, state: TCP_LISTEN, inode: 4242 });
  t.deepEqual(sockets[1], { localAddress: '127.0.0.1', localPort: 57166, remoteAddress: '127.0.0.1', remotePort: 8080, state: TCP_ESTABLISHED, inode: 4243 });
  t.is(decodeAddress('00000000000000000000000001000000'), '::1');
  t.is(decodeAddress('00000000000000000000000000000000'), '::');
  t.is(decodeAddress('0000000000000000FFFF00000100007F'), '127.0.0.1');
  t.is(decodeAddress('B80D0120000000000000000001000000'), '2001:db8::1');
  t.is(formatIPv6([0x2001, 0xdb8, 0, 1, 0, 0, 0, 1]), '2001:db8:0:1::1');
});

test.serial('/proc/<pid>/stat parses even when the command name has spaces and parentheses', (t) => {
  const stat = parseStat('4242 (my (odd) name) S 1 4242 4242 0 -1 4194560 100 0 0 0 7 3 0 0 20 0 5 0 12345 1000000 250 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0');
  t.truthy(stat);
  t.is(stat!.comm, 'my (odd) name');
  t.is(stat!.ppid, 1);
  t.is(stat!.jiffies, 10);
  t.is(stat!.threads, 5);
  t.is(stat!.startTime, 12345);
  t.is(stat!.rssPages, 250);
});

test.serial('endpoint scopes follow Weave Scope: loopback and bridge addresses get the host id, routable ones none', (t) => {
  const bridge = [parseCidr('172.17.0.1/16')!];
  t.is(endpointScope('vm', '127.0.0.1', 1, 1, bridge), 'vm');
  t.is(endpointScope('vm', '::1', 1, 1, bridge), 'vm');
  t.is(endpointScope('vm', '127.0.0.1', 7, 1, bridge), 'vm-7', 'loopback in a container namespace');
  t.is(endpointScope('vm', '172.17.0.5', 7, 1, bridge), 'vm');
  t.is(endpointScope('vm', '10.1.2.3', 1, 1, bridge), '');
  t.is(endpointScope('vm', '0.0.0.0', 1, 1, bridge), 'vm');
});
