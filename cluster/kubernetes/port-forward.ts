/**
 * A forward that outlives its pod: a listener on 127.0.0.1:<port> that, for each connection, finds a ready
 * pod behind the Service (its Endpoints) and forwards to it. A restart or a new pod is picked up by the next
 * connection; one stream failing closes that connection only, never the listener. (client-node's PortForward
 * targets one pod and never looks again.)
 */
import net from 'node:net';
import { PortForward } from '@kubernetes/client-node';
import type { Kube } from './client.ts';

export interface ForwardSpec {
  /** The Service, in namespace. */
  service: string;
  namespace: string;
  /** The Service port (number or name) to reach; its target port on the pod is looked up. */
  port: number | string;
  localPort: number;
}

export interface Forward {
  spec: ForwardSpec;
  close(): Promise<void>;
}

interface Target {
  pod: string;
  port: number;
}

/** A ready pod behind the Service and the pod port the Service port leads to. */
export async function resolveTarget(kube: Kube, spec: ForwardSpec): Promise<Target | undefined> {
  const svc = await kube.core.readNamespacedService({ name: spec.service, namespace: spec.namespace });
  const sp = svc.spec?.ports?.find((p) => p.port === spec.port || p.name === spec.port) ?? svc.spec?.ports?.[0];
  if (!sp) return undefined;
  const ep = await kube.core.readNamespacedEndpoints({ name: spec.service, namespace: spec.namespace });
  for (const subset of ep.subsets ?? []) {
    const port = subset.ports?.find((p) => p.name === sp.name || subset.ports?.length === 1)?.port;
    const address = subset.addresses?.find((a) => a.targetRef?.kind === 'Pod' && a.targetRef.name);
    if (port && address?.targetRef?.name) return { pod: address.targetRef.name, port };
  }
  return undefined;
}

/** The pods the Service's Endpoints list as ready. */
async function readyPods(kube: Kube, spec: ForwardSpec): Promise<Set<string>> {
  const ep = await kube.core.readNamespacedEndpoints({ name: spec.service, namespace: spec.namespace });
  return new Set((ep.subsets ?? []).flatMap((s) => s.addresses ?? []).flatMap((a) => (a.targetRef?.name ? [a.targetRef.name] : [])));
}

/** How often open connections are checked against the Service's ready pods. */
const PRUNE_MS = 1000;

export async function openForward(kube: Kube, spec: ForwardSpec, onError: (message: string) => void = () => undefined): Promise<Forward> {
  const pf = new PortForward(kube.kc, true);
  const open = new Map<net.Socket, string>();
  // A connection to a pod that left the Service (deleted, restarting, not ready) is closed, so a client's
  // keep-alive connection does not hang on it: its next connection reaches a ready pod.
  const pruner = setInterval(() => {
    if (open.size === 0) return;
    void readyPods(kube, spec).then((ready) => {
      for (const [socket, pod] of open) if (!ready.has(pod)) socket.destroy();
    }, () => undefined);
  }, PRUNE_MS);
  pruner.unref();
  const server = net.createServer((socket) => {
    socket.on('error', () => socket.destroy());
    void (async () => {
      let target: Target | undefined;
      // A pod that just restarted is back in the Endpoints within a moment: look a few times before giving up.
      for (let i = 0; i < 20 && !target && !socket.destroyed; i++) {
        target = await resolveTarget(kube, spec).catch(() => undefined);
        if (!target) await new Promise((r) => setTimeout(r, 250));
      }
      if (!target) {
        onError(`no ready pod behind service ${spec.namespace}/${spec.service}`);
        return socket.destroy();
      }
      try {
        const ws = await pf.portForward(spec.namespace, target.pod, [target.port], socket, null, socket);
        const w = typeof ws === 'function' ? ws() : ws;
        open.set(socket, target.pod);
        socket.on('close', () => {
          open.delete(socket);
          w?.close();
        });
        w?.on('close', () => socket.destroy());
        w?.on('error', () => socket.destroy());
      } catch (err) {
        onError(`forward to ${target.pod}:${target.port} failed: ${(err as Error).message}`);
        socket.destroy();
      }
    })();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(spec.localPort, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const localPort = typeof address === 'object' && address ? address.port : spec.localPort;
  return {
    spec: { ...spec, localPort },
    close: () => {
      clearInterval(pruner);
      for (const socket of open.keys()) socket.destroy();
      return new Promise((r) => server.close(() => r()));
    },
  };
}
