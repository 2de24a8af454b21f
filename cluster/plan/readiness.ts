/**
 * The one readiness spec, read from a container's probes as Kubernetes reads them (readinessProbe,
 * startupProbe, livenessProbe; httpGet or tcpSocket, on a named or numbered container port, with the
 * Kubernetes defaults), and what it looks like in words. Every backend waits on this spec; a Kubernetes
 * backend leaves the probing to the kubelet.
 */
import type { Container, Probe } from '../manifests/types.ts';
import { resolveContainerPort } from '../manifests/validate.ts';

export interface ProbeCheck {
  type: 'http' | 'tcp';
  /** The container port probed. */
  containerPort: number;
  /** For http: the path, e.g. /readyz. */
  path?: string;
  initialDelayMs: number;
  periodMs: number;
  timeoutMs: number;
  failureThreshold: number;
}

export interface ReadinessSpec {
  readiness?: ProbeCheck;
  /** Until it passes, readiness and liveness are not probed. */
  startup?: ProbeCheck;
  liveness?: ProbeCheck;
}

export function probeCheck(p: Probe | undefined, c: Container): ProbeCheck | undefined {
  const handler = p?.httpGet ?? p?.tcpSocket;
  if (!p || !handler) return undefined;
  const containerPort = resolveContainerPort(c, handler.port) ?? (typeof handler.port === 'number' ? handler.port : undefined);
  if (containerPort === undefined) return undefined;
  return {
    type: p.httpGet ? 'http' : 'tcp',
    containerPort,
    ...(p.httpGet ? { path: p.httpGet.path } : {}),
    initialDelayMs: (p.initialDelaySeconds ?? 0) * 1000,
    periodMs: (p.periodSeconds ?? 10) * 1000,
    timeoutMs: (p.timeoutSeconds ?? 1) * 1000,
    failureThreshold: p.failureThreshold ?? 3,
  };
}

export function readinessSpec(c: Container): ReadinessSpec {
  const readiness = probeCheck(c.readinessProbe, c);
  const startup = probeCheck(c.startupProbe, c);
  const liveness = probeCheck(c.livenessProbe, c);
  return { ...(readiness ? { readiness } : {}), ...(startup ? { startup } : {}), ...(liveness ? { liveness } : {}) };
}

export function describeCheck(check: ProbeCheck): string {
  return check.type === 'http' ? `GET ${check.path ?? '/'} on port ${check.containerPort}` : `TCP port ${check.containerPort}`;
}
