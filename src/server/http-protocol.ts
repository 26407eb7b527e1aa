// Where HTTP/2 and HTTP/1.1 differ for code that touches raw requests and responses. The server offers both by ALPN
// (h2 first, as kube-apiserver does): Fastify then hands handlers node:http2's compatibility objects for HTTP/2
// streams, which mirror IncomingMessage and ServerResponse except for what a connection of their own would give
// them. Everything that depends on the connection goes through here.
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { constants, Http2ServerRequest, Http2ServerResponse, type Http2SecureServer, type Http2Session, type ServerHttp2Session } from 'node:http2';
import type { TLSSocket } from 'node:tls';

export type RawRequest = IncomingMessage | Http2ServerRequest;
export type RawResponse = ServerResponse | Http2ServerResponse;

/**
 * The HTTP/2 settings the server announces. kube-apiserver's (k8s.io/apiserver's secure serving): 100 streams per
 * connection, so one connection's streams multiply what `--max-connections` bounds by no more than kube allows
 * (Node's default is unlimited); 256 KiB of upload window per stream, enough for most objects in one flight and at
 * most 25 MiB per connection. Headers: 64 KiB, not HTTP/1.1's 1 MiB. nghttp2, under Node's HTTP/2, refuses any one
 * header field over 64 KiB as a compression error of the whole connection, which would end every stream
 * kube-apiserver multiplexes on it (other tenants' watches) for one tenant's long selector. Announced, the limit
 * makes Go's transport refuse such a request before sending it (kube-apiserver answers that request alone with a
 * 503), and Node resets just the stream of a client that sends more anyway.
 */
export const http2Settings = { maxConcurrentStreams: 100, initialWindowSize: 256 * 1024, maxHeaderListSize: 64 * 1024 };

/** The TLS connection a request came on: one object per connection for either protocol. */
export function connectionOf(request: RawRequest): TLSSocket {
  // An HTTP/2 stream's `socket` is a new proxy per stream: keyed on it, per-connection caches (the client
  // certificate's verdict) would be per request.
  if (request instanceof Http2ServerRequest) return (request.stream.session?.socket ?? request.socket) as TLSSocket;
  return request.socket as TLSSocket;
}

/** `headers`, plus those that exist in HTTP/1.1 only: HTTP/2 refuses connection-specific fields (RFC 9113 §8.2.2). */
export function withHttp1Headers(request: RawRequest, headers: OutgoingHttpHeaders, http1: OutgoingHttpHeaders): OutgoingHttpHeaders {
  return request instanceof Http2ServerRequest ? headers : { ...headers, ...http1 };
}

/**
 * An answer sent while the request's body is still unread: the client must stop sending it. HTTP/1.1 closes the
 * connection; HTTP/2 resets only this stream with NO_ERROR once the answer is out (RFC 9113 §8.1), and the
 * connection's other streams go on.
 */
export function abandonBody(request: RawRequest, response: RawResponse): void {
  if (!(request instanceof Http2ServerRequest)) {
    response.setHeader('Connection', 'close');
    return;
  }
  // The stream's own end of writing: the compatibility response reports 'finish' only once the stream has closed.
  const stream = request.stream;
  stream.once('finish', () => {
    if (!stream.destroyed && !request.complete) stream.close(constants.NGHTTP2_NO_ERROR);
  });
}

/**
 * The client should send its next requests on a new connection (the shutdown): HTTP/1.1's `Connection: close`, or
 * under HTTP/2 a graceful GOAWAY, which is what Go's server turns that header into: the streams open finish, new
 * ones go to a new connection (through the Service, to a replica that stays).
 */
export function closeConnection(response: RawResponse): void {
  const session = response instanceof Http2ServerResponse ? response.stream.session : undefined;
  if (session) announceGoAway(session);
  else response.setHeader('Connection', 'close');
}

