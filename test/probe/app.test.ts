import test from 'ava';
import { spawn } from 'node:child_process';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { waitFor } from '@saas/kit/testing';
import { buildScopeApp } from '../../images/scope/src/app/server.ts';
import { startProbe } from '../../images/scope/src/probe/main.ts';
import { captureLog } from './helpers.ts';

test('our probe publishing to the real Scope app: hosts, processes and the edge of a TCP connection between two processes show on the map API', async (t) => {
  const scope = await buildScopeApp({ logger: pino({ level: 'silent' }) });
  await scope.app.listen({ port: 0, host: '127.0.0.1' });
  t.teardown(() => scope.close().then(() => scope.app.close()));
  const base = `http://127.0.0.1:${(scope.app.server.address() as AddressInfo).port}`;

  // A server in another process, and a connection from this one to it.
  const child = spawn(process.execPath, ['-e', "require('net').createServer(()=>{}).listen(0,'127.0.0.1',function(){console.log(this.address().port)})"], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.teardown(() => child.kill());
  const port = await new Promise<number>((resolve) => child.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))));
  const client = net.connect(port, '127.0.0.1');
  await new Promise<void>((resolve) => client.once('connect', resolve));
  t.teardown(() => client.destroy());

  const probe = startProbe({ url: base, token: 'any', intervalMs: 500, docker: false, kubernetes: false, log: captureLog().log });
  t.teardown(() => probe.stop());
  const host = probe.hostID;

  type Summary = { label: string; adjacency?: string[] };
  const get = async <T>(path: string): Promise<T> => (await (await fetch(`${base}${path}`)).json()) as T;
  const processes = await waitFor(
    'the connection as an edge between the two processes',
    async () => {
      const { nodes } = await get<{ nodes: Record<string, Summary> }>('/api/topology/processes');
      return nodes[`${host};${process.pid}`]?.adjacency?.includes(`${host};${child.pid}`) ? nodes : undefined;
    },
    60_000,
    300,
  );
  t.truthy(processes[`${host};${child.pid}`]);
  const hosts = await get<{ nodes: Record<string, Summary> }>('/api/topology/hosts');
  t.truthy(hosts.nodes[`${host};<host>`]);
  const probes = await get<{ id: string }[]>('/api/probes');
  t.true(probes.some((p) => p.id === probe.probeID));
});
