import { randomUUID } from 'node:crypto';
import { type Logger, lazyChild } from '@stampede/core/logger';
import type { ApiMetrics } from '@stampede/core/metrics';
import type { Router } from 'hono/router';
import { RegExpRouter } from 'hono/router/reg-exp-router';
import { SmartRouter } from 'hono/router/smart-router';
import { TrieRouter } from 'hono/router/trie-router';
import type { H, RouterRoute } from 'hono/types';
import type { RequestBindings } from './app-env.js';
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

type Route = [H, RouterRoute];

/**
 * Hono's default router, remembering the route it matched last: Hono matches a request
 * synchronously as its dispatch starts, so right after `fetch` returns, that is the
 * request's route (its template names the metrics' series).
 */
export function routeRecorder(): { router: Router<Route>; takeRoute(): string } {
  const inner = new SmartRouter<Route>({ routers: [new RegExpRouter(), new TrieRouter()] });
  let last: ReturnType<Router<Route>['match']> | undefined;
  return {
    router: {
      name: 'recording SmartRouter',
      add: (method, path, handler) => inner.add(method, path, handler),
      match: (method, path) => {
        last = inner.match(method, path);
        return last;
      },
    },
    takeRoute() {
      const matched = last?.[0].at(-1)?.[0][1].path;
      last = undefined;
      return matched === undefined || matched === '*' || matched === '/*' ? 'unmatched' : matched;
    },
  };
}

// biome-ignore lint/suspicious/noExplicitAny: Hono's fetch takes its env and execution context untyped here.
type Fetch = (request: Request, env?: any, executionCtx?: any) => Response | Promise<Response>;

/**
 * Wraps the app's `fetch` with what every request gets: an id (nginx's X-Request-Id when
 * present, a new UUID otherwise) and a logger that carries it, both in `c.env`; the id
 * echoed, the serving replica named and the security headers set; and, with metrics, the
 * request counted and timed by its route template.
 *
 * Around `fetch`, not as a middleware: with no middleware before a route's handler, Hono
 * calls the handler straight away instead of composing an async chain, and that chain was
 * a tenth of the CPU of a request that does little else (A/B). Under @hono/node-server the
 * headers are written with the head by Node's response (stamped-response.ts); elsewhere
 * (app.request() in tests) they are set on the finished response.
 */
export function withRequestContext(
  fetch: Fetch,
  o: { log: Logger; instanceName: string; metrics?: ApiMetrics; takeRoute: () => string },
): Fetch {
  const fixed: [string, string][] = [['X-Served-By', o.instanceName], ...Object.entries(SECURITY_HEADERS)];
  const stamp = createStamp(Object.fromEntries(fixed));
  const { metrics } = o;
  return (request, given, executionCtx) => {
    const started = performance.now();
    const env = (given ?? {}) as Partial<RequestBindings>;
    const outgoing = env.outgoing instanceof StampedResponse ? env.outgoing : undefined;
    const incoming = env.incoming ? env.incoming.headers['x-request-id'] : request.headers.get('x-request-id');
    const requestId = typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    env.requestId = requestId;
    env.log = lazyChild(o.log, { requestId });
    if (outgoing) {
      outgoing.stamp = stamp;
      outgoing.requestId = requestId;
    } else if (env.outgoing) {
      env.outgoing.setHeader('X-Request-Id', requestId);
      for (const [name, value] of fixed) env.outgoing.setHeader(name, value);
    }
    const answer = fetch(request, env, executionCtx);
    const route = o.takeRoute();
    const finish = (res: Response): Response => {
      if (metrics) metrics.http.record(route, request.method, res.status, (performance.now() - started) / 1000);
      if (env.outgoing === undefined) {
        res.headers.set('X-Request-Id', requestId);
        for (const [name, value] of fixed) res.headers.set(name, value);
      }
      return res;
    };
    return answer instanceof Promise ? answer.then(finish) : finish(answer);
  };
}
