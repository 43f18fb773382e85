import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Context } from 'hono';
import { StampedResponse } from './stamped-response.js';

/**
 * Sets headers of the response a handler is about to return. Under @hono/node-server
 * they go onto Node's response, which merges them into what Hono writes; c.header()
 * would build a web Headers object and send the response down node-server's slow
 * path, a visible share of a cached read's CPU. Elsewhere (app.request()) c.header().
 */
export function setResponseHeaders(c: Context, headers: Record<string, string>): void {
  const outgoing = nodeResponse(c);
  if (outgoing) {
    // A stamped response keeps them for its head (stamped-response.ts), without Node's merge.
    const stamped = outgoing instanceof StampedResponse ? outgoing : undefined;
    for (const [name, value] of Object.entries(headers))
      if (!stamped?.keep(name, value)) outgoing.setHeader(name, value);
    return;
  }
  for (const [name, value] of Object.entries(headers)) c.header(name, value);
}

/** Node's request under @hono/node-server; undefined under app.request(). */
export function nodeRequest(c: Context): IncomingMessage | undefined {
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  return incoming?.headers ? incoming : undefined;
}

/** Node's response under @hono/node-server; undefined under app.request(). */
export function nodeResponse(c: Context): ServerResponse | undefined {
  const outgoing = (c.env as { outgoing?: ServerResponse } | undefined)?.outgoing;
  return outgoing && typeof outgoing.setHeader === 'function' ? outgoing : undefined;
}

/**
 * A request header (`name` in lower case). Under @hono/node-server it is read from Node's
 * parsed headers: `c.req.header()` first builds a web Headers object of every header the
 * request carries (nginx adds several), a visible share of a purchase's CPU. A repeated
 * header is joined with ", " as `c.req.header()` joins it, except those HTTP allows once
 * (Content-Type, Content-Length, Authorization, …), of which Node keeps the first.
 * Elsewhere (app.request()) `c.req.header()`.
 */
export function requestHeader(c: Context, name: string): string | undefined {
  const incoming = nodeRequest(c);
  if (incoming) {
    const value = incoming.headers[name];
    return Array.isArray(value) ? value.join(', ') : value;
  }
  return c.req.header(name);
}
