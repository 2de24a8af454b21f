/**
 * What a client gets when Node's HTTP parser refuses its request before any route sees it (malformed lines or
 * headers, oversized headers, a body too slow to arrive) and when it sends CONNECT: the house error body with a
 * sentence a person understands, instead of Fastify's `{"error","message":"Client Error"}` or a dropped socket.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { writeRawError } from './raw-answer.ts';

interface ParserError extends Error {
  code?: string;
  /** llhttp's own words, e.g. "Invalid character in Content-Length". */
  reason?: string;
}

export interface ClientErrorLimits {
  requestTimeoutMs: number;
  maxHeaderBytes: number;
}

/** The status and sentence for a request the parser refused; undefined when there is nobody left to answer. */
export function describeClientError(err: ParserError, limits: ClientErrorLimits): { status: number; message: string } | undefined {
  switch (err.code) {
    case 'ECONNRESET':
    case 'EPIPE':
      return undefined;
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { status: 408, message: `the request did not arrive in time (headers and body must arrive within ${Math.round(limits.requestTimeoutMs / 1000)} s)` };
    case 'HPE_HEADER_OVERFLOW':
      return { status: 431, message: `the request line and headers are too large (at most ${limits.maxHeaderBytes} bytes, URL included)` };
    case 'HPE_INVALID_CONTENT_LENGTH':
    case 'HPE_UNEXPECTED_CONTENT_LENGTH':
      return { status: 400, message: 'the Content-Length header must be one whole number of bytes (and not be sent beside Transfer-Encoding)' };
    case 'HPE_INVALID_TRANSFER_ENCODING':
      return { status: 400, message: 'the Transfer-Encoding header is not valid (only chunked is understood, last)' };
    case 'HPE_INVALID_METHOD':
    case 'HPE_INVALID_CONSTANT':
    case 'HPE_INVALID_VERSION':
      return { status: 400, message: 'the request line is not valid HTTP (expected e.g. "GET /path HTTP/1.1")' };
    case 'HPE_INVALID_URL':
      return { status: 400, message: 'the request target is not a valid URL path (spaces, backslashes and control characters must be percent-encoded)' };
    case 'HPE_INVALID_HEADER_TOKEN':
    case 'HPE_INVALID_CHUNK_SIZE':
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
    case 'HPE_LF_EXPECTED':
    case 'HPE_CR_EXPECTED':
      return { status: 400, message: `the request is not valid HTTP: ${lowerFirst(err.reason ?? err.message)}` };
    default:
      return { status: 400, message: `the request is not valid HTTP${err.reason ? `: ${lowerFirst(err.reason)}` : ''}` };
  }
}

const lowerFirst = (s: string) => s.charAt(0).toLowerCase() + s.slice(1);

/** A `clientError` listener for an http.Server. */
export function clientErrorListener(limits: ClientErrorLimits, log: (err: Error) => void) {
  return (err: ParserError, socket: Duplex): void => {
    const answer = describeClientError(err, limits);
    if (!answer || socket.destroyed) return void socket.destroy();
    log(err);
    writeRawError(socket, answer.status, answer.message);
  };
}

/** A `connect` listener: these services are no forward proxies. */
export function refuseConnect(_req: IncomingMessage, socket: Duplex): void {
  socket.on('error', () => socket.destroy());
  writeRawError(socket, 405, 'CONNECT is not supported here (this is no proxy)', { allow: 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS' });
}
