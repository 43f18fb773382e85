import { createServer, type ServerResponse } from 'node:http';
import { type Closeable, closeServer } from '@stampede/core/lifecycle';

/** A dependency's check: resolves when it answers, rejects when it does not. */
export type DependencyCheck = () => Promise<unknown>;

export interface HealthServerOptions {
  port: number;
  host: string;
  instance: string;
  checks: Record<string, DependencyCheck>;
  isShuttingDown: () => boolean;
  timeoutMs?: number;
  /** GET /metrics: this registry (prom-client), after `beforeScrape` refreshed what is read on demand. */
  metrics?: { contentType: string; metrics(): Promise<string> };
  beforeScrape?: () => Promise<void>;
}

async function check(run: DependencyCheck, timeoutMs: number) {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('timeout')), timeoutMs);
  });
  try {
    await Promise.race([run(), timeout]);
    return { status: 'up' as const, latencyMs: elapsed() };
  } catch (err) {
    return { status: 'down' as const, latencyMs: elapsed(), error: err instanceof Error ? err.message : String(err) };
  } finally {
    clearTimeout(timer);
  }
}

async function serveMetrics(res: ServerResponse, options: HealthServerOptions): Promise<void> {
  await options.beforeScrape?.().catch(() => undefined); // a gauge that cannot be read keeps its last value
  try {
    const body = await options.metrics!.metrics();
    res.writeHead(200, { 'content-type': options.metrics!.contentType, 'cache-control': 'no-store' });
    res.end(body);
  } catch {
    res.writeHead(500).end();
  }
}

/**
 * The worker's small HTTP side: GET /health/live (the process answers) and
 * GET /health/ready (Postgres, Redis, broker, each probed with a short timeout), and
 * GET /metrics (docs/observability.md). Same
 * document as the API's readiness: a dependency down makes the worker `degraded` (it
 * waits and retries, it does not die); 503 only while shutting down.
 */
export function startHealthServer(options: HealthServerOptions): Promise<Closeable> {
  const server = createServer((req, res) => {
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify(body));
    };
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET') return reply(405, { status: 405, code: 'method_not_allowed' });
    if (path === '/health/live') return reply(200, { status: 'ok' });
    if (path === '/metrics' && options.metrics) return void serveMetrics(res, options);
    if (path !== '/health/ready') return reply(404, { status: 404, code: 'not_found' });
    const names = Object.keys(options.checks);
    void Promise.all(names.map((n) => check(options.checks[n]!, options.timeoutMs ?? 500))).then((results) => {
      const dependencies = Object.fromEntries(names.map((n, i) => [n, results[i]]));
      if (options.isShuttingDown())
        return reply(503, { status: 'shutting_down', instance: options.instance, dependencies });
      reply(200, {
        status: results.every((r) => r.status === 'up') ? 'ok' : 'degraded',
        instance: options.instance,
        dependencies,
      });
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve({ close: closeServer(server) }));
  });
}
