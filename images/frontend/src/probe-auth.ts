/** The probe credential's form, `Authorization: Scope-Probe token=<token>`, as Weave Scope 1.13 probes send it. */
const probeAuthPattern = /^Scope-Probe\s+token=([\x21-\x2b\x2d-\x7e]{1,512})$/i;

export const PROBE_AUTH_EXPECTED = 'Scope-Probe token=<probe token>';

/** The probe token in an Authorization header, or undefined when the header is missing or not of that form. */
export function parseProbeAuthorization(header: string | undefined): string | undefined {
  if (!header) return undefined;
  return probeAuthPattern.exec(header.trim())?.[1];
}
