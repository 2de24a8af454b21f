/**
 * A real loopback HTTP + websocket server standing in for an upstream a proxy should reach: it records
 * every request and answers with what it saw (method, url, headers, body size and hash), so a test can
 * tell which upstream got a request and exactly how.
 */
import http from 'node:http';
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

export interface SeenRequest {
  upstream: string;
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  bodyBytes: number;
  bodySha256: string;
  websocket: boolean;
}

export interface EchoServer {
  name: string;
  url: string;
  port: number;
  /** Every request (and websocket handshake) received, oldest first. */
  seen: SeenRequest[];
  close(): Promise<void>;
}

/**
 * Request headers steer the answer: `x-echo-status: 503` answers with that status (and Retry-After: 7),
 * `x-echo-set-cookie: a=b` sets that cookie. A websocket first sends its handshake as JSON, then
 * echoes every message back prefixed with the server's name.
 */
export async function startEchoServer(name: string): Promise<EchoServer> {
  const seen: SeenRequest[] = [];
  const server = http.createServer((req, res) => {
    const hash = createHash('sha256');
    let bytes = 0;
    req.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      hash.update(chunk);
    });
    req.on('end', () => {
      const entry: SeenRequest = {
        upstream: name,
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        bodyBytes: bytes,
        bodySha256: hash.digest('hex'),
        websocket: false,
      };
      seen.push(entry);
      const status = Number(req.headers['x-echo-status'] ?? 200);
      const headers: http.OutgoingHttpHeaders = { 'content-type': 'application/json' };
      if (status === 503) headers['retry-after'] = '7';
      if (req.headers['x-echo-set-cookie']) headers['set-cookie'] = String(req.headers['x-echo-set-cookie']);
      res.writeHead(status, headers).end(JSON.stringify(entry));
    });
  });
  const wss = new WebSocketServer({ server });
  wss.on('connection', (socket: WebSocket, req: http.IncomingMessage) => {
    const entry: SeenRequest = {
      upstream: name,
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      bodyBytes: 0,
      bodySha256: '',
      websocket: true,
    };
    seen.push(entry);
    socket.send(JSON.stringify(entry));
    socket.on('message', (data, isBinary) => socket.send(isBinary ? data : `${name}: ${data.toString()}`, { binary: isBinary }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    name,
    port,
    url: `http://127.0.0.1:${port}`,
    seen,
    close: async () => {
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
