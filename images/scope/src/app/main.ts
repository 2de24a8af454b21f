import v8 from 'node:v8';
import { runService } from '@saas/kit/service'; // not '@saas/kit': its index loads pg
import { buildScopeApp } from './server.ts';

/**
 * The Scope app as a service: PORT/HOST from the environment, stops cleanly on SIGTERM.
 *
 * Decoding reports makes much short-lived garbage, and V8 answers it by growing the young generation to
 * 32 MB, most of the app's memory. Keeping it at its initial size costs a few more (cheap) scavenges and
 * keeps the app well inside a small container's memory (bench/scope-app-rss.ts).
 */
export async function runApp(): Promise<void> {
  if (process.env.SCOPE_APP_YOUNG_GEN !== 'default') v8.setFlagsFromString('--semi-space-growth-factor=1');
  await runService({
    name: 'scope-app',
    config: {},
    start: async ({ log }) => {
      const scope = await buildScopeApp({ logger: log });
      return { app: scope.app, setReady: scope.setReady, close: scope.close };
    },
  });
}
