import type { ServerResponse } from 'node:http';
import type { Context } from 'hono';

/**
 * Sets headers of the response a handler is about to return. Under @hono/node-server
 * they go onto Node's response, which merges them into what Hono writes; c.header()
 * would build a web Headers object and send the response down node-server's slow
 * path, a visible share of a cached read's CPU. Elsewhere (app.request()) c.header().
 */
export function setResponseHeaders(c: Context, headers: Record<string, string>): void {
  const outgoing = nodeResponse(c);
  if (outgoing) {
    for (const [name, value] of Object.entries(headers)) outgoing.setHeader(name, value);
    return;
  }
  for (const [name, value] of Object.entries(headers)) c.header(name, value);
}

/** Node's response under @hono/node-server; undefined under app.request(). */
export function nodeResponse(c: Context): ServerResponse | undefined {
  const outgoing = (c.env as { outgoing?: ServerResponse } | undefined)?.outgoing;
  return outgoing && typeof outgoing.setHeader === 'function' ? outgoing : undefined;
}
