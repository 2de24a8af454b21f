/**
 * The names and formats more than one service or runtime depends on, defined once: the session cookie, the
 * probe's credential, the shapes of probe and organisation IDs, the name of an organisation's Scope app, the
 * labels on everything a runtime makes, and the process provisioner's pid records. No imports: the engine,
 * the CLI and every image load this without pulling in a server.
 */

/** The browser session cookie users sets and app-mapper forwards (the name Weave Cloud's UI expects). */
export const SESSION_COOKIE = '_weave_scope_session';

// ---------------------------------------------------------------- the probe's credential

export const PROBE_AUTH_SCHEME = 'Scope-Probe';

/** The header value an unmodified Weave Scope 1.13 probe sends with `--service-token`. */
export function probeAuthorization(token: string): string {
  return `${PROBE_AUTH_SCHEME} token=${token}`;
}

/**
 * `Scope-Probe token=<token>`, scheme and parameter name in any case, with any whitespace after it and around the whole. The
 * token is printable ASCII without commas (a comma would start a second auth-param), at most 512 characters.
 */
const probeAuthPattern = /^Scope-Probe\s+token=([\x21-\x2b\x2d-\x7e]{1,512})$/i;

/** The probe token in an Authorization header, or undefined when the header is missing or not of that form. */
export function parseProbeAuthorization(header: string | undefined): string | undefined {
  if (!header) return undefined;
  return probeAuthPattern.exec(header.trim())?.[1];
}

/** What a 401 for a missing or malformed probe credential tells the caller to send. */
export const PROBE_AUTH_EXPECTED = `${PROBE_AUTH_SCHEME} token=<probe token>`;

// ---------------------------------------------------------------- identifiers

/** The header carrying a probe's ID (random per probe start); 1–128 printable ASCII characters. */
export const PROBE_ID_HEADER = 'X-Scope-Probe-ID';
export const probeIdPattern = /^[\x21-\x7e]{1,128}$/;

/**
 * Organisation IDs come from users and name processes, containers and Kubernetes objects, so nothing else may
 * pass. Users makes them start with a letter, so that `appName(id)` is a valid Kubernetes name.
 */
export const orgIdPattern = /^[a-z0-9]{1,40}$/;

export function isOrgId(value: unknown): value is string {
  return typeof value === 'string' && orgIdPattern.test(value);
}

export const APP_NAME_PREFIX = 'scope-app-';

/** The name of an organisation's Scope app: its container's network alias, its Deployment and Service. */
export function appName(orgID: string): string {
  return `${APP_NAME_PREFIX}${orgID}`;
}

// ---------------------------------------------------------------- labels

/** Every label we put on what a runtime makes starts with this. */
export const LABEL_PREFIX = 'scope-saas';

export const LABELS = {
  /** The project (checkout) that made it: what `dev down` removes. */
  project: `${LABEL_PREFIX}.project`,
  role: `${LABEL_PREFIX}.role`,
  deployment: `${LABEL_PREFIX}.deployment`,
  config: `${LABEL_PREFIX}.config`,
  readiness: `${LABEL_PREFIX}.readiness`,
  urls: `${LABEL_PREFIX}.urls`,
  /** The organisation an app serves. */
  org: `${LABEL_PREFIX}.org`,
  image: `${LABEL_PREFIX}.image`,
  inputs: `${LABEL_PREFIX}.inputs`,
  references: `${LABEL_PREFIX}.references`,
  base: `${LABEL_PREFIX}.base`,
} as const;

/** The role label's value on an organisation's Scope app. */
export const APP_ROLE = 'scope-app';

/**
 * The local runtime's label: set to the project's .dev folder in the environment of its daemon and every
 * process it starts (inherited by their children), so `dev down` finds them all.
 */
export const LOCAL_MARKER_ENV = 'SAAS_DEV_DIR';

// ---------------------------------------------------------------- the process provisioner's pid records

/** One running Scope app of the process provisioner, kept as `<stateDir>/<org>.json`. */
export interface AppRecord {
  pid: number;
  port: number;
  org: string;
  /** ISO timestamp. */
  startedAt: string;
}

/** Set in each app's environment so a recorded pid can be told apart from an unrelated process that reused it. */
export const APP_ORG_ENV = 'SCOPE_APP_MAPPER_ORG';

const recordFilePattern = /^([a-z0-9]{1,40})\.json$/;

export const appRecordFile = (org: string): string => `${org}.json`;

/** The organisation a record file is named for, or undefined for any other file. */
export function recordFileOrg(fileName: string): string | undefined {
  return recordFilePattern.exec(fileName)?.[1];
}

export function formatAppRecord(record: AppRecord): string {
  return `${JSON.stringify({ pid: record.pid, port: record.port, org: record.org, startedAt: record.startedAt })}\n`;
}

/** A record file's contents, or undefined when it is not a well-formed record of the org it is named for. */
export function parseAppRecord(text: string, org: string): AppRecord | undefined {
  let r: Partial<AppRecord>;
  try {
    r = JSON.parse(text) as Partial<AppRecord>;
  } catch {
    return undefined;
  }
  const valid = Number.isInteger(r.pid) && (r.pid as number) > 1 && Number.isInteger(r.port) && r.org === org && typeof r.startedAt === 'string';
  return valid ? (r as AppRecord) : undefined;
}
