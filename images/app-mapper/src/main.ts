import { createPool, migrate, runService, waitForDatabase } from '@saas/kit';
import { buildApp } from './app.ts';
import { AppManager } from './apps.ts';
import { configSpec } from './config.ts';
import { createProvisioner } from './provisioners/index.ts';
import { migrations, Store } from './store.ts';
import { UsersClient } from './users.ts';

await runService({
  name: 'app-mapper',
  config: configSpec,
  // Stopping the apps takes up to a few seconds each (SIGTERM, then SIGKILL after 5 s), in parallel.
  shutdownTimeoutMs: 15_000,
  start: async ({ config, log }) => {
    // First, so a provisioner missing its settings fails at once rather than after the database wait.
    const provisioner = createProvisioner({
      kind: config.provisioner,
      log,
      stateDir: config.stateDir,
      appCommand: config.appCommand,
      startTimeoutMs: config.startTimeoutSeconds * 1000,
    });
    const pool = createPool(config.databaseUrl, log, 10);
    await waitForDatabase(pool, log);
    await migrate(pool, migrations, log);
    const store = new Store(pool, log, config.probeSeenWriteSeconds * 1000);
    await provisioner.init();
    const apps = new AppManager({ provisioner, store, log, idleSeconds: config.idleSeconds });
    apps.start();
    const users = new UsersClient({ baseUrl: config.usersUrl, log, cacheMs: config.lookupCacheSeconds * 1000 });
    const server = buildApp({ log, store, users, apps });
    server.app.addHook('preClose', async () => server.closeWebsockets());
    return {
      app: server.app,
      setReady: server.setReady,
      close: async () => {
        await apps.close();
        await store.flush();
        await pool.end();
      },
    };
  },
});
