/**
 * A container's environment on a backend, computed once for all of them: the manifest's values with Service
 * references addressed as the backend's strategy says, then the overlays no backend decides alone —
 * FRONTEND_URL (the links in mails) is the URL the user reaches, the container that declares PROVISIONER gets
 * the backend's provisioner binding, a stand-in gets its own settings instead of the upstream image's.
 */
import type { Deployment, Manifests } from '../manifests/types.ts';
import { resolveEnv } from '../manifests/env.ts';
import { addressValue, listenHost, listenPort, mainContainer, refersToService, type Addressing } from './addressing.ts';
import type { StandIn } from './stand-ins.ts';

/** How app-mapper provisions the per-organisation Scope apps, by backend. */
export type ProvisionerKind = 'process' | 'docker' | 'kubernetes';

export interface ProvisionerBinding {
  kind: ProvisionerKind;
  /** Set on the container that declares PROVISIONER, whatever the manifest says (e.g. SCOPE_APP_IMAGE, STATE_DIR). */
  env: Record<string, string>;
}

/** Variables a browser on this machine follows: they get the URL the user reaches, not a Service name. */
export const browserFacing: readonly string[] = ['FRONTEND_URL'];

export interface EnvContext {
  addressing: Addressing;
  /** The URL the user reaches the frontend on, e.g. http://127.0.0.1:4046. */
  frontendUrl: string;
  provisioner: ProvisionerBinding;
  /** Where a stand-in keeps its data, and derived files (local: .dev/build). */
  dataDir: (deployment: string) => string;
  buildDir?: string;
}

export function planEnv(d: Deployment, m: Manifests, standIn: StandIn | undefined, ctx: EnvContext): { env: Record<string, string>; provisioner: boolean } {
  const name = d.metadata.name;
  const c = mainContainer(d);
  const ports = c.ports ?? [];
  const env: Record<string, string> = {};
  let provisioner = false;
  if (standIn) {
    // The upstream image's own variables (POSTGRES_PASSWORD, MAILDEV_*) mean nothing to the stand-in; it gets its own.
    ports.forEach((p, i) => {
      const variable = standIn.portEnv.find((x) => x.containerPort === p.containerPort)?.env ?? standIn.portEnv[i]?.env;
      if (variable) env[variable] = String(listenPort(ctx.addressing, name, p.containerPort));
    });
    Object.assign(env, standIn.env({ dataDir: ctx.dataDir(name), ...(ctx.buildDir ? { buildDir: ctx.buildDir } : {}) }));
  } else {
    const claimed = new Set<number>();
    for (const e of resolveEnv(c, m, d.metadata.namespace)) {
      if (e.name === 'PROVISIONER') {
        provisioner = true;
        continue;
      }
      if (browserFacing.includes(e.name) && refersToService(e.value, m)) {
        env[e.name] = ctx.frontendUrl;
        continue;
      }
      const port = /PORT$/.test(e.name) ? ports.find((x) => String(x.containerPort) === e.value) : undefined;
      if (port) {
        env[e.name] = String(listenPort(ctx.addressing, name, port.containerPort));
        claimed.add(port.containerPort);
        continue;
      }
      env[e.name] = addressValue(e.value, m, ctx.addressing);
    }
    if (provisioner) Object.assign(env, { PROVISIONER: ctx.provisioner.kind, ...ctx.provisioner.env });
    const first = ports[0];
    if (first && !claimed.has(first.containerPort) && env.PORT === undefined) env.PORT = String(listenPort(ctx.addressing, name, first.containerPort));
  }
  env.HOST = listenHost(ctx.addressing);
  return { env, provisioner };
}
