import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { type BackplaneSubscriber, createBackplanePublisher } from '@stampede/core/backplane';
import { brokerNames } from '@stampede/core/broker';
import { brokerUrls, type Config } from '@stampede/core/config';
import type { Sql } from '@stampede/core/db';
import { AppError } from '@stampede/core/errors';
import { queryAvailability } from '@stampede/core/events';
import { createGate } from '@stampede/core/gate';
import type { Logger } from '@stampede/core/logger';
import { createApiMetrics, createRegistry } from '@stampede/core/metrics';
import { type Redis, redisKeys } from '@stampede/core/redis';
import { createRoomTokens, createWaitingRoom } from '@stampede/core/waiting-room';
import type { Registry } from 'prom-client';
import type { PurchasePublisher } from './broker/purchase-publisher.js';
import { chaosPublisher, chaosRedis, chaosSql } from './chaos/chaos-clients.js';
import { createChaosState } from './chaos/chaos-state.js';
import { createQueueProbe } from './dashboard/queue-probe.js';
import { createDashboardSampler } from './dashboard/sampler.js';
import { type AvailabilityService, createAvailabilityService } from './domain/availability-service.js';
import { followBackplane } from './domain/backplane-sync.js';
import { createCatalog } from './domain/catalog.js';
import { createPurchaseService } from './domain/purchase-service.js';
import { createPurchaseStatus } from './domain/purchase-status.js';
import { createSoldOutFlags } from './domain/sold-out-flags.js';
import type { AppEnv } from './http/app-env.js';
import { allowedMethods } from './http/method-not-allowed.js';
import { handleError } from './http/problem.js';
import { routeRecorder, withRequestContext } from './http/request-context.js';
import { createDecisionFeed } from './live/decision-feed.js';
import { createLiveStreams } from './live/live-streams.js';
import { adminRoutes } from './routes/admin-routes.js';
import { chaosRoutes } from './routes/chaos-routes.js';
import { dashboardRoutes } from './routes/dashboard-routes.js';
import { docsRoutes } from './routes/docs-routes.js';
import { eventRoutes } from './routes/event-routes.js';
import { type HealthCheck, healthRoutes } from './routes/health-routes.js';
import { purchaseRoutes } from './routes/purchase-routes.js';
import { purchaseStreamRoutes } from './routes/purchase-stream-routes.js';
import { createRoomGuard, type RoomGuard } from './waiting-room/room-guard.js';
import { roomRoutes } from './waiting-room/room-routes.js';

const metricsRoute = createRoute({
  method: 'get',
  path: '/metrics',
  tags: ['health'],
  summary: 'Prometheus metrics of this replica (docs/observability.md)',
  responses: {
    200: { description: 'Prometheus text exposition format', content: { 'text/plain': { schema: z.string() } } },
  },
});

/** Everything the app talks to, built by main.ts (or a test) and handed in. */
export interface AppDeps {
  config: Config;
  log: Logger;
  sql: Sql;
  redis: Redis;
  publisher: PurchasePublisher;
  /** Replaces the availability service built from sql and redis (tests count its queries). */
  availability?: AvailabilityService;
  /** Reads availability from Postgres (queryAvailability; a test counts its queries through it). */
  queryAvailability?: typeof queryAvailability;
  /** Readiness checks beyond Postgres, Redis and the broker. */
  extraHealthChecks?: Record<string, HealthCheck>;
  isShuttingDown?: () => boolean;
  /** The Prometheus registry; one is made when not given. */
  registry?: Registry;
  /**
   * What the other processes say on Redis pub/sub (main.ts subscribes and closes it at
   * shutdown). Without it the replica's memory follows only its TTLs and the event streams
   * read the stored state instead.
   */
  backplane?: BackplaneSubscriber;
}

/**
 * Builds the HTTP app without listening: main.ts owns the port, tests call
 * `app.request()`. Routes → domain → data; no Hono context below the routes.
 */
