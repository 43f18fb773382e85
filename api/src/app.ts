import { OpenAPIHono } from '@hono/zod-openapi';
import { swaggerUI } from '@hono/swagger-ui';
import { secureHeaders } from 'hono/secure-headers';
import type { Config } from '@stampede/core/config';
import type { Sql } from '@stampede/core/db';
import type { Logger } from '@stampede/core/logger';
import { AppError } from '@stampede/core/errors';
import { queryAvailability } from '@stampede/core/events/event-repository';
import { redisKeys, type Redis } from '@stampede/core/redis/redis-client';
import type { AppEnv } from './http/app-env.js';
import { handleError } from './http/problem.js';
import { requestContext } from './http/request-context.js';
import { createAvailabilityService, type AvailabilityService } from './domain/availability-service.js';
import { eventRoutes } from './routes/event-routes.js';
import { healthRoutes, type HealthCheck } from './routes/health-routes.js';
import { purchaseRoutes } from './routes/purchase-routes.js';
import type { PurchasePublisher } from './broker/purchase-publisher.js';
import { createCatalog } from './domain/catalog.js';
import { createPurchaseService } from './domain/purchase-service.js';
import { createPurchaseStatus } from './domain/purchase-status.js';
import { createSoldOutFlags } from './domain/sold-out-flags.js';
import { adminRoutes } from './routes/admin-routes.js';

/** Everything the app talks to, built by main.ts (or a test) and handed in. */
export interface AppDeps {
  config: Config;
  log: Logger;
  sql: Sql;
  redis: Redis;
  publisher: PurchasePublisher;
  /** Replaces the availability service built from sql and redis (tests count its queries). */
  availability?: AvailabilityService;
  /** Readiness checks beyond Postgres, Redis and the broker. */
  extraHealthChecks?: Record<string, HealthCheck>;
  isShuttingDown?: () => boolean;
}

/**
 * Builds the HTTP app without listening: main.ts owns the port, tests call
 * `app.request()`. Routes → domain → data; no Hono context below the routes.
 */
export function buildApp(deps: AppDeps) {
  const { config, log, sql, redis, publisher } = deps;
  const keys = redisKeys(config.REDIS_KEY_PREFIX);
  const availability = deps.availability ?? createAvailabilityService({
    redis, keys, log,
    load: (eventId) => queryAvailability(sql, eventId),
    ttlMs: config.CACHE_TTL_MS,
    staleTtlMs: config.CACHE_STALE_TTL_MS,
    softTimeoutMs: config.CACHE_SOFT_TIMEOUT_MS,
  });

  const app = new OpenAPIHono<AppEnv>();
  app.use('*', requestContext(log, config.INSTANCE_NAME));
  app.use('*', secureHeaders({ crossOriginResourcePolicy: false, contentSecurityPolicy: undefined }));

  app.route('/', healthRoutes({
    instance: config.INSTANCE_NAME,
    isShuttingDown: deps.isShuttingDown ?? (() => false),
    checks: {
      postgres: () => sql`select 1`,
      redis: () => redis.ping(),
      broker: async () => { if (!publisher.isConnected()) throw new Error('not connected'); },
      ...deps.extraHealthChecks,
    },
  }));
  app.route('/', eventRoutes({ sql, availability }));
  const catalog = createCatalog(sql);
  const purchases = createPurchaseService({ config, log, sql, redis, keys, publisher, catalog, soldOut: createSoldOutFlags() });
  app.route('/', purchaseRoutes({ purchases, status: createPurchaseStatus({ sql, redis, keys }), maxQuantity: config.PURCHASE_MAX_QUANTITY }));

  // Without a token the admin routes do not exist at all (404), rather than being open.
  if (config.ADMIN_TOKEN) app.route('/', adminRoutes({ sql, token: config.ADMIN_TOKEN, catalog }));

  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: { title: 'Stampede API', version: '0.1.0', description: 'Ticket sale under load: availability reads, queued purchases, purchase status.' },
  });
  app.get('/docs', swaggerUI({ url: '/openapi.json' }));

  app.notFound((c) => handleError(new AppError('not_found', `No route for ${c.req.method} ${c.req.path}.`), c, log));
  app.onError((err, c) => handleError(err, c, log));
  return app;
}

export type App = ReturnType<typeof buildApp>;
