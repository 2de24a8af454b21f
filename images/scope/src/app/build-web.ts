/**
 * Writes the map page's bundled script, for images that ship it prebuilt (SCOPE_WEB_BUNDLE):
 *   npx tsx images/scope/src/app/build-web.ts <out.js>
 */
import { writeFile } from 'node:fs/promises';
import { buildWebAssets } from './web.ts';

const out = process.argv[2];
if (!out) {
  process.stderr.write('usage: tsx images/scope/src/app/build-web.ts <out.js>\n');
  process.exit(64);
}
const assets = await buildWebAssets();
await writeFile(out, assets['app.js']);
process.stdout.write(`wrote ${out} (${assets['app.js'].length} bytes)\n`);
