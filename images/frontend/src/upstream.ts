import { Transform } from 'node:stream';
import type { IncomingMessage, IncomingHttpHeaders } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest, RawServerBase, RouteGenericInterface } from 'fastify';
import httpProxy from '@fastify/http-proxy';
import type { ClientOptions } from 'ws';
import { errorBody, HttpError } from '@saas/kit';

/** One service behind the frontend. */
export interface Upstream {
  /** Named in errors, e.g. "users unreachable". */
  name: string;
  url: string;
}

export interface RouteOptions {
  /** Path prefix, forwarded unchanged (`/api/users/x` reaches the upstream as `/api/users/x`). */
  prefix: string;
  /** Largest request body in bytes; larger → 413 before anything reaches the upstream. */
  bodyLimit: number;
  /** Pass websocket upgrades through too. */
  websocket?: boolean;
  /** Route config (e.g. a per-route rateLimit). */
  config?: RouteConfig;
  trustProxy: boolean;
  /** Methods proxied (default all); leave one out when a dedicated route serves it. */
  methods?: HttpMethod[];
}

export type HttpMethod = 'DELETE' | 'GET' | 'HEAD' | 'PATCH' | 'POST' | 'PUT' | 'OPTIONS';
const ALL_METHODS: HttpMethod[] = ['DELETE', 'GET', 'HEAD', 'PATCH', 'POST', 'PUT', 'OPTIONS'];

/** Per-route config the frontend's hooks read. */
export interface RouteConfig {
  websocket?: boolean;
  rateLimit?: { max: number; timeWindow: number };
}

/** Requests whose chunked body passed its limit, with that limit. */
const oversized = new WeakMap<object, number>();

/** A request or reply on any server flavour, as reply-from's hooks hand them over. */
type AnyRequest = FastifyRequest<RouteGenericInterface, RawServerBase>;
type AnyReply = FastifyReply<RouteGenericInterface, RawServerBase>;

export const tooLarge = (limit: number) => new HttpError(413, `request body is too large (the limit here is ${limit} bytes)`);

/**
 * Streams the body through untouched (no parsing, no buffering) while holding it to a limit: a declared
 * Content-Length over it is refused at once; a chunked body is counted and cut off when it passes it.
 */
function limitedPassThrough(limit: number) {
  return (request: FastifyRequest, payload: IncomingMessage, done: (err: Error | null, body?: unknown) => void) => {
    const declared = request.headers['content-length'];
    if (declared !== undefined) {
      if (Number(declared) > limit) return done(tooLarge(limit));
      return done(null, payload);
    }
    let seen = 0;
    const counted = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        seen += chunk.length;
        if (seen > limit) {
          oversized.set(request.raw, limit);
          callback(tooLarge(limit));
        } else {
          callback(null, chunk);
        }
      },
    });
    payload.on('error', (err) => counted.destroy(err));
    done(null, payload.pipe(counted));
  };
}

const UNREACHABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED']);
const TIMEOUT = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT', 'FST_REPLY_FROM_TIMEOUT', 'FST_REPLY_FROM_GATEWAY_TIMEOUT']);

interface CodedError extends Error {
  code?: string;
  cause?: unknown;
}

function errorCodes(error: unknown): string[] {
  const codes: string[] = [];
  for (let e = error as CodedError | undefined, depth = 0; e && depth < 5; e = e.cause as CodedError | undefined, depth++) {
    if (typeof e.code === 'string') codes.push(e.code);
  }
  return codes;
}

/** The answer for a failed upstream request: 502 (unreachable or failed) or 504 (timed out), naming the upstream. */
export function upstreamError(upstream: Upstream, error: unknown): { status: 502 | 504; body: ReturnType<typeof errorBody>; log: boolean } {
  const codes = errorCodes(error);
  if (codes.some((c) => TIMEOUT.has(c))) return { status: 504, body: errorBody(`${upstream.name} timed out`), log: false };
  // An upstream that is down is expected now and then; anything else is worth a warning.
  return { status: 502, body: errorBody(`${upstream.name} unreachable`), log: !codes.some((c) => UNREACHABLE.has(c)) };
}

