/**
 * The ports policy, the same on every backend: the frontend's Service gets the port the user asked for
 * (`--port`, else DEV_FRONTEND_PORT: exactly that one, or a failure naming who holds it), else the one
 * remembered from the last run, else 4046 when free, else a free one with a notice. A backend that runs
 * processes on this machine also gets a remembered loopback port for every other container port; one that
 * runs containers or pods only needs the frontend's (published, or port-forwarded).
 */
import type { Manifests } from '../manifests/types.ts';
import { resolveContainerPort, selectedDeployment } from '../manifests/validate.ts';
import type { PortRequest } from '../host/ports.ts';
import { mainContainer, portKey } from './addressing.ts';

/** Which host ports a backend needs: one per container port, or only the frontend's. */
export type PortsNeeded = 'every' | 'frontend';

/** The Service the user's browser reaches, on a fixed, memorable port. */
export const frontendPolicy = { service: 'frontend', port: 4046, env: 'DEV_FRONTEND_PORT' } as const;

export interface PortPolicyOptions {
  /** Asked for on the command line: exactly this port. */
  frontendPort?: number;
  env?: NodeJS.ProcessEnv;
  needed?: PortsNeeded;
}

/** The frontend Service's first port, as the Deployment and container port it reaches. */
export function frontendTarget(m: Manifests): { deployment: string; containerPort: number; key: string } | undefined {
  const s = m.services.find((x) => x.metadata.name === frontendPolicy.service);
  const d = s && selectedDeployment(s, m.deployments);
  const sp = s?.spec.ports[0];
  if (!s || !d || !sp) return undefined;
  const containerPort = resolveContainerPort(mainContainer(d), sp.targetPort ?? sp.port);
  return containerPort === undefined ? undefined : { deployment: d.metadata.name, containerPort, key: portKey(d.metadata.name, containerPort) };
}

/** The port requests for the manifests, the frontend's first. */
export function portRequests(m: Manifests, opts: PortPolicyOptions = {}): PortRequest[] {
  const env = opts.env ?? process.env;
  const requests: PortRequest[] = [];
  const frontend = frontendTarget(m);
  if (frontend) {
    const raw = env[frontendPolicy.env];
    const fromEnv = raw && /^\d+$/.test(raw) ? Number(raw) : undefined;
    const required = opts.frontendPort ?? fromEnv;
    requests.push({
      key: frontend.key,
      label: `Service ${frontendPolicy.service}`,
      ...(required !== undefined ? { required } : { preferred: frontendPolicy.port }),
      howToChange: `set ${frontendPolicy.env}=<port> to choose another`,
    });
  }
  if (opts.needed === 'frontend') return requests;
  for (const d of m.deployments) {
    for (const c of d.spec.template.spec.containers) {
      for (const cp of c.ports ?? []) {
        const key = portKey(d.metadata.name, cp.containerPort);
        if (!requests.some((r) => r.key === key)) requests.push({ key, label: `Deployment ${d.metadata.name} port ${cp.name ?? cp.containerPort}` });
      }
    }
  }
  return requests;
}

/** The URL the user reaches the frontend on, from the allocated ports. */
export function frontendUrl(m: Manifests, ports: ReadonlyMap<string, number>): string | undefined {
  const t = frontendTarget(m);
  const port = t && ports.get(t.key);
  return port === undefined ? undefined : `http://127.0.0.1:${port}`;
}