/** When each session was sent its first GOAWAY. */
const announced = new WeakMap<Http2Session, number>();
/** Sessions on their way to the closing GOAWAY, and when it has been sent. */
const closing = new WeakMap<Http2Session, Promise<void>>();
/** Time a client gets after the first GOAWAY for the streams it had already started to arrive. */
const announceToCloseMs = 1_000;
/** A client that does not answer the PING is closed on after this. */
const pingTimeoutMs = 10_000;

/**
 * RFC 9113 §6.8's graceful shutdown, first step: a GOAWAY naming the highest possible stream. The client sends new
 * requests elsewhere, and every stream it sends meanwhile is still served. During the shutdown delay nothing more is
 * done: the server still serves, so streams a client had already started (Go's transport may write a request it
 * assigned to the connection after it read the GOAWAY) arrive and are answered.
 */
function announceGoAway(session: Http2Session): void {
  if (session.closed || session.destroyed || announced.has(session)) return;
  announced.set(session, Date.now());
  session.goaway(constants.NGHTTP2_NO_ERROR, 2 ** 31 - 1);
}

/**
 * The second step, once the session may close: the GOAWAY naming the last stream received, sent no sooner than a
 * second after the first and after the client answered a PING sent after it. Sooner, it would refuse streams
 * already on their way, and Go's transport cannot resend a refused request whose body it has written:
 * kube-apiserver would answer its PATCH with a 503.
 */
function goAway(session: Http2Session): Promise<void> {
  if (session.closed || session.destroyed) return Promise.resolve();
  const pending = closing.get(session);
  if (pending) return pending;
  announceGoAway(session);
  const closed = new Promise<void>((resolve) => {
    let answered = false;
    let waited = false;
    let done = false;
    const close = (): void => {
      if (done) return;
      done = true;
      clearTimeout(timeout);
      if (!session.closed && !session.destroyed) session.close();
      resolve();
    };
    const timeout = setTimeout(close, pingTimeoutMs).unref();
    const left = announceToCloseMs - (Date.now() - announced.get(session)!);
    setTimeout(() => ((waited = true), answered && close()), Math.max(0, left)).unref();
    if (!session.ping(() => ((answered = true), waited && close()))) answered = true;
  });
  closing.set(session, closed);
  return closed;
}

/** The HTTP/2 sessions open on a server, with HTTP/1.1's keep-alive semantics. */
export interface Http2Sessions {
  /**
   * The server stops: GOAWAY to every session and to those that connect from now on; open streams finish. Resolves
   * once every closing GOAWAY is sent: Fastify's close() closes the sessions it knows at once, which would refuse
   * the streams still on their way, so it is called after.
   */
  closeAll(): Promise<void>;
}

/**
 * Closes (gracefully) a session that has had no open stream for `idleMs`, as Go's server does with its IdleTimeout:
 * idle means no streams, not no frames, so a quiet watch keeps its connection. Fastify's own session timeout counts
 * frames and is turned off where this runs.
 */
export function trackHttp2Sessions(server: Http2SecureServer, idleMs: number): Http2Sessions {
  const sessions = new Set<ServerHttp2Session>();
  let closing = false;
  server.on('session', (session: ServerHttp2Session) => {
    // A handshake that finished after closeAll: the server is stopping, and would otherwise wait for this one's idle
    // timeout.
    if (closing) {
      goAway(session);
      return;
    }
    sessions.add(session);
    let open = 0;
    let timer: NodeJS.Timeout | undefined = setTimeout(() => goAway(session), idleMs).unref();
    session.on('stream', (stream) => {
      open++;
      clearTimeout(timer);
      stream.once('close', () => {
        if (--open === 0 && !session.closed) timer = setTimeout(() => goAway(session), idleMs).unref();
      });
    });
    session.once('close', () => {
      clearTimeout(timer);
      sessions.delete(session);
    });
  });
  return {
    closeAll: async () => {
      closing = true;
      await Promise.all([...sessions].map((session) => goAway(session)));
    },
  };
}
