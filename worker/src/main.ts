import 'reflect-metadata';
import { AmqpConnection } from '@golevelup/nestjs-rabbitmq';
import { NestFactory } from '@nestjs/core';
import { createBackplanePublisher } from '@stampede/core/backplane';
import { brokerNames } from '@stampede/core/broker';
import { loadConfig } from '@stampede/core/config';
import { createSql } from '@stampede/core/db';
import { createGate } from '@stampede/core/gate';
import { handleProcessLifecycle } from '@stampede/core/lifecycle';
import { createLogger, redactUrl } from '@stampede/core/logger';
import { createRegistry, createWorkerMetrics } from '@stampede/core/metrics';
import { simulatedPayment } from '@stampede/core/purchases';
import { createRedis, redisKeys } from '@stampede/core/redis';
import { settleAfterCommit } from './after-commit.js';
import { createBatchProcessor } from './batch-processor.js';
import { startGateReconciler } from './gate-reconciler.js';
import { startHealthServer } from './health-server.js';
import { MicroBatcher } from './micro-batcher.js';
import { PinoNestLogger } from './nest-logger.js';
import { PurchaseConsumer } from './purchase-consumer.js';
import { createRepublish } from './republish.js';
import { WorkerModule } from './worker-module.js';
import { startWorkerStatus } from './worker-status.js';

/** Boots the worker: clients, batcher, Nest context (broker + consumer), reconciler, health port; and the ordered shutdown. */
async function main(): Promise<void> {
  const config = loadConfig(process.env, process.env.INSTANCE_NAME ? {} : { INSTANCE_NAME: 'worker' });
  const log = createLogger(config, 'worker');
  const lifecycle = handleProcessLifecycle(log, { timeoutMs: config.SHUTDOWN_TIMEOUT_MS });
  const sql = createSql(config, { applicationName: config.INSTANCE_NAME });
  const redis = createRedis(config, log);
  const keys = redisKeys(config.REDIS_KEY_PREFIX);
  const names = brokerNames(config.AMQP_PREFIX);
  const stopping = new AbortController();
  let shuttingDown = false;

  const registry = createRegistry(config.INSTANCE_NAME, 'worker');
  const metrics = createWorkerMetrics(registry);
  const backplane = createBackplanePublisher(redis, config, log);
  const processor = createBatchProcessor({
    config,
    log,
    sql,
    redis,
    keys,
    payment: simulatedPayment(config),
    stopping: stopping.signal,
    metrics,
    backplane,
  });
  const batcher = new MicroBatcher({
    maxSize: config.WORKER_BATCH_SIZE,
    maxWaitMs: config.WORKER_BATCH_WAIT_MS,
    run: processor.process,
  });
  const app = await NestFactory.createApplicationContext(
    WorkerModule.register({ config, log, names, batcher, stopping: stopping.signal, metrics }),
    { logger: new PinoNestLogger(log.child({ scope: 'nest' })), abortOnError: false },
  );
  const amqp = app.get(AmqpConnection);
  const consumer = app.get(PurchaseConsumer);
  const status = startWorkerStatus({ backplane, unacked: () => consumer.inFlight, intervalMs: 1_000 });

  async function queueDepth(): Promise<number> {
    // A throwaway channel: a failed passive declare closes its channel, and it must not be the consuming one.
    const connection = amqp.managedConnection.connection;
    if (!connection) throw new Error('broker not connected');
    const channel = await connection.createChannel();
    channel.on('error', () => {});
    try {
      const depth = (await channel.checkQueue(names.queue)).messageCount;
      metrics.queueDepth.set(depth);
      return depth;
    } finally {
      await channel.close().catch(() => {});
    }
  }

  const reconciler = startGateReconciler({
    log,
    sql,
    redis,
    keys,
    stockIdleTtlS: config.GATE_STOCK_IDLE_TTL_S,
    intervalMs: config.RECONCILE_INTERVAL_MS,
    holdGraceMs: config.GATE_HOLD_GRACE_MS,
    republish: createRepublish(amqp, names),
    settle: (decisions) =>
      settleAfterCommit(
        { config, log, sql, gate: createGate(redis, keys, config.GATE_STOCK_IDLE_TTL_S), redis, keys, backplane },
        decisions,
      ),
    waiting: () => batcher.waiting,
    // No batch deciding, and every committed one settled: otherwise `sold` and `held` would count a purchase twice.
    exclusive: (fn) =>
      batcher.runExclusive(async () => {
        await processor.settled();
        return fn();
      }),
    queueDepth,
  });

  const health = await startHealthServer({
    port: config.WORKER_METRICS_PORT,
    host: config.WORKER_METRICS_HOST,
    instance: config.INSTANCE_NAME,
    isShuttingDown: () => shuttingDown,
    metrics: registry,
    beforeScrape: async () => {
      await queueDepth();
    },
    checks: {
      postgres: () => sql`select 1`,
      redis: () => redis.ping(),
      broker: async () => {
        if (!amqp.connected) throw new Error('not connected');
      },
    },
  });

  lifecycle.closeWith([
    {
      name: 'stop-consuming',
      run: () => {
        shuttingDown = true;
        void status.close();
        return consumer.close();
      },
    },
    { name: 'stop-reconciler', run: reconciler.close },
    // Deliveries already here are decided; a batch stuck on a dead Postgres gives its messages back.
    {
      name: 'finish-in-flight',
      run: () => {
        stopping.abort();
        return batcher.close();
      },
    },
    { name: 'close-broker', run: () => app.close() },
    { name: 'close-health', run: health.close },
    { name: 'close-redis', run: redis.close },
    { name: 'close-postgres', run: sql.close },
  ]);

  log.info(
    {
      event: 'worker.started',
      queue: names.queue,
      prefetch: config.WORKER_PREFETCH,
      batchSize: config.WORKER_BATCH_SIZE,
      batchWaitMs: config.WORKER_BATCH_WAIT_MS,
      healthPort: config.WORKER_METRICS_PORT,
      database: redactUrl(config.DATABASE_URL),
      redis: redactUrl(config.REDIS_URL),
      broker: redactUrl(config.AMQP_URL),
    },
    `worker consuming ${names.queue}`,
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`worker failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
