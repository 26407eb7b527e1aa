// The one rendering of an ApiError as an HTTP answer: its metav1 Status as the body, with the headers
// k8s.io/apiserver's responsewriters.ErrorNegotiated sets, whether it leaves through Fastify's reply, a response
// taken over from Fastify, or a bare socket (an upgrade, a request Node's parser refused).
import { STATUS_CODES, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyReply } from 'fastify';
import type { ApiError } from '../api/meta/errors.js';
import { sendJson } from './send.js';

/** Retry-After from details.retryAfterSeconds, as ErrorNegotiated copies it. */
function retryAfter(error: ApiError): OutgoingHttpHeaders {
  const seconds = error.status.details?.retryAfterSeconds;
  return seconds ? { 'Retry-After': String(seconds) } : {};
}

/** Through Fastify: headers set on `reply` before (Audit-Id, Connection) go out too. */
export function sendStatus(reply: FastifyReply, error: ApiError): FastifyReply {
  reply.headers(retryAfter(error));
  return sendJson(reply, JSON.stringify(error.status), 'application/json', error.code);
}

/** On a response Fastify no longer writes (hijacked), with the caller's own headers added. */
export function writeStatus(res: ServerResponse, error: ApiError, headers: OutgoingHttpHeaders = {}): void {
  const body = JSON.stringify(error.status);
  res.writeHead(error.code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), ...retryAfter(error), ...headers });
  res.end(body);
}

/** As a whole HTTP/1.1 response on a socket no HTTP response object owns; the connection is closed after it. */
export function endWithStatus(socket: Duplex, error: ApiError): void {
  const body = JSON.stringify(error.status);
  const headers = { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), ...retryAfter(error), Connection: 'close' };
  const head = Object.entries(headers).map(([name, value]) => `${name}: ${String(value)}\r\n`).join('');
  socket.end(`HTTP/1.1 ${error.code} ${STATUS_CODES[error.code] ?? ''}\r\n${head}\r\n${body}`);
}
