/**
 * HTTP requests that send the path exactly as written (fetch would resolve `..` and `//` first), with an
 * optional body (Buffer, or a stream for chunked encoding) and a chosen local address.
 */
import http from 'node:http';
import { Readable } from 'node:stream';

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json<T = unknown>(): T;
}

export interface RawRequest {
  method?: string;
  path: string;
  headers?: http.OutgoingHttpHeaders;
  /** A Buffer is sent with Content-Length; a Readable with chunked encoding. */
  body?: Buffer | string | Readable;
  /** Client address on loopback, e.g. 127.0.0.2, to appear as another client. */
  localAddress?: string;
}

export function rawRequest(base: string, req: RawRequest): Promise<RawResponse> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    let answered = false;
    const r = http.request(
      {
        host: u.hostname,
        port: u.port,
        method: req.method ?? 'GET',
        path: req.path,
        headers: req.headers,
        localAddress: req.localAddress,
        agent: false,
      },
      (res) => {
        answered = true;
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: <T>() => JSON.parse(text) as T });
        });
      },
    );
    // The server may answer (e.g. 413) and close before the whole body is written; the answer is what counts.
    r.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE' && err.code !== 'ECONNRESET') reject(err);
    });
    r.on('close', () => {
      if (!answered) reject(new Error(`${req.method ?? 'GET'} ${req.path}: connection closed without an answer`));
    });
    if (req.body instanceof Readable) {
      req.body.on('error', reject);
      req.body.pipe(r);
    } else {
      r.end(req.body);
    }
  });
}

/** A stream of `total` bytes of a repeating pattern, sent in chunks (so without Content-Length). */
export function byteStream(total: number, chunkSize = 256 * 1024): Readable {
  let sent = 0;
  const chunk = Buffer.alloc(chunkSize, 'scope-report-');
  return new Readable({
    read() {
      if (sent >= total) return void this.push(null);
      const n = Math.min(chunkSize, total - sent);
      sent += n;
      this.push(n === chunkSize ? chunk : chunk.subarray(0, n));
    },
  });
}
