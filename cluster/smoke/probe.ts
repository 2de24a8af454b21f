/** The Scope probe the smoke flow runs in this process: the one place the engine reaches for it. */
import type { ProbeEvent, ProbeOptions } from '@saas/scope/probe';

export type { ProbeEvent, ProbeOptions };

/** A running probe, as the Scope probe's startProbe returns it (the part the flow uses). */
export interface ProbeHandle {
  stop(): void | Promise<void>;
}

export type ProbeStarter = (options: ProbeOptions) => ProbeHandle | Promise<ProbeHandle>;

let probeModule: Promise<typeof import('@saas/scope/probe')> | undefined;

/** Starts loading the probe (it pulls in the Docker client and the report encoder) ahead of its step. */
export function preloadProbe(): void {
  void loadProbeModule().catch(() => {}); // a failure shows in the probe step
}

function loadProbeModule() {
  probeModule ??= import('@saas/scope/probe');
  return probeModule;
}

export const startScopeProbe: ProbeStarter = async (options) => (await loadProbeModule()).startProbe(options);

/** The probe's last event, for a diagnosis. */
export function describeProbeEvent(e: ProbeEvent | undefined): string {
  if (!e) return 'none';
  switch (e.type) {
    case 'handshake-failed':
    case 'publish-failed':
      return `${e.type} (${e.reason}${e.status ? ` ${e.status}` : ''}): ${e.message}`;
    case 'stopped':
      return `stopped${e.error ? `: ${e.error}` : ''}`;
    default:
      return e.type;
  }
}
