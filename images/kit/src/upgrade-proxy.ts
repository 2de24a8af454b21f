/**
 * Protocol upgrades (websockets) proxied at the HTTP upgrade: the client's upgrade request is replayed to the
 * upstream and nothing is accepted here. If the upstream refuses (401, 404, …), the client gets that answer as it
 * is; once the upstream switches protocols, the client gets its 101 and the two sockets are piped together byte
 * for byte (frames, extensions and subprotocols untouched).
 */
import http, { type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { HttpError } from './errors.ts';
import { writeRawError } from './raw-answer.ts';

export interface UpgradeTarget {
  /** Names the upstream to the hooks (e.g. an organisation). */
  key: string;
  /** Names the upstream in errors ("app-mapper failed: …"). */
  name: string;
  /** Upstream base URL, http://host:port. */
  url: string;
  /** Path and query on the upstream. */
  path: string;
  /** Every request header to send, the handshake's included (see handshakeHeaders). */
  headers: Record<string, string>;
}

export interface UpgradeHooks {
  opened?(key: string): void;
  closed?(key: string): void;
  /** The upstream refused the connection. Returns the error to answer with. */
  unreachable?(key: string): Promise<HttpError>;
}

/** The websocket handshake's own headers, which every upstream needs. */
const HANDSHAKE = ['upgrade', 'connection', 'sec-websocket-key', 'sec-websocket-version', 'sec-websocket-protocol', 'sec-websocket-extensions'];

/** The handshake headers of `req` (one string each). */
export function handshakeHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of HANDSHAKE) {
    const v = req.headers[name];
    if (typeof v === 'string') out[name] = v;
  }
  return out;
}

export class UpgradeProxy {
  private readonly sockets = new Set<Duplex>();

  constructor(private readonly hooks: UpgradeHooks = {}) {}

  proxy(req: IncomingMessage, socket: Duplex, head: Buffer, target: UpgradeTarget): void {
    const upstreamUrl = new URL(target.url);
    const upstream = http.request({
      host: upstreamUrl.hostname,
      port: upstreamUrl.port,
      path: target.path,
      method: req.method ?? 'GET',
      headers: target.headers,
      agent: false,
      timeout: 10_000,
    });
    if (head.length) socket.unshift(head);
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => upstream.destroy());

    upstream.on('timeout', () => upstream.destroy(new Error(`timed out waiting for ${target.name}`)));
    upstream.on('error', (err: NodeJS.ErrnoException) => {
      if (socket.destroyed) return;
      if ((err.code === 'ECONNREFUSED' || err.code === 'ECONNRESET') && this.hooks.unreachable) {
        void this.hooks.unreachable(target.key).then((e) => writeRawError(socket, e.statusCode, e.message, e.headers));
      } else writeRawError(socket, 502, `${target.name} failed: ${err.message}`);
    });
    upstream.on('response', (res) => {
      // The upstream answered without upgrading (401, 404, 400, …): relay that answer and close.
      socket.write(statusLine(res.statusCode ?? 502, res.statusMessage) + rawHeaders(res.rawHeaders, ['connection', 'transfer-encoding', 'keep-alive']) + 'connection: close\r\n\r\n');
      res.pipe(socket);
    });
    upstream.on('upgrade', (res, upstreamSocket, upstreamHead) => {
      this.sockets.add(upstreamSocket);
      upstreamSocket.on('close', () => this.sockets.delete(upstreamSocket));
      if (upstreamHead.length) upstreamSocket.unshift(upstreamHead);
      socket.write(statusLine(101, res.statusMessage) + rawHeaders(res.rawHeaders, []) + '\r\n');
      this.hooks.opened?.(target.key);
      let closed = false;
      const close = () => {
        if (closed) return;
        closed = true;
        socket.destroy();
        upstreamSocket.destroy();
        this.hooks.closed?.(target.key);
      };
      socket.on('close', close);
      upstreamSocket.on('close', close);
      socket.on('error', close);
      upstreamSocket.on('error', close);
      socket.on('end', () => upstreamSocket.end());
      upstreamSocket.on('end', () => socket.end());
      upstreamSocket.pipe(socket);
      socket.pipe(upstreamSocket);
      upstreamSocket.setNoDelay(true);
      upstreamSocket.setTimeout(0);
    });
    upstream.end();
  }

  /** Closes every proxied connection (shutdown). */
  closeAll(): void {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  get open(): number {
    return this.sockets.size;
  }
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
