import type { SystemStatus } from '../../cluster/runtime.ts';

/** `dev status --json`: exactly {runtime, services, endpoints, apps}, whatever else the runtime knows. */
export function statusJson(s: SystemStatus): { runtime: SystemStatus['runtime']; services: SystemStatus['services']; endpoints: SystemStatus['endpoints']; apps: SystemStatus['apps'] } {
  return { runtime: s.runtime, services: s.services, endpoints: s.endpoints, apps: s.apps };
}

export function age(startedAt: number | undefined, now = Date.now()): string {
  if (startedAt === undefined) return '-';
  const s = Math.max(0, Math.floor((now - startedAt) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(s / 86_400)}d${Math.floor((s % 86_400) / 3600)}h`;
}

export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n');
}

/** The human view: one table of services, one of per-organisation Scope apps. */
export function formatStatus(s: SystemStatus, now = Date.now()): string {
  if (!s.up && s.services.every((x) => x.state === 'stopped')) {
    return `nothing is running (runtime ${s.runtime}). Start it: dev up${s.runtime === 'local' ? '' : ` --runtime ${s.runtime}`}`;
  }
  const ready = s.services.filter((x) => x.ready).length;
  const out = [`runtime ${s.runtime}: ${ready}/${s.services.length} services ready`, ''];
  out.push(
    table([
      ['SERVICE', 'READY', 'STATE', 'RESTARTS', 'AGE', 'URL'],
      ...s.services.map((x) => [
        x.name,
        x.ready ? 'yes' : 'no',
        x.message && !x.ready ? `${x.state} (${x.message})` : x.state,
        String(x.restarts),
        age(x.startedAt, now),
        x.urls?.http ?? Object.values(x.urls ?? {})[0] ?? '-',
      ]),
    ]),
  );
  out.push('');
  if (s.apps.length === 0) out.push('Scope apps: none yet (one starts per organisation when its first probe reports)');
  else {
    out.push('Scope apps (one per organisation):', '');
    out.push(table([['ORG', 'STATE', 'URL', 'PID/CONTAINER'], ...s.apps.map((a) => [a.org, a.state, a.url ?? '-', a.container ?? (a.pid !== undefined ? String(a.pid) : '-')])]));
  }
  if (s.endpoints) {
    out.push('', ...openLines(s.endpoints));
  }
  return out.join('\n');
}

export function openLines(e: NonNullable<SystemStatus['endpoints']>): string[] {
  return [
    'open:',
    `  frontend      ${e.frontend}`,
    `  users admin   ${e.users.replace(/\/$/, '')}/private/admin`,
    `  mail          ${e.mail}`,
  ];
}
