import { randomUUID } from 'node:crypto';
import { type Logger, lazyChild } from '@stampede/core/logger';
import type { ApiMetrics } from '@stampede/core/metrics';
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from './app-env.js';
import { recordRequest } from './http-metrics.js';
import { nodeResponse, requestHeader } from './node-headers.js';
import { createStamp, StampedResponse } from './stamped-response.js';

/** An incoming X-Request-Id is trusted only when it looks like an id, never as free text. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Security headers on every response: the defaults of Hono's `secureHeaders` without
 * Cross-Origin-Resource-Policy and Content-Security-Policy (a JSON API with a docs page).
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Origin-Agent-Cluster': '?1',
  'Referrer-Policy': 'no-referrer',
  'Strict-Transport-Security': 'max-age=15552000; includeSubDomains',
  'X-Content-Type-Options': 'nosniff',
  'X-DNS-Prefetch-Control': 'off',
  'X-Download-Options': 'noopen',
  'X-Frame-Options': 'SAMEORIGIN',
  'X-Permitted-Cross-Domain-Policies': 'none',
  'X-XSS-Protection': '0',
};

/**
 * Gives every request an id (nginx's X-Request-Id when present, a new UUID otherwise)
 * and a child logger that carries it; echoes the id, names the serving replica, sets
 * the security headers and, with metrics, counts and times the request. One middleware
 * for all of it: each layer of Hono's chain is an async step every request pays.
 *
 * Under @hono/node-server the headers go straight onto Node's response, which merges
 * them into whatever response Hono writes, and the id is read from Node's parsed
 * headers: building web Headers objects for them (Hono's request headers, its
 * secureHeaders, setting headers on the finished response) was a quarter of a
 * replica's CPU on a route that does nothing. Elsewhere (app.request() in tests) the
 * same headers are set on the finished response.
 */
export function requestContext(log: Logger, instanceName: string, metrics?: ApiMetrics): MiddlewareHandler<AppEnv> {
  const fixed: [string, string][] = [['X-Served-By', instanceName], ...Object.entries(SECURITY_HEADERS)];
  const stamp = createStamp(Object.fromEntries(fixed));
  return async (c, next) => {
    const started = performance.now();
    const incoming = requestHeader(c, 'x-request-id');
    const requestId = typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    c.set('requestId', requestId);
    c.set('log', lazyChild(log, { requestId }));
    const outgoing = nodeResponse(c);
    if (outgoing instanceof StampedResponse) {
      // Written with the head, in one step (stamped-response.ts).
      outgoing.stamp = stamp;
      outgoing.requestId = requestId;
      await next();
      if (metrics) recordRequest(metrics, c, started);
      return;
    }
    if (outgoing) {
      outgoing.setHeader('X-Request-Id', requestId);
      for (const [name, value] of fixed) outgoing.setHeader(name, value);
      await next();
      if (metrics) recordRequest(metrics, c, started);
      return;
    }
    await next();
    if (metrics) recordRequest(metrics, c, started);
    // On the finished response's headers, not c.header(): after the handler, c.header()
    // rebuilds node-server's lightweight response as a full web Response.
    c.res.headers.set('X-Request-Id', requestId);
    for (const [name, value] of fixed) c.res.headers.set(name, value);
  };
}
