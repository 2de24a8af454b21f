import test from 'ava';
import { dev } from '../cli/helpers/dev.ts';
import { daemon } from './helpers.ts';

test('dev build <image> builds it with the real daemon, and a second run finds it unchanged', async (t) => {
  const docker = await daemon();
  const first = await dev(['build', 'ui-server']);
  t.is(first.code, 0, first.stderr + first.stdout);
  const tag = /scope-saas\/ui-server:[0-9a-f]{16}/.exec(first.stdout)?.[0];
  t.truthy(tag, first.stdout);
  t.truthy(await docker.getImage(tag!).inspect());
  const second = await dev(['build', 'ui-server']);
  t.is(second.code, 0, second.stderr);
  t.regex(second.stdout, /1 images, 0 built/);
  t.regex(second.stdout, /ui-server .* unchanged/);
});