export function buildApp(deps: AppDeps) {
  const { config, log } = deps;
  // With chaos enabled the clients are wrapped so injected faults reach every code path.
  const chaos = createChaosState();
  const chaotic = config.CHAOS_ENABLED && config.ADMIN_TOKEN !== undefined;
  const sql = chaotic ? chaosSql(deps.sql, chaos) : deps.sql;
  const redis = chaotic ? chaosRedis(deps.redis, chaos) : deps.redis;
  const publisher = chaotic ? chaosPublisher(deps.publisher, chaos) : deps.publisher;
  const keys = redisKeys(config.REDIS_KEY_PREFIX);
  const { backplane } = deps;
  const registry = deps.registry ?? createRegistry(config.INSTANCE_NAME, 'api');
  const metrics = createApiMetrics(registry);
  const availability =
    deps.availability ??
    createAvailabilityService({
      redis,
      keys,
      log,
      metrics,
      load: (eventId) => (deps.queryAvailability ?? queryAvailability)(sql, eventId),
      ttlMs: config.CACHE_TTL_MS,
      staleTtlMs: config.CACHE_STALE_TTL_MS,
      softTimeoutMs: config.CACHE_SOFT_TIMEOUT_MS,
      l1TtlMs: config.CACHE_L1_TTL_MS,
      l1MaxEntries: config.CACHE_L1_MAX_ENTRIES,
      negativeTtlMs: config.CATALOG_NEGATIVE_TTL_MS,
      maxUnknown: config.CATALOG_MAX_UNKNOWN,
    });

  const routes = routeRecorder();
  const app = new OpenAPIHono<AppEnv>({ router: routes.router });

  app.route(
    '/',
    healthRoutes({
      instance: config.INSTANCE_NAME,
      isShuttingDown: deps.isShuttingDown ?? (() => false),
      checks: {
        postgres: () => sql`select 1`,
        redis: () => redis.ping(),
        broker: async () => {
          if (!publisher.isConnected()) throw new Error('not connected');
        },
        ...(backplane
          ? {
              backplane: async () => {
                if (backplane.state() !== 'up') throw new Error('not subscribed: caches follow their TTLs');
              },
            }
          : {}),
        ...deps.extraHealthChecks,
      },
    }),
  );
  app.route('/', eventRoutes({ sql, availability }));
  const catalog = createCatalog(sql, {
    ttlMs: config.CATALOG_TTL_MS,
    maxEvents: config.CATALOG_MAX_EVENTS,
    negativeTtlMs: config.CATALOG_NEGATIVE_TTL_MS,
    maxUnknown: config.CATALOG_MAX_UNKNOWN,
    shared: { redis, keys, ttlSeconds: config.GATE_RECORD_TTL_S },
  });
  const gate = createGate(redis, keys, config.GATE_STOCK_IDLE_TTL_S);
  const soldOut = createSoldOutFlags();
  if (backplane) followBackplane(backplane, { catalog, availability, soldOut });
  const purchases = createPurchaseService({ config, log, sql, gate, publisher, catalog, metrics, soldOut });
  const status = createPurchaseStatus({ sql, gate });
  // The waiting room exists only with a secret to sign its tokens (docs/waiting-room.md).
  let room: RoomGuard | undefined;
  if (config.WAITING_ROOM_SECRET) {
    const line = createWaitingRoom(redis, keys, {
      passTtlMs: config.WAITING_ROOM_PASS_TTL_S * 1000,
      heartbeatMs: config.WAITING_ROOM_HEARTBEAT_S * 1000,
    });
    const tokens = createRoomTokens(config.WAITING_ROOM_SECRET);
    room = createRoomGuard({
      room: line,
      tokens,
      sql,
      catalog,
      log,
      heartbeatMs: config.WAITING_ROOM_HEARTBEAT_S * 1000,
      ...(backplane
        ? { backplane: { subscriber: backplane, publisher: createBackplanePublisher(deps.redis, config, log) } }
        : {}),
    });
    app.route(
      '/',
      roomRoutes({
        room: line,
        tokens,
        guard: room,
        adminToken: config.ADMIN_TOKEN,
        tokenTtlS: config.WAITING_ROOM_TOKEN_TTL_S,
        pollS: config.WAITING_ROOM_POLL_S,
        passTtlS: config.WAITING_ROOM_PASS_TTL_S,
      }),
    );
  }
  app.route('/', purchaseRoutes({ purchases, status, room, maxQuantity: config.PURCHASE_MAX_QUANTITY }));
  const live = createLiveStreams({ isShuttingDown: deps.isShuttingDown ?? (() => false) });
  app.route('/', purchaseStreamRoutes({ status, feed: createDecisionFeed(backplane), live }));
  const sampler = createDashboardSampler({
    instance: config.INSTANCE_NAME,
    metrics,
    sql,
    ping: () => redis.ping(),
    brokerConnected: () => publisher.isConnected(),
    queue: createQueueProbe(brokerUrls(config), brokerNames(config.AMQP_PREFIX, config.AMQP_LANES).queues, 800),
    tickets: async (eventId) => (await availability.get(eventId)).value,
    backplane,
    publisher: backplane ? createBackplanePublisher(deps.redis, config, log) : undefined,
  });
  app.route('/', dashboardRoutes({ sampler, live, instance: config.INSTANCE_NAME }));

  // Without a token the admin routes do not exist at all (404), rather than being open.
  if (config.ADMIN_TOKEN)
    app.route(
      '/',
      adminRoutes({
        sql,
        token: config.ADMIN_TOKEN,
        catalog,
        backplane: createBackplanePublisher(deps.redis, config, log),
      }),
    );
  if (chaotic)
    app.route('/', chaosRoutes({ chaos, token: config.ADMIN_TOKEN as string, instance: config.INSTANCE_NAME }));

  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: 'Stampede API',
      version: '0.1.0',
      description: 'Ticket sale under load: availability reads, queued purchases, purchase status.',
    },
  });
  app.route('/', docsRoutes());
  // Prometheus text format; scraped by nothing by default (the lab needs no Prometheus).
  app.openapi(
    metricsRoute,
    async (c) => c.body(await registry.metrics(), 200, { 'content-type': registry.contentType }) as never,
  );

  // A known path asked with another method is a 405 that says which methods it serves.
  const allowed = allowedMethods(app);
  app.notFound((c) => {
    const methods = allowed(c.req.path);
    const err =
      methods.length > 0
        ? new AppError('method_not_allowed', 'This path does not serve this method; Allow lists those it does.', {
            headers: { Allow: methods.join(', ') },
          })
        : new AppError('not_found', 'No route matches this path.');
    return handleError(err, c, log);
  });
  app.onError((err, c) => handleError(err, c, log));
  // Every request's id, logger, headers and metrics, around the app rather than in it (request-context.ts).
  app.fetch = withRequestContext(app.fetch, {
    log,
    instanceName: config.INSTANCE_NAME,
    metrics,
    takeRoute: routes.takeRoute,
  }) as typeof app.fetch;
  return app;
}

export type App = ReturnType<typeof buildApp>;
