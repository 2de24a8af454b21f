/**
 * A service's log lines: its pod found through the Deployment's selector. With follow, the stream is picked up
 * again when it ends, until the signal aborts: the same pod from the time of the last line (a dropped stream, a
 * restarted container), a new pod from its first line (it may have started before the old one's stream ended).
 */
import { PassThrough } from 'node:stream';
import { Log } from '@kubernetes/client-node';
import type { LogOptions } from '../runtime.ts';
import { apiStatus, type Kube } from './client.ts';
import { podsOf } from './pods.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function streamLogs(kube: Kube, namespace: string, service: string, onLine: (line: string) => void, options: LogOptions = {}): Promise<void> {
  const log = new Log(kube.kc);
  let since: Date | undefined;
  let followedPod: string | undefined;
  for (;;) {
    const d = await kube.apps.readNamespacedDeployment({ name: service, namespace }).catch((err: unknown) => {
      if (apiStatus(err) === 404) throw new Error(`there is no service ${service} in namespace ${namespace} (dev status lists them)`);
      throw err;
    });
    const pods = (await podsOf(kube, d)).filter((p) => !p.metadata?.deletionTimestamp && p.status?.phase === 'Running');
    const pod = pods.sort((a, b) => String(b.status?.startTime ?? '').localeCompare(String(a.status?.startTime ?? '')))[0];
    if (!pod) {
      if (!options.follow) return;
      await sleep(1000);
      if (options.signal?.aborted) return;
      continue;
    }
    const uid = pod.metadata?.uid;
    if (uid !== followedPod) since = undefined;
    const first = followedPod === undefined;
    followedPod = uid;
    const out = new PassThrough();
    let rest = '';
    out.on('data', (chunk: Buffer) => {
      since = new Date();
      const text = rest + chunk.toString('utf8');
      const lines = text.split('\n');
      rest = lines.pop() ?? '';
      for (const l of lines) onLine(l);
    });
    const ended = new Promise<void>((resolve) => out.on('end', resolve).on('close', resolve));
    const req = await log.log(namespace, pod.metadata?.name ?? '', pod.spec?.containers[0]?.name ?? '', out, {
      follow: options.follow ?? false,
      ...(since ? { sinceTime: since.toISOString() } : first ? { tailLines: options.tail ?? 100 } : {}),
    });
    // An aborted request does not end the stream it writes to: end it here.
    const abort = () => {
      req.abort();
      out.destroy();
    };
    options.signal?.addEventListener('abort', abort, { once: true });
    if (options.signal?.aborted) abort();
    await ended;
    options.signal?.removeEventListener('abort', abort);
    if (rest) onLine(rest);
    if (!options.follow || options.signal?.aborted) return;
    await sleep(500);
    if (options.signal?.aborted) return;
  }
}
