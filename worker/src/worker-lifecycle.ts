import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import type { BrokerNames } from '@stampede/core/broker';
import { brokerUrls, type Config } from '@stampede/core/config';
import type { SqlPool } from '@stampede/core/db';
import type { Closeable, ShutdownStep } from '@stampede/core/lifecycle';
import { type Logger, redactUrl } from '@stampede/core/logger';
import type { RedisClient } from '@stampede/core/redis';
import { PurchaseConsumer } from './purchase-consumer.js';
import {
  BATCHER,
  BROKER_NAMES,
  CONFIG,
  HEALTH_SERVER,
  LOGGER,
  type PurchaseBatcher,
  RECONCILER,
  REDIS,
  SHUTDOWN_STATE,
  type ShutdownState,
  SQL,
  WORKER_STATUS,
} from './tokens.js';

/** The worker's start line and its shutdown runbook, over the collaborators Nest made. */
@Injectable()
export class WorkerLifecycle implements OnApplicationBootstrap {
  constructor(
    @Inject(CONFIG) private readonly config: Config,
    @Inject(LOGGER) private readonly log: Logger,
    @Inject(BROKER_NAMES) private readonly names: BrokerNames,
    @Inject(SHUTDOWN_STATE) private readonly state: ShutdownState,
    @Inject(PurchaseConsumer) private readonly consumer: PurchaseConsumer,
    @Inject(WORKER_STATUS) private readonly status: Closeable,
    @Inject(RECONCILER) private readonly reconciler: Closeable,
    @Inject(BATCHER) private readonly batcher: PurchaseBatcher,
    @Inject(HEALTH_SERVER) private readonly health: Closeable,
    @Inject(REDIS) private readonly redis: RedisClient,
    @Inject(SQL) private readonly sql: SqlPool,
  ) {}

  onApplicationBootstrap(): void {
    const { config, names } = this;
    this.log.info(
      {
        event: 'worker.started',
        queue: names.queue,
        lanes: names.lanes.length,
        prefetch: config.WORKER_PREFETCH,
        batchSize: config.WORKER_BATCH_SIZE,
        batchWaitMs: config.WORKER_BATCH_WAIT_MS,
        healthPort: config.WORKER_METRICS_PORT,
        database: redactUrl(config.DATABASE_URL),
        redis: redactUrl(config.REDIS_URL),
        broker: brokerUrls(config).map(redactUrl),
      },
      `worker consuming ${names.queue}`,
    );
  }

  /** The runbook, in order; `closeBroker` closes the Nest context, whose RabbitMQ module closes the connection. */
  steps(closeBroker: () => Promise<void>): ShutdownStep[] {
    return [
      {
        name: 'stop-consuming',
        run: () => {
          this.state.intakeStopped = true;
          void this.status.close();
          return this.consumer.close();
        },
      },
      { name: 'stop-reconciler', run: this.reconciler.close },
      // Deliveries already here are decided; a batch stuck on a dead Postgres gives its messages back.
      {
        name: 'finish-in-flight',
        run: () => {
          this.state.stopping.abort();
          return this.batcher.close();
        },
      },
      // Every handled delivery's ack sent (a batch's one multiple-ack), on the channel that is about to close.
      { name: 'send-acks', run: this.consumer.drain },
      { name: 'close-broker', run: closeBroker },
      { name: 'close-health', run: this.health.close },
      { name: 'close-redis', run: this.redis.close },
      { name: 'close-postgres', run: this.sql.close },
    ];
  }
}
