/**
 * Answers written straight to a socket, for the moments no request object exists yet (a request Node could not
 * parse, a CONNECT, a refused protocol upgrade): the same error body and the connection closed after it.
 */
import http from 'node:http';
import type { Duplex } from 'node:stream';
import { errorBody } from './errors.ts';

export function writeRawError(socket: Duplex, status: number, message: string, headers: Record<string, string> = {}): void {
  if (socket.destroyed) return;
  if (!socket.writable) return void socket.destroy();
  const body = JSON.stringify(errorBody(message));
  const extra = Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  socket.end(
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? ''}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${extra}connection: close\r\n\r\n${body}`,
  );
  // A client that never reads the answer must not hold the socket.
  const timer = setTimeout(() => socket.destroy(), 5000);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
}
