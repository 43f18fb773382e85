import type { ApiMetrics } from '@stampede/core/metrics';
import type { Context } from 'hono';
import { routePath } from 'hono/route';
import type { AppEnv } from './app-env.js';

/**
 * Counts and times a finished request by its route template (never the raw path, which
 * would make one series per event id), method and status. Called by requestContext.
 */
export function recordRequest(metrics: ApiMetrics, c: Context<AppEnv>, started: number): void {
  const matched = routePath(c, -1);
  const route = matched === '*' || matched === '/*' ? 'unmatched' : matched;
  metrics.http.record(route, c.req.method, c.res.status, (performance.now() - started) / 1000);
}
