import type { AddressInfo } from 'node:net';
import { createLogger } from '@saas/kit';
import { freePort } from '@saas/kit/testing';
import { buildFrontend, type FrontendOptions } from '../../images/frontend/src/app.ts';

export interface RunningFrontend {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** The frontend in-process on a loopback port; upstreams not given point at a closed port. */
export async function startFrontend(overrides: Partial<FrontendOptions>): Promise<RunningFrontend> {
  const closed = `http://127.0.0.1:${await freePort()}`;
  const { app } = await buildFrontend({
    log: createLogger('frontend', process.env.TEST_LOG_LEVEL ?? 'silent'),
    usersUrl: closed,
    appMapperUrl: closed,
    uiServerUrl: closed,
    loginRateLimitPerMinute: 20,
    ...overrides,
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, port, close: () => app.close() };
}
