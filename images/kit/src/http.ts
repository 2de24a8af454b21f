import type { IncomingMessage } from 'node:http';
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyServerOptions } from 'fastify';
import type { Logger } from './log.ts';
import { clientErrorListener, refuseConnect } from './client-errors.ts';
import { badRequest, errorBody, HttpError } from './errors.ts';
import { parseJsonBody } from './json-body.ts';

export interface ReadinessCheck {
  name: string;
  /** Resolves when the dependency is usable; rejects with the reason otherwise. */
  check: () => Promise<void>;
}

export interface HttpServerOptions {
  logger: Logger;
  /** Largest accepted request body in bytes (default 1 MiB). */
  bodyLimit?: number;
  readiness?: ReadinessCheck[];
  /** How long a client may take to send its request; the defaults suit every service (tests shorten them). */
  timeouts?: Partial<RequestTimeouts>;
  /** Passed through to Fastify (e.g. trustProxy; rewriteUrl to canonicalise paths before routing). */
  fastify?: Pick<FastifyServerOptions, 'trustProxy' | 'connectionTimeout' | 'keepAliveTimeout' | 'rewriteUrl'>;
}

export interface RequestTimeouts {
  /** The whole request, headers and body: a body trickling in a byte at a time is cut off (408) after this. */
  requestMs: number;
  /** The request line and headers. */
  headersMs: number;
  /** How often Node looks for requests past those times (its default, 30 s, would add up to that much). */
  checkEveryMs: number;
}

export const defaultTimeouts: RequestTimeouts = { requestMs: 60_000, headersMs: 15_000, checkEveryMs: 2_000 };

/** Node's limit on the request line and headers together (its default). */
export const MAX_HEADER_BYTES = 16 * 1024;

export interface HttpServer {
  app: FastifyInstance;
  /** Flip readiness off, e.g. while shutting down. */
  setReady(ready: boolean): void;
}

/**
 * A Fastify server with the house rules: every error as {"errors":[{"message"}]}, 4xx for anything the
 * client got wrong, /healthz for liveness and /readyz that runs the service's readiness checks.
 */
export function createHttpServer(opts: HttpServerOptions): HttpServer {
  const timeouts = { ...defaultTimeouts, ...opts.timeouts };
  const onClientError = clientErrorListener({ requestTimeoutMs: timeouts.requestMs, maxHeaderBytes: MAX_HEADER_BYTES }, (err) =>
    opts.logger.debug({ err: err.message }, 'refused a request the HTTP parser could not read'),
  );
  const app = Fastify({
    loggerInstance: opts.logger as FastifyBaseLogger,
    bodyLimit: opts.bodyLimit ?? 1024 * 1024,
    requestTimeout: timeouts.requestMs,
    // A missing Host is refused below with a body that says so (Node's own refusal is an empty 400).
    http: { headersTimeout: timeouts.headersMs, connectionsCheckingInterval: timeouts.checkEveryMs, maxHeaderSize: MAX_HEADER_BYTES, requireHostHeader: false },
    clientErrorHandler: onClientError,
    // A URL the router cannot decode (e.g. a stray %zz) gets the house error body, not Fastify's own.
    frameworkErrors: (err: FastifyError, _request, reply: FastifyReply) => {
      reply.code(err.statusCode ?? 400).send(errorBody(err.code === 'FST_ERR_BAD_URL' ? `malformed URL: ${err.message}` : err.message));
    },
    ...opts.fastify,
  });
  let accepting = true;
  app.server.on('connect', refuseConnect);

  app.addHook('onRequest', async (request) => {
    if (request.raw.httpVersionMajor === 1 && request.raw.httpVersionMinor >= 1 && request.headers.host === undefined) {
      throw badRequest('the Host header is missing (HTTP/1.1 requires one)');
    }
  });

  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, parseJsonBody(typeof body === 'string' ? body : body.toString('utf8')));
    } catch (err) {
      done(err as Error, undefined);
    }
  });

  app.setErrorHandler((err: FastifyError | HttpError, request, reply) => {
    if (err instanceof HttpError) {
      reply.headers(err.headers);
      return reply.code(err.statusCode).send(errorBody(err.message));
    }
    const status = err.statusCode ?? 500;
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') lingerOnTooLarge(request.raw, reply);
    if (status >= 400 && status < 500) {
      return reply.code(status).send(errorBody(clientMessage(err)));
    }
    request.log.error({ err }, 'request failed');
    return reply.code(status >= 500 ? status : 500).send(errorBody('internal error'));
  });

  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send(errorBody(`no route for ${request.method} ${request.url.split('?')[0]}`));
  });

  app.get('/healthz', async () => ({ ok: true }));
  app.get('/readyz', async (_request, reply) => {
    if (!accepting) return reply.code(503).send({ ready: false, checks: [{ name: 'shutdown', ok: false, error: 'shutting down' }] });
    const checks = await Promise.all(
      (opts.readiness ?? []).map(async ({ name, check }) => {
        try {
          await check();
          return { name, ok: true as const };
        } catch (err) {
          return { name, ok: false as const, error: (err as Error).message };
        }
      }),
    );
    const ready = checks.every((c) => c.ok);
    return reply.code(ready ? 200 : 503).send({ ready, checks });
  });

  return { app, setReady: (ready) => void (accepting = ready) };
}

/**
 * Fastify answers a too-large body with `Connection: close` and closes at once, so a client still sending sees
 * a reset instead of the 413 (often, on a busy machine). Like nginx's lingering close: keep the connection,
 * let Node read and drop the rest of the body, and close it anyway if that takes longer than lingerMs.
 */
function lingerOnTooLarge(raw: IncomingMessage, reply: FastifyReply, lingerMs = 5000): void {
  reply.removeHeader('connection');
  if (raw.complete) return;
  const timer = setTimeout(() => raw.socket?.destroy(), lingerMs);
  timer.unref();
  raw.once('end', () => clearTimeout(timer));
  raw.once('close', () => clearTimeout(timer));
  raw.resume();
}

function clientMessage(err: FastifyError): string {
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return 'request body is too large';
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return 'request body is empty but Content-Type is application/json';
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return `unsupported Content-Type`;
    default:
      if (err instanceof SyntaxError) return `malformed JSON: ${err.message}`;
      return err.message;
  }
}
