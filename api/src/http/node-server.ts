import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse, STATUS_CODES } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { getRequestListener } from '@hono/node-server';
import { AppError, type ErrorCode } from '@stampede/core/errors';
import { type Closeable, closeServer } from '@stampede/core/lifecycle';
import type { Logger } from '@stampede/core/logger';
import { PROBLEM_CONTENT_TYPE, toProblem } from './problem.js';
import { SECURITY_HEADERS } from './request-context.js';
import { StampedResponse } from './stamped-response.js';

export interface ApiServerOptions {
  fetch: Parameters<typeof getRequestListener>[0];
  log: Logger;
  /** X-Served-By of the answers given before the app sees a request. */
  instanceName: string;
  /**
   * The whole request, headers and body, must have arrived within this. A total, not a
   * per-read, deadline: a body sent a byte every few seconds is cut off all the same.
   */
  requestTimeoutMs: number;
}

export interface ApiServer extends Closeable {
  /** Resolves with the port once listening (port 0: a free one). */
  listen(port: number, host: string): Promise<number>;
}

/** What Node's HTTP parser says about a request it could not read, as a catalogue code. */
const PARSER_ERRORS: Partial<Record<string, ErrorCode>> = {
  HPE_HEADER_OVERFLOW: 'headers_too_large',
  HPE_INVALID_METHOD: 'not_implemented',
  HPE_INVALID_TRANSFER_ENCODING: 'bad_request',
  ERR_HTTP_REQUEST_TIMEOUT: 'request_timeout',
  ERR_HTTP_HEADERS_TIMEOUT: 'request_timeout',
};

/** A problem document and the headers of an answer given outside the app, always closing the connection. */
function problemAnswer(code: ErrorCode, instanceName: string) {
  const requestId = randomUUID();
  const err = new AppError(code);
  const body = JSON.stringify(toProblem(err, undefined, requestId));
  const headers: Record<string, string> = {
    'Content-Type': PROBLEM_CONTENT_TYPE,
    'Content-Length': String(Buffer.byteLength(body)),
    Connection: 'close',
    'X-Request-Id': requestId,
    'X-Served-By': instanceName,
    ...SECURITY_HEADERS,
  };
  return { status: err.status, headers, body };
}

/** Writes a problem on a socket no response object owns (Node's parser failed before there was a request). */
function answerOnSocket(socket: Duplex, code: ErrorCode, instanceName: string): void {
  // A response already under way on this socket cannot be followed by another: just close.
  const inFlight = (socket as { _httpMessage?: ServerResponse })._httpMessage;
  if (!socket.writable || inFlight?.headersSent) {
    socket.destroy();
    return;
  }
  const a = problemAnswer(code, instanceName);
  const head = Object.entries(a.headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  socket.end(`HTTP/1.1 ${a.status} ${STATUS_CODES[a.status]}\r\n${head}\r\n${a.body}`);
  // A client still sending must not keep the socket: give the answer a moment to leave, then close.
  setTimeout(() => socket.destroy(), 1_000).unref();
}

function answer(res: ServerResponse, code: ErrorCode, instanceName: string): void {
  const a = problemAnswer(code, instanceName);
  res.writeHead(a.status, a.headers).end(a.body);
}

/**
 * What the request line and headers say that the app cannot serve, checked before the
 * app sees the request: Node's parser accepts these, then leaves the app to cope.
 */
function refusal(req: IncomingMessage): ErrorCode | undefined {
  if (req.httpVersionMajor !== 1) return 'http_version_not_supported';
  if (req.httpVersionMinor === 1 && req.headers.host === undefined) return 'bad_request';
  // Only chunked framing is understood; a body in another transfer coding cannot be read.
  const te = req.headers['transfer-encoding'];
  if (te !== undefined && te.trim().toLowerCase() !== 'chunked') return 'not_implemented';
  return undefined;
}

/**
 * The HTTP server of a replica: @hono/node-server's listener behind the guards that make
 * every answer a client can get problem+json, including those given before the app runs
 * (requests Node's parser rejects, a Host @hono/node-server cannot turn into a URL, HTTP/2.0
 * request lines, transfer codings other than chunked, requests that take too long to arrive).
 * `close` stops accepting and resolves once the requests in flight are answered.
 */
export function createApiServer(o: ApiServerOptions): ApiServer {
  const listener = getRequestListener(o.fetch, {
    // The URL of an HTTP/1.0 request without Host (legal in 1.0); nothing here routes by host.
    hostname: 'localhost',
    errorHandler: (err) => {
      // @hono/node-server's RequestError: the Host or path cannot make a URL. Anything else
      // escaped the app's own error handler.
      const isRequestError = (err as Error | undefined)?.name === 'RequestError';
      if (!isRequestError) o.log.error({ event: 'request.crashed', err }, 'unhandled error outside the app');
      const a = problemAnswer(isRequestError ? 'bad_request' : 'internal', o.instanceName);
      return new Response(a.body, { status: a.status, headers: a.headers });
    },
  });
  const server = createServer(
    {
      // Checked by `refusal`, so that the answer is problem+json (Node's own is an empty 400).
      requireHostHeader: false,
      // Writes the headers every answer carries with the head (withRequestContext sets them).
      ServerResponse: StampedResponse,
      requestTimeout: o.requestTimeoutMs,
      headersTimeout: o.requestTimeoutMs,
      // How often Node looks for requests past their deadline (its default is 30 s).
      connectionsCheckingInterval: Math.min(1_000, o.requestTimeoutMs),
    },
    (req, res) => {
      const refused = refusal(req);
      if (refused) return answer(res, refused, o.instanceName);
      void listener(req, res);
    },
  );
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (err.code === 'ECONNRESET' || err.code === 'EPIPE') return void socket.destroy();
    const code = (err.code && PARSER_ERRORS[err.code]) || 'bad_request';
    o.log.debug({ event: 'http.client_error', code, reason: err.code }, 'request refused by the HTTP parser');
    answerOnSocket(socket, code, o.instanceName);
  });
  return {
    listen: (port, host) =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve((server.address() as AddressInfo).port);
        });
      }),
    close: closeServer(server as unknown as Server),
  };
}
