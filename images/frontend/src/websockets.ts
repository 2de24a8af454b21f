/**
 * Websockets through the frontend: the upgrade request is replayed to the upstream that serves the path, and the
 * client gets that upstream's answer, so a refused websocket is the upstream's 401 or 404, never a 101 followed
 * by a close. Nothing is accepted here; only paths under a websocket prefix go anywhere.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { handshakeHeaders, UpgradeProxy, writeRawError } from '@saas/kit';
import { endToEnd } from './hop-by-hop.ts';
import { canonicalUrl, isPrivatePath } from './paths.ts';
import { forwardedHeaders, type Upstream } from './upstream.ts';

export interface WebsocketRoute {
  prefix: string;
  upstream: Upstream;
}

/** Set here, or the handshake's own (sent as the client sent them). */
const NOT_PASSED = ['host', 'expect', 'content-length', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host'];

const underPrefix = (path: string, prefix: string) => path === prefix || path.startsWith(`${prefix}/`);

/** Takes the server's protocol upgrades; returns the proxy (close its sockets at shutdown). */
export function websocketUpgrades(server: Server, routes: WebsocketRoute[], trustProxy: boolean): UpgradeProxy {
  const proxy = new UpgradeProxy();
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    const url = canonicalUrl(req.url ?? '/');
    const path = url.split('?', 1)[0] as string;
    if (isPrivatePath(req.url ?? '/') || isPrivatePath(url)) return writeRawError(socket, 404, `no route for ${req.method} ${path}`);
    const protocol = req.headers.upgrade ?? '';
    if (protocol.toLowerCase() !== 'websocket') return writeRawError(socket, 400, `${path} does not take a protocol upgrade (Upgrade: ${protocol})`);
    if (req.method !== 'GET') return writeRawError(socket, 405, 'websocket upgrades must use GET', { allow: 'GET' });
    const route = routes.find((r) => underPrefix(path, r.prefix));
    if (!route) return writeRawError(socket, 404, `no websocket at ${path}`);
    proxy.proxy(req, socket, head, {
      key: route.upstream.name,
      name: route.upstream.name,
      url: route.upstream.url,
      path: url,
      headers: { ...stringHeaders(endToEnd(req.headers, NOT_PASSED)), ...handshakeHeaders(req), ...forwardedHeaders(req, trustProxy) },
    });
  });
  return proxy;
}

function stringHeaders(headers: Record<string, string | string[]>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) out[name] = Array.isArray(value) ? value.join(', ') : value;
  return out;
}
