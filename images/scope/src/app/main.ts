import { runService } from '../../../kit/src/service.ts'; // not '@saas/kit': its index loads pg
import { buildScopeApp } from './server.ts';

/** The Scope app as a service: PORT/HOST from the environment, stops cleanly on SIGTERM. */
export async function runApp(): Promise<void> {
  await runService({
    name: 'scope-app',
    config: {},
    start: async ({ log }) => {
      const scope = await buildScopeApp({ logger: log });
      return { app: scope.app, setReady: scope.setReady, close: scope.close };
    },
  });
}
