import type { Writable } from 'node:stream';
import { type BackplaneSubscriber, subscribeBackplane } from '@stampede/core/backplane';
import type { Config } from '@stampede/core/config';
import { createSql, type Sql } from '@stampede/core/db';
import { createLogger } from '@stampede/core/logger';
import { createRedis, type RedisClient } from '@stampede/core/redis';
import { deleteTestTopology, queueDepths, testConfig, testLogger, waitFor } from '@stampede/lab/testing';
import { type AppDeps, buildApp } from '../src/app.js';
import { createPurchasePublisher, type PurchasePublisher } from '../src/broker/purchase-publisher.js';
import { createApiServer } from '../src/http/node-server.js';

export interface TestApp {
  app: ReturnType<typeof buildApp>;
  config: Config;
  sql: Sql;
  redis: RedisClient;
  publisher: PurchasePublisher;
  backplane?: BackplaneSubscriber;
  close(): Promise<void>;
}

/**
 * Builds the real app against real services for one test; `close` releases its clients.
 * With `backplane: true` it subscribes to the backplane of its prefix, as main.ts does
 * (through `backplaneUrl` when given: a proxy the test can cut). `logTo`: where its log lines go.
 */
export function buildTestApp(
  overrides: Partial<Config> = {},
  extra: Partial<AppDeps> = {},
  options: { backplane?: boolean; backplaneUrl?: string; logTo?: Writable } = {},
): TestApp {
  const config = testConfig(overrides);
  const log = options.logTo ? createLogger(config, 'test', options.logTo) : testLogger(config);
  const sql = createSql(config, { max: 5, closeTimeoutS: 1 });
  const redis = createRedis(config, log);
  const publisher = createPurchasePublisher(config, log);
  const backplane = options.backplane
    ? subscribeBackplane({ ...config, REDIS_URL: options.backplaneUrl ?? config.REDIS_URL }, log)
    : undefined;
  const app = buildApp({ config, log, sql, redis, publisher, backplane, ...extra });
  return {
    app,
    config,
    sql,
    redis,
    publisher,
    backplane,
    async close() {
      await backplane?.close();
      await publisher.close();
      await deleteTestTopology(config.AMQP_PREFIX);
      await redis.close();
      await sql.close();
    },
  };
}

export interface ServedTestApp extends TestApp {
  port: number;
  /** http://127.0.0.1:<port> */
  base: string;
}

/**
 * Resolves once the app can take a purchase: the broker and Redis connected and the
 * publisher's topology declared (its channel setup runs after the connection is up, so a
 * test asking the queue's depth straight after connect could find no queue yet).
 */
export async function appReady(t: TestApp): Promise<void> {
  // queueDepths throws while the queue is missing; waitFor asks again
  await waitFor(
    async () =>
      t.publisher.isConnected() && t.redis.status === 'ready' && Boolean(await queueDepths(t.config.AMQP_PREFIX)),
    { what: 'broker, redis and the purchase queue' },
  );
}

/**
 * The test app served on a free port by the server main.ts uses (some
 * paths differ from app.request(): the Node body stream, headers set on Node's
 * response); resolves once the broker and Redis are connected.
 */
export async function serveTestApp(
  overrides: Partial<Config> = {},
  extra: Partial<AppDeps> = {},
  options: { backplane?: boolean } = {},
): Promise<ServedTestApp> {
  const t = buildTestApp(overrides, extra, options);
  const server = createApiServer({
    fetch: t.app.fetch,
    log: testLogger(t.config),
    instanceName: t.config.INSTANCE_NAME,
    requestTimeoutMs: t.config.HTTP_REQUEST_TIMEOUT_MS,
  });
  const port = await server.listen(0, '127.0.0.1');
  await appReady(t);
  await t.backplane?.ready();
  return {
    ...t,
    port,
    base: `http://127.0.0.1:${port}`,
    async close() {
      await server.close();
      await t.close();
    },
  };
}

/**
 * `count` replicas of one lab in this process: one key prefix, one broker prefix and one
 * backplane channel, each replica with its own clients, name and subscription, as
 * separate processes would have. Resolves once every one is subscribed.
 */
export async function buildTestReplicas(
  count: number,
  overrides: Partial<Config> = {},
  extra: (index: number) => Partial<AppDeps> = () => ({}),
  backplaneUrl: (index: number) => string | undefined = () => undefined,
): Promise<TestApp[]> {
  const shared = testConfig(overrides);
  const replicas = Array.from({ length: count }, (_, i) =>
    buildTestApp(
      {
        ...overrides,
        REDIS_KEY_PREFIX: shared.REDIS_KEY_PREFIX,
        AMQP_PREFIX: shared.AMQP_PREFIX,
        INSTANCE_NAME: `${shared.INSTANCE_NAME}-api-${i + 1}`,
      },
      extra(i),
      { backplane: true, backplaneUrl: backplaneUrl(i) },
    ),
  );
  await Promise.all(replicas.map((r) => r.backplane?.ready()));
  await waitFor(() => replicas.every((r) => r.publisher.isConnected() && r.redis.status === 'ready'), {
    what: 'replicas connected',
  });
  return replicas;
}
