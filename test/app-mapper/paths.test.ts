import test from 'ava';
import { HttpError } from '@saas/kit';
import { parseAppPath } from '../../images/app-mapper/src/paths.ts';
import { sessionFrom } from '../../images/app-mapper/src/users.ts';
import { parseCommand } from '../../images/app-mapper/src/provisioners/process.ts';

test('a path under an organisation keeps its rest and query, untouched', (t) => {
  t.deepEqual(parseAppPath('/api/app/happy-cat-7/api/topology/hosts?x=%20y&z'), {
    kind: 'proxy',
    orgName: 'happy-cat-7',
    prefix: '/api/app/happy-cat-7',
    upstreamPath: '/api/topology/hosts?x=%20y&z',
  });
  t.deepEqual(parseAppPath('/api/app/org/'), { kind: 'proxy', orgName: 'org', prefix: '/api/app/org', upstreamPath: '/' });
  // A literal % (encoded once as %25) is text, not an escape trick.
  t.is((parseAppPath('/api/app/org/api/search/50%25') as { upstreamPath: string }).upstreamPath, '/api/search/50%25');
  // Dots inside names are fine; only whole dot segments are refused.
  t.is((parseAppPath('/api/app/org/assets/app.v1.js') as { upstreamPath: string }).upstreamPath, '/assets/app.v1.js');
  t.is((parseAppPath('/api/app/org/...') as { upstreamPath: string }).upstreamPath, '/...');
});

test('the organisation without a trailing slash redirects to the slashed path', (t) => {
  t.deepEqual(parseAppPath('/api/app/org?a=1'), { kind: 'redirect', orgName: 'org', location: '/api/app/org/?a=1' });
});

const refused = (t: import('ava').ExecutionContext, url: string, message: RegExp) => {
  const err = t.throws(() => parseAppPath(url), { instanceOf: HttpError }, url);
  t.is(err?.statusCode, 400, url);
  t.regex(err?.message ?? '', message, url);
};

test('organisation names are plain lowercase letters, digits and dashes, never escapes', (t) => {
  for (const url of ['/api/app/Org/', '/api/app/a%2Fb/', '/api/app/a%252Fb/', '/api/app/a.b/', '/api/app/%61/', '/api/app//x/', '/api/app/a_b/', '/api/app/a%00/', `/api/app/${'a'.repeat(101)}/`]) {
    refused(t, url, /organisation name/);
  }
});

test('dot segments, encoded slashes and backslashes are refused in every encoding', (t) => {
  refused(t, '/api/app/a/../b/', /dot segments/);
  refused(t, '/api/app/a/./x', /dot segments/);
  refused(t, '/api/app/a/%2e%2e/b', /dot segments/);
  refused(t, '/api/app/a/%2E./b', /dot segments/);
  refused(t, '/api/app/a/%252e%252e/b', /dot segments/);
  refused(t, '/api/app/a/%25252e%25252e/b', /dot segments/);
  refused(t, '/api/app/a/x/..', /dot segments/);
  refused(t, '/api/app/a/..%2Fb/', /encoded slashes/);
  refused(t, '/api/app/a/..%252Fb/', /encoded slashes/);
  refused(t, '/api/app/a/x%5C..%5Cb', /encoded slashes/);
  refused(t, '/api/app/a/..\\b', /backslashes/);
  refused(t, '/api/app/a/%zz', /percent-encoding/);
  refused(t, '/api/app/a/x%00y', /NUL/);
});

test('only the session cookie is taken from a Cookie header', (t) => {
  t.is(sessionFrom('a=1; _weave_scope_session=abc.def; b=2'), 'abc.def');
  t.is(sessionFrom('_weave_scope_session='), undefined);
  t.is(sessionFrom('x_weave_scope_session=abc'), undefined);
  t.is(sessionFrom(undefined), undefined);
});

test('SCOPE_APP_COMMAND splits into words, quotes grouping', (t) => {
  t.deepEqual(parseCommand('node --import tsx images/scope/src/main.ts'), ['node', '--import', 'tsx', 'images/scope/src/main.ts']);
  t.deepEqual(parseCommand(`"/opt/my node/node" '/a b/app.ts' --flag`), ['/opt/my node/node', '/a b/app.ts', '--flag']);
  t.throws(() => parseCommand('   '), { message: /empty/ });
});
