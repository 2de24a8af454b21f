import { runService } from '@saas/kit';
import { frontendConfig } from './config.ts';
import { buildFrontend } from './app.ts';

await runService({
  name: 'frontend',
  config: frontendConfig,
  start: async ({ config, log }) => buildFrontend({ log, ...config }),
});
