import path from 'node:path';
import { int, url, type VariableSpec } from '@saas/kit';
import { parseCommand, repoRoot } from './provisioners/process.ts';
import { provisionerKinds, type ProvisionerKind } from './provisioners/types.ts';


const provisioner: VariableSpec<ProvisionerKind> = {
  env: 'PROVISIONER',
  doc: 'how each organisation gets its Scope app',
  default: 'process',
  parse: (raw) => {
    const v = raw.trim();
    if (!(provisionerKinds as readonly string[]).includes(v)) throw new Error(`must be one of ${provisionerKinds.join(', ')}`);
    return v as ProvisionerKind;
  },
};

export const defaultStateDir = path.join(repoRoot, '.dev/state/apps');

export const configSpec = {
  databaseUrl: url('DATABASE_URL', ['postgres', 'postgresql'], { doc: 'Postgres for org → app and probes seen', secret: true }),
  usersUrl: url('USERS_URL', ['http', 'https'], { doc: 'the users service (private lookups)' }),
  provisioner,
  idleSeconds: int('APP_IDLE_SECONDS', { default: 1800, min: 1, doc: 'stop an app unused this long' }),
  stateDir: {
    env: 'STATE_DIR',
    doc: 'where the process provisioner keeps its pid files',
    default: defaultStateDir,
    parse: (raw: string) => path.resolve(raw),
  } satisfies VariableSpec<string>,
  appCommand: {
    env: 'SCOPE_APP_COMMAND',
    doc: 'command line of a Scope app (default: node --import tsx images/scope/src/main.ts)',
    default: undefined,
    parse: parseCommand,
  } satisfies VariableSpec<string[] | undefined>,
  startTimeoutSeconds: int('APP_START_TIMEOUT_SECONDS', { default: 60, min: 1, doc: 'how long an app may take to become ready' }),
  lookupCacheSeconds: int('LOOKUP_CACHE_SECONDS', { default: 5, min: 0, max: 300, doc: 'how long a probe token lookup is reused (session cookies are never cached)' }),
  probeSeenWriteSeconds: int('PROBE_SEEN_WRITE_SECONDS', { default: 5, min: 0, max: 3600, doc: 'at most one last-seen write per probe this often' }),
};
