import { AmqpConnection } from '@golevelup/nestjs-rabbitmq';
import type { Provider } from '@nestjs/common';
import { type BackplanePublisher, createBackplanePublisher } from '@stampede/core/backplane';
import { type BrokerNames, brokerNames, laneOf } from '@stampede/core/broker';
import type { Config } from '@stampede/core/config';
import { createSql, type SqlPool } from '@stampede/core/db';
import { createGate, type Gate } from '@stampede/core/gate';
import type { Logger } from '@stampede/core/logger';
import { createRegistry, createWorkerMetrics, type WorkerMetrics } from '@stampede/core/metrics';
import { simulatedPayment } from '@stampede/core/purchases';
import { createRedis, type RedisClient, type RedisKeys, redisKeys } from '@stampede/core/redis';
import { settleAfterCommit } from './after-commit.js';
import { type BatchProcessor, createBatchProcessor } from './batch-processor.js';
import { startGateReconciler } from './gate-reconciler.js';
import { startHealthServer } from './health-server.js';
import { LaneBatchers } from './lane-batchers.js';
import { PurchaseConsumer } from './purchase-consumer.js';
import { createRepublish } from './republish.js';
import {
  BACKPLANE,
  BATCH_PROCESSOR,
  BATCHER,
  BROKER_NAMES,
  CLIENTS,
  CONFIG,
  CONSUMER_DEPS,
  type ConsumerDeps,
  GATE,
  HEALTH_SERVER,
  LOGGER,
  METRICS,
  METRICS_REGISTRY,
  type PurchaseBatcher,
  QUEUE_DEPTH,
  type QueueDepth,
  RECONCILER,
  REDIS,
  REDIS_KEYS,
  SHUTDOWN_STATE,
  type ShutdownState,
  SQL,
  WORKER_STATUS,
  type WorkerClients,
} from './tokens.js';
import { startWorkerStatus } from './worker-status.js';

type Registry = ReturnType<typeof createRegistry>;

/**
 * The worker's collaborators, each made by its factory from what it injects: the
 * clients, the metrics, the batch processor and its batcher, the consumer's
 * dependencies, the reconciler, the health/metrics port and the status heartbeat.
 * The shutdown runbook closes them (worker-lifecycle.ts).
 */
