import type { BrokerNames } from '@stampede/core/broker';
import type { Config } from '@stampede/core/config';
import type { Logger } from '@stampede/core/logger';
import type { WorkerMetrics } from '@stampede/core/metrics';
import type { PurchaseMessage } from '@stampede/core/purchases';
import type { Outcome } from './batch-processor.js';
import type { MicroBatcher } from './micro-batcher.js';

/** Injection token of what the consumer needs from outside Nest (explicit, so no decorator metadata is required). */
export const CONSUMER_DEPS = Symbol('CONSUMER_DEPS');

export interface ConsumerDeps {
  config: Config;
  log: Logger;
  names: BrokerNames;
  batcher: MicroBatcher<PurchaseMessage, Outcome>;
  /** Aborted at shutdown, to cut retry waits short. */
  stopping: AbortSignal;
  metrics?: WorkerMetrics;
}
