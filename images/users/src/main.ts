import { runService } from '@saas/kit';
import { createUsersService } from './app.ts';
import { configSpec } from './config.ts';

await runService({
  name: 'users',
  config: configSpec,
  start: ({ config, log }) => createUsersService({ config, log }),
});
