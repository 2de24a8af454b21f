/** The HTTP the smoke flow speaks: every answer is kept whole enough to explain a failure. */

export interface Answer {
  url: string;
  status: number;
  headers: Headers;
  text: string;
}

/** What a step expected and what came back instead; the flow turns it into a diagnosis with log lines. */
export class Unexpected extends Error {
  constructor(
    readonly summary: string,
    readonly expected: string,
    readonly actual: string,
    readonly hint?: string,
  ) {
    super(summary);
    this.name = 'Unexpected';
  }
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  json?: unknown;
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** One HTTP exchange; a connection failure becomes an Unexpected naming the address. */
export async function request(url: string, options: RequestOptions = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...options.headers };
  let body: string | undefined;
  if (options.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.json);
  }
  const timeout = AbortSignal.timeout(options.timeoutMs ?? 10_000);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  const method = options.method ?? 'GET';
  try {
    const res = await fetch(url, { method, headers, body, redirect: 'manual', signal });
    return { url, status: res.status, headers: res.headers, text: await res.text() };
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    const reason = e.name === 'TimeoutError' ? `no answer within ${options.timeoutMs ?? 10_000} ms` : (e.cause?.code ?? e.cause?.message ?? e.message);
    throw new Unexpected(`${method} ${url} failed: ${reason}`, `an HTTP answer from ${new URL(url).origin}`, reason);
  }
}

/** "503 Service Unavailable: {"errors":…}" — the status and the start of the body, on one or two lines. */
export function describe(answer: Answer, max = 300): string {
  const body = answer.text.replace(/\s+/g, ' ').trim();
  const excerpt = body.length > max ? `${body.slice(0, max)}…` : body;
  return `${answer.status} from ${answer.url.replace(/([?&]token=)[^&]+/, '$1…')}${excerpt ? `\n${excerpt}` : ' (empty body)'}`;
}

export function parseJson<T>(answer: Answer, what: string): T {
  try {
    return JSON.parse(answer.text) as T;
  } catch {
    throw new Unexpected(`${what}: the answer is not JSON`, `JSON (${what})`, describe(answer));
  }
}

/** Keeps cookies by name, as a browser would for one site. */
export class CookieJar {
  private readonly cookies = new Map<string, string>();

  take(answer: Answer): void {
    for (const line of answer.headers.getSetCookie()) {
      const pair = line.split(';', 1)[0]!;
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (/max-age=0\b/i.test(line) || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  has(name: string): boolean {
    return this.cookies.has(name);
  }

  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}
