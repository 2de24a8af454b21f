import { readFileSync } from 'node:fs';
import Fastify from 'fastify';
import proxy from '@fastify/http-proxy';
import { createLogger } from '@saas/kit';
import { buildScopeApp, type ScopeApp, type ScopeAppOptions } from '../../images/scope/src/app/server.ts';

export const weaveFixture = (f: string) => readFileSync(new URL(`../../fixtures/weave-scope-1.13.2/${f}`, import.meta.url));
export const reportFixture = (f: string) => readFileSync(new URL(`../../fixtures/reports/${f}`, import.meta.url));

export interface RunningApp extends ScopeApp {
  url: string;
  stop(): Promise<void>;
}

/** The Scope app in-process on a loopback port. */
export async function startApp(opts: Partial<ScopeAppOptions> = {}): Promise<RunningApp> {
  const scope = await buildScopeApp({ logger: createLogger('scope-app', 'silent'), ...opts });
  await scope.app.listen({ port: 0, host: '127.0.0.1' });
  const address = scope.app.server.address();
  if (!address || typeof address === 'string') throw new Error('no address');
  return {
    ...scope,
    url: `http://127.0.0.1:${address.port}`,
    stop: async () => {
      await scope.close();
      await scope.app.close();
    },
  };
}

/** POSTs a report body as a probe would. */
export async function postReport(url: string, body: Buffer, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${url}/api/report`, {
    method: 'POST',
    body: Uint8Array.from(body),
    headers: { 'X-Scope-Probe-ID': 'test-probe', ...headers },
  });
}

/** The app behind a proxy that strips an /api/app/acme prefix, as app-mapper does (websockets too); its URL and a stop. */
export async function behindPrefix(upstream: string): Promise<{ url: string; stop: () => Promise<void> }> {
  const front = Fastify();
  await front.register(proxy, { upstream, prefix: '/api/app/acme', rewritePrefix: '', websocket: true });
  await front.listen({ port: 0, host: '127.0.0.1' });
  const address = front.server.address();
  if (!address || typeof address === 'string') throw new Error('no address');
  return { url: `http://127.0.0.1:${address.port}`, stop: () => front.close() };
}
