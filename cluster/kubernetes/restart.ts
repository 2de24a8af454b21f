/** Restarts a service by deleting its pods; resolves when a new pod is Ready. */
import type { Kube } from './client.ts';
import { podsOf } from './pods.ts';
import { waitDeployment } from './wait.ts';

export async function restartService(kube: Kube, namespace: string, service: string, timeoutMs = 120_000): Promise<void> {
  const d = await kube.apps.readNamespacedDeployment({ name: service, namespace });
  const old = new Set((await podsOf(kube, d)).map((p) => p.metadata?.uid));
  for (const uid of old) {
    const p = (await podsOf(kube, d)).find((x) => x.metadata?.uid === uid);
    if (p?.metadata?.name) await kube.core.deleteNamespacedPod({ name: p.metadata.name, namespace }).catch(() => undefined);
  }
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await waitDeployment(kube, service, namespace, { deadline, progress: () => undefined });
    const now = await podsOf(kube, d);
    if (now.every((p) => !old.has(p.metadata?.uid))) return;
    await new Promise((r) => setTimeout(r, 300));
  }
}
