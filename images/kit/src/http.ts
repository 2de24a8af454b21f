import type { IncomingMessage } from 'node:http';
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyServerOptions } from 'fastify';
import type { Logger } from './log.ts';
import { errorBody, HttpError } from './errors.ts';

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
  /** Passed through to Fastify (e.g. trustProxy; rewriteUrl to canonicalise paths before routing). */
  fastify?: Pick<FastifyServerOptions, 'trustProxy' | 'connectionTimeout' | 'keepAliveTimeout' | 'requestTimeout' | 'rewriteUrl'>;
}

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
  const app = Fastify({
    loggerInstance: opts.logger as FastifyBaseLogger,
    bodyLimit: opts.bodyLimit ?? 1024 * 1024,
    // A URL the router cannot decode (e.g. a stray %zz) gets the house error body, not Fastify's own.
    frameworkErrors: (err: FastifyError, _request, reply: FastifyReply) => {
      reply.code(err.statusCode ?? 400).send(errorBody(err.code === 'FST_ERR_BAD_URL' ? `malformed URL: ${err.message}` : err.message));
    },
    ...opts.fastify,
  });
  let accepting = true;

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
