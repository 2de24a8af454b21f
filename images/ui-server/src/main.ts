import { runService } from '@saas/kit';
import { buildUiServer } from './app.ts';

await runService({
  name: 'ui-server',
  config: {},
  start: async ({ log }) => buildUiServer({ log }),
});
