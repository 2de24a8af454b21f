import net from 'node:net';

/** Whether something accepts TCP connections on host:port right now. */
export function acceptsConnections(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port }, () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export interface WireAnswer {
  /** Everything the server wrote, as text. */
  text: string;
  status: number;
  headers: Record<string, string>;
  body: string;
  /** Whether the server closed the connection (false when `waitMs` ran out first). */
  closed: boolean;
}

/**
 * Writes `request` to a fresh TCP connection exactly as given (bytes a normal client would never send) and
 * reads what comes back until the server closes or `waitMs` passes. `trickle` then writes one more byte
 * every `trickle.everyMs` (a slow body) until the answer arrives.
 */
export function sendRaw(port: number, request: string | Buffer, opts: { waitMs?: number; trickle?: { everyMs: number } } = {}): Promise<WireAnswer> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port });
    let text = '';
    let timer: NodeJS.Timeout | undefined;
    let drip: NodeJS.Timeout | undefined;
    const finish = (closed: boolean) => {
      clearTimeout(timer);
      clearInterval(drip);
      s.destroy();
      resolve(parseAnswer(text, closed));
    };
    s.on('connect', () => {
      s.write(request);
      if (opts.trickle) drip = setInterval(() => s.writable && s.write('x'), opts.trickle.everyMs);
      timer = setTimeout(() => finish(false), opts.waitMs ?? 10_000);
    });
    s.on('data', (d: Buffer) => (text += d.toString('latin1')));
    s.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' || err.code === 'EPIPE' ? finish(true) : reject(err)));
    s.on('close', () => finish(true));
  });
}

function parseAnswer(all: string, closed: boolean): WireAnswer {
  // An interim 100 Continue comes before the answer.
  const text = all.replace(/^(HTTP\/1\.[01] 100 [^\r]*\r\n(?:[^\r]+\r\n)*\r\n)+/, '');
  const end = text.indexOf('\r\n\r\n');
  const head = end < 0 ? text : text.slice(0, end);
  const [statusLine = '', ...lines] = head.split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const raw = end < 0 ? '' : text.slice(end + 4);
  const body = /chunked/i.test(headers['transfer-encoding'] ?? '') ? dechunk(raw) : raw;
  return { text: all, status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? 0), headers, body, closed };
}

function dechunk(raw: string): string {
  let out = '';
  let at = 0;
  for (;;) {
    const eol = raw.indexOf('\r\n', at);
    if (eol < 0) return out;
    const size = parseInt(raw.slice(at, eol), 16);
    if (!(size > 0)) return out;
    out += raw.slice(eol + 2, eol + 2 + size);
    at = eol + 2 + size + 2;
  }
}
