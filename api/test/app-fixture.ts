import type { Config } from '@stampede/core/config';
import { createSql, type Sql } from '@stampede/core/db';
import { createRedis, type Redis } from '@stampede/core/redis/redis-client';
import { testConfig, testLogger } from '../../core/test/support/fixtures.js';
import { deleteTestTopology } from '../../core/test/support/broker.js';
import { buildApp, type AppDeps } from '../src/app.js';
import { createPurchasePublisher, type PurchasePublisher } from '../src/broker/purchase-publisher.js';

export interface TestApp {
  app: ReturnType<typeof buildApp>;
  config: Config;
  sql: Sql;
  redis: Redis;
  publisher: PurchasePublisher;
  close(): Promise<void>;
}

/** Builds the real app against real services for one test; `close` releases its clients. */
export function buildTestApp(overrides: Partial<Config> = {}, extra: Partial<AppDeps> = {}): TestApp {
  const config = testConfig(overrides);
  const log = testLogger(config);
  const sql = createSql(config, { max: 5 });
  const redis = createRedis(config, log);
  const publisher = createPurchasePublisher(config, log);
  const app = buildApp({ config, log, sql, redis, publisher, ...extra });
  return {
    app, config, sql, redis, publisher,
    async close() {
      await publisher.close();
      await deleteTestTopology(config.AMQP_PREFIX);
      redis.disconnect();
      await sql.end({ timeout: 1 });
    },
  };
}
