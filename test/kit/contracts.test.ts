/**
 * The shared contracts: the probe credential as an unmodified Weave Scope 1.13.2 probe sends it (the captured
 * headers in fixtures/), the forms users and app-mapper accepted before they shared one parser, and the pid
 * record format.
 */
import { readFile } from 'node:fs/promises';
import test from 'ava';
import {
  appName,
  formatAppRecord,
  isOrgId,
  parseAppRecord,
  parseProbeAuthorization,
  PROBE_ID_HEADER,
  probeAuthorization,
  probeIdPattern,
  recordFileOrg,
} from '@saas/kit/contracts';

const captured = JSON.parse(await readFile(new URL('../../fixtures/weave-scope-1.13.2/headers.json', import.meta.url), 'utf8')) as Record<string, string>;

test('the header a Weave Scope 1.13.2 probe sent parses to its token, and ours is written the same way', (t) => {
  t.is(parseProbeAuthorization(captured.authorization), 'capturetoken');
  t.is(probeAuthorization('capturetoken'), captured.authorization as string);
  t.true(probeIdPattern.test(captured[PROBE_ID_HEADER.toLowerCase()] as string));
});

test('the forms accepted before: any case of the scheme and parameter name, extra whitespace, printable tokens up to 512', (t) => {
  t.is(parseProbeAuthorization('scope-probe token=abc'), 'abc');
  t.is(parseProbeAuthorization('SCOPE-PROBE   TOKEN=abc'), 'abc');
  t.is(parseProbeAuthorization('Scope-Probe\ttoken=abc'), 'abc');
  t.is(parseProbeAuthorization('  Scope-Probe token=abc  '), 'abc');
  t.is(parseProbeAuthorization('Scope-Probe token=a!~#$'), 'a!~#$');
  t.is(parseProbeAuthorization(`Scope-Probe token=${'x'.repeat(512)}`), 'x'.repeat(512));
});

test('anything else is refused', (t) => {
  for (const header of [
    undefined,
    '',
    'Scope-Probe token=',
    'Scope-Probe token= abc',
    'Scope-Probe token=abc token=def',
    'Scope-Probe token=abc,token=def',
    'Scope-Probetoken=abc',
    'Bearer abc',
    'Basic YWRtaW46YWRtaW4=',
    `Scope-Probe token=${'x'.repeat(513)}`,
    'Scope-Probe token=abcé',
  ]) {
    t.is(parseProbeAuthorization(header), undefined, JSON.stringify(header));
  }
});

test('organisation IDs and the app name', (t) => {
  t.true(isOrgId('a1b2c3'));
  for (const bad of ['', 'Org', '../x', 'a-b', 'a'.repeat(41), 7]) t.false(isOrgId(bad), String(bad));
  t.is(appName('a1b2c3'), 'scope-app-a1b2c3');
});

test('pid records: written and read back; misnamed or malformed ones are not records', (t) => {
  const record = { pid: 4242, port: 40123, org: 'org1', startedAt: '2026-01-01T00:00:00.000Z' };
  const text = formatAppRecord(record);
  t.true(text.endsWith('\n'));
  t.deepEqual(parseAppRecord(text, 'org1'), record);
  t.is(parseAppRecord(text, 'org2'), undefined, 'a record names the org of its file');
  t.is(parseAppRecord('{not json', 'org1'), undefined);
  t.is(parseAppRecord(JSON.stringify({ ...record, pid: 1 }), 'org1'), undefined);
  t.is(recordFileOrg('org1.json'), 'org1');
  t.is(recordFileOrg('org1.json.123.tmp'), undefined);
  t.is(recordFileOrg('Org.json'), undefined);
});
