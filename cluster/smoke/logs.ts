import type { Runtime } from '../runtime.ts';

/** The last n lines of a service's log that matter: readiness and liveness checks are left out. */
export async function tailLog(runtime: Runtime, service: string, n: number): Promise<string[]> {
  const lines: string[] = [];
  await runtime.logs(service, (l) => lines.push(l), { tail: Math.max(n * 20, 400), signal: AbortSignal.timeout(5_000) });
  return withoutHealthChecks(lines).slice(-n);
}

/** Drops the request lines of /healthz and /readyz (pino pairs them by reqId), which drown everything else. */
export function withoutHealthChecks(lines: string[]): string[] {
  const probes = new Set<string>();
  return lines.filter((line) => {
    if (!line.startsWith('{')) return true;
    try {
      const o = JSON.parse(line) as { reqId?: string; req?: { url?: string }; url?: string };
      const url = o.req?.url ?? o.url;
      if (url !== undefined && /^\/(healthz|readyz|livez)\b/.test(url)) {
        if (o.reqId) probes.add(o.reqId);
        return false;
      }
      return !(o.reqId && probes.has(o.reqId));
    } catch {
      return true;
    }
  });
}
