/**
 * The probe role of the scope image (SCOPE_ROLE=probe): reads its configuration from the environment,
 * publishes until SIGTERM or SIGINT, then stops cleanly (aborting any request in flight) and exits 0.
 */
import { createLogger, int, readConfigOrExit, stopOnSignals, str, url } from '@saas/kit';
import { startProbe } from './probe.ts';

export { startProbe, PROBE_VERSION, type ProbeOptions, type ProbeEvent, type RunningProbe } from './probe.ts';

export const probeConfigSpec = {
  url: url('SCOPE_URL', ['http', 'https'], { doc: 'where to publish: the Scope app or the service in front of it' }),
  token: str('SCOPE_TOKEN', { secret: true, doc: "the organisation's probe token" }),
  intervalMs: int('SCOPE_PUBLISH_INTERVAL_MS', { default: 3000, min: 100, max: 600_000, doc: 'ms between reports' }),
  probeID: str('SCOPE_PROBE_ID', { default: '', doc: 'a fixed probe id (default: random at each start)' }),
  procRoot: str('SCOPE_PROC_ROOT', { default: '/proc', doc: "the host's /proc, when mounted elsewhere" }),
  hostName: str('SCOPE_HOSTNAME', { default: '', doc: 'the host name to report (default: this machine’s)' }),
};

export async function runProbe(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const log = createLogger('scope-probe');
  const config = readConfigOrExit('scope probe', probeConfigSpec, log, env);
  const probe = startProbe({
    url: config.url,
    token: config.token,
    intervalMs: config.intervalMs,
    probeID: config.probeID || undefined,
    procRoot: config.procRoot,
    hostName: config.hostName || undefined,
    log,
  });
  log.info({ url: config.url, probeID: probe.probeID, host: probe.hostID, intervalMs: config.intervalMs }, 'probe started');

  const signals = stopOnSignals(log, async () => {
    await probe.stop();
    log.info({ published: probe.published }, 'probe stopped');
  });
  await probe.done;
  if (!signals.stopping) process.exit(1); // the loop ended on its own: an unexpected error, already logged
}
