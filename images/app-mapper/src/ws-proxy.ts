/**
 * Websockets to an organisation's app go through the kit's upgrade proxy; this picks what of the client's
 * handshake the app gets (never its cookies or credentials) and answers refusals in the usual error body.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { handshakeHeaders, type HttpError, writeRawError } from '@saas/kit';

/** Headers of the client's handshake the app needs besides the handshake's own; cookies and credentials stay here. */
const forwarded = ['origin', 'user-agent', 'x-scope-probe-id', 'x-scope-probe-version'];

/** The headers an organisation's app gets for `req`'s upgrade, with `extra` (the org, the prefix) beside them. */
export function appUpgradeHeaders(req: IncomingMessage, extra: Record<string, string>): Record<string, string> {
  const headers: Record<string, string> = { ...extra, ...handshakeHeaders(req) };
  for (const name of forwarded) {
    const v = req.headers[name];
    if (typeof v === 'string') headers[name] = v;
  }
  const forwardedFor = req.socket.remoteAddress;
  if (forwardedFor) headers['x-forwarded-for'] = forwardedFor;
  return headers;
}

/** Answers an upgrade request with an HTTP error and closes the socket. */
export function refuse(socket: Duplex, err: HttpError): void {
  writeRawError(socket, err.statusCode, err.message, err.headers);
}
