/**
 * Websocket proxying at the HTTP upgrade: the client's upgrade request is replayed to the org's app and, once
 * the app switches protocols, the two sockets are piped together byte for byte (frames, extensions and
 * subprotocols untouched). Refusals are plain HTTP responses with the usual error body.
 */
import http, { type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { HttpError, writeRawError } from '@saas/kit';

export interface UpgradeTarget {
  org: string;
  /** App base URL, http://host:port. */
  url: string;
  /** Path and query on the app. */
  path: string;
  /** Request headers to send beside the websocket handshake ones. */
  headers?: Record<string, string>;
}

export interface UpgradeHooks {
  opened(org: string): void;
  closed(org: string): void;
  /** The app refused the connection. Returns the error to answer with. */
  unreachable(org: string): Promise<HttpError>;
}

/** Headers of the client's handshake the app needs; cookies and credentials stay here. */
const forwarded = ['upgrade', 'connection', 'sec-websocket-key', 'sec-websocket-version', 'sec-websocket-protocol', 'sec-websocket-extensions', 'origin', 'user-agent', 'x-scope-probe-id', 'x-scope-probe-version'];

export class WebsocketProxy {
  private readonly sockets = new Set<Duplex>();

  constructor(private readonly hooks: UpgradeHooks) {}

  proxy(req: IncomingMessage, socket: Duplex, head: Buffer, target: UpgradeTarget): void {
    const headers: Record<string, string> = { ...target.headers };
    for (const name of forwarded) {
      const v = req.headers[name];
      if (typeof v === 'string') headers[name] = v;
    }
    const forwardedFor = req.socket.remoteAddress;
    if (forwardedFor) headers['x-forwarded-for'] = forwardedFor;
    const app = new URL(target.url);
    const upstream = http.request({
      host: app.hostname,
      port: app.port,
      path: target.path,
      method: 'GET',
      headers,
      agent: false,
      timeout: 10_000,
    });
    if (head.length) socket.unshift(head);
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => upstream.destroy());

    upstream.on('timeout', () => upstream.destroy(new Error('timed out waiting for the app')));
    upstream.on('error', (err: NodeJS.ErrnoException) => {
      if (socket.destroyed) return;
      if (err.code === 'ECONNREFUSED' || err.code === 'ECONNRESET') {
        void this.hooks.unreachable(target.org).then((e) => refuse(socket, e));
      } else refuse(socket, new HttpError(502, `the organisation's app failed: ${err.message}`));
    });
    upstream.on('response', (res) => {
      // The app answered without upgrading (404, 400, …): relay that answer and close.
      socket.write(statusLine(res.statusCode ?? 502, res.statusMessage) + rawHeaders(res.rawHeaders, ['connection', 'transfer-encoding']) + 'connection: close\r\n\r\n');
      res.pipe(socket);
    });
    upstream.on('upgrade', (res, appSocket, appHead) => {
      this.sockets.add(appSocket);
      appSocket.on('close', () => this.sockets.delete(appSocket));
      if (appHead.length) appSocket.unshift(appHead);
      socket.write(statusLine(101, res.statusMessage) + rawHeaders(res.rawHeaders, []) + '\r\n');
      this.hooks.opened(target.org);
      let closed = false;
      const close = () => {
        if (closed) return;
        closed = true;
        socket.destroy();
        appSocket.destroy();
        this.hooks.closed(target.org);
      };
      socket.on('close', close);
      appSocket.on('close', close);
      socket.on('error', close);
      appSocket.on('error', close);
      socket.on('end', () => appSocket.end());
      appSocket.on('end', () => socket.end());
      appSocket.pipe(socket);
      socket.pipe(appSocket);
      appSocket.setNoDelay(true);
      appSocket.setTimeout(0);
    });
    upstream.end();
  }

  /** Closes every proxied websocket (shutdown). */
  closeAll(): void {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  get open(): number {
    return this.sockets.size;
  }
}

/** Answers an upgrade request with an HTTP error and closes the socket. */
export function refuse(socket: Duplex, err: HttpError): void {
  writeRawError(socket, err.statusCode, err.message, err.headers);
}

function statusLine(code: number, message?: string): string {
  return `HTTP/1.1 ${code} ${message || http.STATUS_CODES[code] || ''}\r\n`;
}

function rawHeaders(raw: string[], skip: string[]): string {
  let out = '';
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as string;
    if (skip.includes(name.toLowerCase())) continue;
    out += `${name}: ${raw[i + 1]}\r\n`;
  }
  return out;
}
