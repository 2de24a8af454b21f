/**
 * The forwarder: a detached process holding the users and mail forwards (and the frontend's, unless the node
 * publishes it) of a Kubernetes runtime (cluster/kubernetes/port-forward.ts), so they outlive `dev up`. It reads what to forward from the state file
 * and exits on SIGTERM.
 *
 * Run: node --import tsx cluster/runtimes/kubernetes/forwarder-daemon.ts --state <.dev/state/kubernetes.json>
 */
import { parseArgs } from 'node:util';
import { connect } from '../../kubernetes/client.ts';
import { openForward, type Forward } from '../../kubernetes/port-forward.ts';
import { forwardsOf } from './forwards.ts';
import { readState } from './state.ts';

const { values } = parseArgs({ options: { state: { type: 'string' } } });
const state = values.state ? readState(values.state) : undefined;
if (!state) {
  process.stderr.write('usage: forwarder-daemon.ts --state <kubernetes.json written by dev up>\n');
  process.exit(64);
}
const log = (msg: string, extra: Record<string, unknown> = {}) =>
  process.stdout.write(`${JSON.stringify({ level: 'info', time: new Date().toISOString(), service: 'dev-forwarder', msg, ...extra })}\n`);

const kube = await connect({ kubeconfig: state.kubeconfig, context: state.context });
const forwards: Forward[] = [];
for (const f of forwardsOf(state)) {
  const fwd = await openForward(kube, { service: f.service, namespace: state.namespace, port: f.port, localPort: state.ports[f.name] }, (message) => log(message, { forward: f.name }));
  forwards.push(fwd);
  log('forwarding', { forward: f.name, local: `127.0.0.1:${fwd.spec.localPort}`, service: f.service });
}
const stop = async () => {
  await Promise.all(forwards.map((f) => f.close()));
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
// One bad stream must not end the forwarder.
process.on('uncaughtException', (err) => log('stream error', { err: err.message }));