/** What the client sees when the upstream could not answer: 413, 502 or 504, naming the upstream. */
export function upstreamFailure(upstream: Upstream, reply: AnyReply, error: unknown): void {
  const limit = oversized.get(reply.request.raw);
  if (limit !== undefined) {
    // No `Connection: close`: Node then reads and drops the rest of the body, so the client (still sending)
    // gets this answer instead of a reset.
    reply.code(413).send(errorBody(tooLarge(limit).message));
    return;
  }
  const failure = upstreamError(upstream, error);
  if (failure.log) reply.log.warn({ err: error, upstream: upstream.name }, 'upstream request failed');
  reply.code(failure.status).send(failure.body);
}

/** Hop-by-hop headers of the client's connection, not the upstream's (undici refuses some of them outright). */
const HOP_BY_HOP = ['upgrade', 'keep-alive', 'proxy-connection', 'http2-settings', 'te', 'trailer', 'proxy-authorization'];

function withoutHopByHop(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const out = { ...headers };
  for (const name of HOP_BY_HOP) delete out[name];
  return out;
}

/** Proxy headers an upstream may rely on; the client's own X-Forwarded-* only when a proxy before us is trusted. */
export function forwardedHeaders(request: AnyRequest | FastifyRequest, trustProxy: boolean): Record<string, string> {
  const peer = request.raw.socket.remoteAddress ?? request.ip;
  const prior = trustProxy ? request.headers['x-forwarded-for'] : undefined;
  return {
    'x-forwarded-for': prior ? `${String(prior)}, ${peer}` : peer,
    'x-forwarded-proto': request.protocol,
    'x-forwarded-host': request.host,
  };
}

const WS_HANDSHAKE = new Set([
  ...HOP_BY_HOP,
  'host',
  'connection',
  'upgrade',
  'sec-websocket-key',
  'sec-websocket-version',
  'sec-websocket-extensions',
  'sec-websocket-protocol',
  'sec-websocket-accept',
  'content-length',
  'transfer-encoding',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
]);

/** The client's end-to-end headers (cookie, authorization, X-Scope-Probe-ID, …) for the upstream handshake. */
function websocketHeaders(request: AnyRequest, trustProxy: boolean): Record<string, string> {
  const out: Record<string, string> = {};
  const headers: IncomingHttpHeaders = request.headers;
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || WS_HANDSHAKE.has(name)) continue;
    out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return { ...out, ...forwardedHeaders(request, trustProxy) };
}

/**
 * Routes `prefix` and everything under it to the upstream with the path kept, the body streamed and
 * limited, the X-Forwarded-* headers set and failures answered as 502/504 naming the upstream.
 */
export async function proxyRoute(app: FastifyInstance, upstream: Upstream, route: RouteOptions): Promise<void> {
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', limitedPassThrough(route.bodyLimit));
    const common = {
      upstream: upstream.url,
      prefix: route.prefix,
      rewritePrefix: route.prefix,
      proxyPayloads: false,
      internalRewriteLocationHeader: false,
      // A 503 with Retry-After (an app still starting) goes back to the client as it is.
      retryMethods: [],
      disableRequestLogging: true,
      httpMethods: route.methods ?? ALL_METHODS,
      config: { ...route.config, websocket: route.websocket === true } satisfies RouteConfig,
      replyOptions: {
        rewriteRequestHeaders: (request: AnyRequest, headers: IncomingHttpHeaders) => ({
          ...withoutHopByHop(headers),
          ...forwardedHeaders(request, route.trustProxy),
        }),
        onError: (reply: AnyReply, { error }: { error: unknown }) => upstreamFailure(upstream, reply, error),
      },
    };
    if (route.websocket) {
      // http-proxy's client options also take rewriteRequestHeaders (its types leave it out).
      const wsClientOptions = {
        rewriteRequestHeaders: (_headers: Record<string, string>, request: AnyRequest) => websocketHeaders(request, route.trustProxy),
      } as ClientOptions;
      await scope.register(httpProxy, { ...common, websocket: true, wsClientOptions });
    } else {
      await scope.register(httpProxy, common);
    }
  });
}
