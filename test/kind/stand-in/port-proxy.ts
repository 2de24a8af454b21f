/**
 * Part of the kind stand-in (a test double): what Docker's port publishing does for a kind node's
 * extraPortMappings, a TCP relay from the host port to the node's port. Exits on SIGTERM.
 *
 * Run: node --import tsx port-proxy.ts <listenAddress> <hostPort> <nodeAddress> <containerPort>
 */
import net from 'node:net';

const [listenAddress = '127.0.0.1', hostPort = '', nodeAddress = '', containerPort = ''] = process.argv.slice(2);
const server = net.createServer((client) => {
  const upstream = net.connect({ host: nodeAddress, port: Number(containerPort) });
  client.pipe(upstream).pipe(client);
  const close = () => {
    client.destroy();
    upstream.destroy();
  };
  client.on('error', close);
  upstream.on('error', close);
});
server.on('error', (err) => {
  process.stderr.write(`${err.message}\n`);
  process.exit(1);
});
server.listen({ host: listenAddress, port: Number(hostPort) }, () => process.stdout.write('listening\n'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
