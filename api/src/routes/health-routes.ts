import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import type { AppEnv } from '../http/app-env.js';

/** A dependency's check: resolves when it answers, rejects when it does not. */
export type HealthCheck = () => Promise<unknown>;

const DependencySchema = z.object({
  status: z.enum(['up', 'down']),
  latencyMs: z.number(),
  error: z.string().optional(),
});
const ReadinessSchema = z
  .object({
    status: z.enum(['ok', 'degraded', 'shutting_down']),
    instance: z.string(),
    dependencies: z.record(z.string(), DependencySchema),
  })
  .openapi('Readiness');

const liveRoute = createRoute({
  method: 'get',
  path: '/health/live',
  tags: ['health'],
  summary: 'Liveness: the process answers',
  responses: {
    200: { description: 'Alive', content: { 'application/json': { schema: z.object({ status: z.literal('ok') }) } } },
  },
});
const readyRoute = createRoute({
  method: 'get',
  path: '/health/ready',
  tags: ['health'],
  summary: 'Readiness, with each dependency',
  description:
    'A dependency that is down makes the replica degraded, not dead: reads fall back and purchases queue. 503 only while shutting down.',
  responses: {
    200: { description: 'Ready (ok or degraded)', content: { 'application/json': { schema: ReadinessSchema } } },
    503: { description: 'Shutting down', content: { 'application/json': { schema: ReadinessSchema } } },
  },
});

async function probe(check: HealthCheck, timeoutMs: number) {
  const started = performance.now();
  try {
    await Promise.race([
      check(),
      new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), timeoutMs).unref()),
    ]);
    return { status: 'up' as const, latencyMs: Math.round(performance.now() - started) };
  } catch (err) {
    return {
      status: 'down' as const,
      latencyMs: Math.round(performance.now() - started),
      error: (err as Error).message,
    };
  }
}

/** Liveness and readiness. Readiness probes every dependency in parallel with a short timeout. */
export function healthRoutes(deps: {
  instance: string;
  checks: Record<string, HealthCheck>;
  isShuttingDown: () => boolean;
  timeoutMs?: number;
}) {
  const app = new OpenAPIHono<AppEnv>();
  app.openapi(liveRoute, (c) => c.json({ status: 'ok' as const }, 200));
  app.openapi(readyRoute, async (c) => {
    const names = Object.keys(deps.checks);
    const results = await Promise.all(names.map((n) => probe(deps.checks[n]!, deps.timeoutMs ?? 500)));
    const dependencies = Object.fromEntries(names.map((n, i) => [n, results[i]!]));
    if (deps.isShuttingDown())
      return c.json({ status: 'shutting_down' as const, instance: deps.instance, dependencies }, 503);
    const status = results.every((r) => r.status === 'up') ? ('ok' as const) : ('degraded' as const);
    return c.json({ status, instance: deps.instance, dependencies }, 200);
  });
  return app;
}
