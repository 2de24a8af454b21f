/**
 * The cluster DNS's feeder, run by `up` as a daemon: watches every Service and rewrites dnsmasq's hosts
 * file when the names change, then SIGHUPs dnsmasq to reread it.
 */
import { rename, writeFile } from 'node:fs/promises';
import { CoreV1Api, KubeConfig, makeInformer, type V1Service } from '@kubernetes/client-node';
import { serviceHosts } from './dns.ts';
import { KUBECONFIG_PATH, state } from './layout.ts';
import { runningPid } from './processes.ts';

const kc = new KubeConfig();
kc.loadFromFile(KUBECONFIG_PATH);
const core = kc.makeApiClient(CoreV1Api);
const informer = makeInformer<V1Service>(kc, '/api/v1/services', () => core.listServiceForAllNamespaces());

let written: string | undefined;
async function write(): Promise<void> {
  const hosts = serviceHosts(informer.list());
  if (hosts === written) return;
  await writeFile(`${state.dnsHosts}.new`, hosts);
  await rename(`${state.dnsHosts}.new`, state.dnsHosts);
  written = hosts;
  const dnsmasq = runningPid('dnsmasq');
  if (dnsmasq !== undefined) process.kill(dnsmasq, 'SIGHUP');
  console.log(`${new Date().toISOString()} ${hosts.split('\n').filter(Boolean).length} service names`);
}

const report = (err: unknown) => console.error(`${new Date().toISOString()} ${err instanceof Error ? err.message : String(err)}`);

/** One write at a time; changes that arrive meanwhile are folded into one more write. */
let writing: Promise<void> | undefined;
let again = false;
function sync(): void {
  if (writing) {
    again = true;
    return;
  }
  writing = (async () => {
    do {
      again = false;
      await write();
    } while (again);
  })()
    .catch(report)
    .finally(() => {
      writing = undefined;
    });
}

informer.on('change', sync);
informer.on('connect', sync);
informer.on('error', (err) => {
  report(err);
  setTimeout(() => void informer.start().catch(report), 1000);
});
process.on('SIGTERM', () => {
  void informer.stop();
  process.exit(0);
});
await informer.start();
sync();