export const workerProviders: Provider[] = [
  {
    provide: SQL,
    inject: [CONFIG],
    useFactory: (config: Config) => createSql(config, { applicationName: config.INSTANCE_NAME }),
  },
  { provide: REDIS, inject: [CONFIG, LOGGER], useFactory: (config: Config, log: Logger) => createRedis(config, log) },
  { provide: REDIS_KEYS, inject: [CONFIG], useFactory: (config: Config) => redisKeys(config.REDIS_KEY_PREFIX) },
  {
    provide: BROKER_NAMES,
    inject: [CONFIG],
    useFactory: (config: Config) => brokerNames(config.AMQP_PREFIX, config.AMQP_LANES),
  },
  {
    provide: METRICS_REGISTRY,
    inject: [CONFIG],
    useFactory: (config: Config) => createRegistry(config.INSTANCE_NAME, 'worker'),
  },
  { provide: METRICS, inject: [METRICS_REGISTRY], useFactory: (registry: Registry) => createWorkerMetrics(registry) },
  {
    provide: BACKPLANE,
    inject: [REDIS, CONFIG, LOGGER],
    useFactory: (redis: RedisClient, config: Config, log: Logger) => createBackplanePublisher(redis, config, log),
  },
  {
    provide: SHUTDOWN_STATE,
    useFactory: (): ShutdownState => ({ intakeStopped: false, stopping: new AbortController() }),
  },
  {
    provide: CLIENTS,
    inject: [LOGGER, SQL, REDIS, REDIS_KEYS],
    useFactory: (log: Logger, sql: SqlPool, redis: RedisClient, keys: RedisKeys): WorkerClients => ({
      log,
      sql,
      redis,
      keys,
    }),
  },
  {
    provide: BATCH_PROCESSOR,
    inject: [CONFIG, CLIENTS, SHUTDOWN_STATE, METRICS, BACKPLANE],
    useFactory: (
      config: Config,
      clients: WorkerClients,
      state: ShutdownState,
      metrics: WorkerMetrics,
      backplane: BackplanePublisher,
    ) =>
      createBatchProcessor({
        ...clients,
        config,
        payment: simulatedPayment(config),
        stopping: state.stopping.signal,
        metrics,
        backplane,
      }),
  },
  {
    provide: BATCHER,
    inject: [CONFIG, BATCH_PROCESSOR],
    useFactory: (config: Config, processor: BatchProcessor): PurchaseBatcher =>
      // Batched by the lane the publisher routed by, so the shared queue's purchases keep per-tier order too.
      new LaneBatchers(config.AMQP_LANES, (m) => laneOf(m.tierId, m.bucket ?? 0, config.AMQP_LANES), {
        maxSize: config.WORKER_BATCH_SIZE,
        maxWaitMs: config.WORKER_BATCH_WAIT_MS,
        run: processor.process,
      }),
  },
  {
    provide: CONSUMER_DEPS,
    inject: [CONFIG, LOGGER, BROKER_NAMES, BATCHER, SHUTDOWN_STATE, METRICS],
    useFactory: (
      config: Config,
      log: Logger,
      names: BrokerNames,
      batcher: PurchaseBatcher,
      state: ShutdownState,
      metrics: WorkerMetrics,
    ): ConsumerDeps => ({ config, log, names, batcher, stopping: state.stopping.signal, metrics }),
  },
  PurchaseConsumer,
  {
    provide: QUEUE_DEPTH,
    inject: [AmqpConnection, BROKER_NAMES, METRICS],
    useFactory:
      (amqp: AmqpConnection, names: BrokerNames, metrics: WorkerMetrics): QueueDepth =>
      async () => {
        // A throwaway channel: a failed passive declare closes its channel, and it must not be the consuming one.
        const connection = amqp.managedConnection.connection;
        if (!connection) throw new Error('broker not connected');
        const channel = await connection.createChannel();
        channel.on('error', () => {});
        try {
          let depth = 0;
          for (const queue of names.queues) depth += (await channel.checkQueue(queue)).messageCount;
          metrics.queueDepth.set(depth);
          return depth;
        } finally {
          await channel.close().catch(() => {});
        }
      },
  },
  {
    provide: GATE,
    inject: [CONFIG, REDIS, REDIS_KEYS],
    useFactory: (config: Config, redis: RedisClient, keys: RedisKeys) =>
      createGate(redis, keys, config.GATE_STOCK_IDLE_TTL_S),
  },
  {
    provide: RECONCILER,
    inject: [CONFIG, CLIENTS, GATE, BACKPLANE, AmqpConnection, BROKER_NAMES, BATCHER, BATCH_PROCESSOR, QUEUE_DEPTH],
    useFactory: (
      config: Config,
      clients: WorkerClients,
      gate: Gate,
      backplane: BackplanePublisher,
      amqp: AmqpConnection,
      names: BrokerNames,
      batcher: PurchaseBatcher,
      processor: BatchProcessor,
      queueDepth: QueueDepth,
    ) =>
      startGateReconciler({
        ...clients,
        stockIdleTtlS: config.GATE_STOCK_IDLE_TTL_S,
        intervalMs: config.RECONCILE_INTERVAL_MS,
        holdGraceMs: config.GATE_HOLD_GRACE_MS,
        republish: createRepublish(amqp, names),
        settle: (decisions) => settleAfterCommit({ ...clients, config, gate, backplane }, decisions),
        waiting: () => batcher.waiting,
        // No batch deciding, and every committed one settled: otherwise `sold` and `held` would count a purchase twice.
        exclusive: (fn) =>
          batcher.runExclusive(async () => {
            await processor.settled();
            return fn();
          }),
        queueDepth,
      }),
  },
  {
    provide: HEALTH_SERVER,
    inject: [CONFIG, SHUTDOWN_STATE, METRICS_REGISTRY, QUEUE_DEPTH, SQL, REDIS, AmqpConnection],
    useFactory: (
      config: Config,
      state: ShutdownState,
      registry: Registry,
      queueDepth: QueueDepth,
      sql: SqlPool,
      redis: RedisClient,
      amqp: AmqpConnection,
    ) =>
      startHealthServer({
        port: config.WORKER_METRICS_PORT,
        host: config.WORKER_METRICS_HOST,
        instance: config.INSTANCE_NAME,
        isShuttingDown: () => state.intakeStopped,
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
      }),
  },
  {
    provide: WORKER_STATUS,
    inject: [BACKPLANE, PurchaseConsumer],
    useFactory: (backplane: BackplanePublisher, consumer: PurchaseConsumer) =>
      startWorkerStatus({ backplane, unacked: () => consumer.inFlight, intervalMs: 1_000 }),
  },
];
