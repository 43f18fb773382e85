import type { ApiMetrics } from '@stampede/core/metrics';
import type { MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import type { AppEnv } from './app-env.js';

/**
 * Counts and times every request by its route template (never the raw path, which would
 * make one series per event id), method and status.
 */
export function httpMetrics(metrics: ApiMetrics): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const started = performance.now();
    await next();
    const matched = routePath(c, -1);
    const route = matched === '*' || matched === '/*' ? 'unmatched' : matched;
    metrics.http.record(route, c.req.method, c.res.status, (performance.now() - started) / 1000);
  };
}
