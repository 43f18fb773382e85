import type { BrokerNames } from '@stampede/core/broker';
import type { Config } from '@stampede/core/config';
import type { SqlPool } from '@stampede/core/db';
import type { Logger } from '@stampede/core/logger';
import type { WorkerMetrics } from '@stampede/core/metrics';
import type { PurchaseMessage } from '@stampede/core/purchases';
import type { RedisClient, RedisKeys } from '@stampede/core/redis';
import type { Outcome } from './batch-processor.js';
import type { LaneBatchers } from './lane-batchers.js';

/**
 * Injection tokens of the worker's providers (explicit, so no decorator metadata is
 * required). What each one holds is said by the factory that provides it
 * (worker-providers.ts).
 */
export const CONFIG = Symbol('CONFIG');
export const LOGGER = Symbol('LOGGER');
export const SQL = Symbol('SQL');
export const REDIS = Symbol('REDIS');
export const REDIS_KEYS = Symbol('REDIS_KEYS');
export const BROKER_NAMES = Symbol('BROKER_NAMES');
export const METRICS_REGISTRY = Symbol('METRICS_REGISTRY');
export const METRICS = Symbol('METRICS');
export const BACKPLANE = Symbol('BACKPLANE');
export const SHUTDOWN_STATE = Symbol('SHUTDOWN_STATE');
export const BATCH_PROCESSOR = Symbol('BATCH_PROCESSOR');
export const BATCHER = Symbol('BATCHER');
export const QUEUE_DEPTH = Symbol('QUEUE_DEPTH');
export const RECONCILER = Symbol('RECONCILER');
export const HEALTH_SERVER = Symbol('HEALTH_SERVER');
export const WORKER_STATUS = Symbol('WORKER_STATUS');
export const CONSUMER_DEPS = Symbol('CONSUMER_DEPS');
export const CLIENTS = Symbol('CLIENTS');
export const GATE = Symbol('GATE');

/** What the process hands to Nest: parsed once in main, before anything else runs. */
export interface WorkerContext {
  config: Config;
  log: Logger;
}

/** The process's logger and clients, as the batch processor and the reconciler both take them. */
export interface WorkerClients {
  log: Logger;
  sql: SqlPool;
  redis: RedisClient;
  keys: RedisKeys;
}

/** How far the shutdown has come: readiness reads the first, retry waits are cut by the second. */
export interface ShutdownState {
  intakeStopped: boolean;
  readonly stopping: AbortController;
}

export type PurchaseBatcher = LaneBatchers<PurchaseMessage, Outcome>;

/** Ready messages in the purchase queue (a passive check); throws when the broker cannot say. */
export type QueueDepth = () => Promise<number>;

export interface ConsumerDeps {
  config: Config;
  log: Logger;
  names: BrokerNames;
  batcher: PurchaseBatcher;
  /** Aborted at shutdown, to cut retry waits short. */
  stopping: AbortSignal;
  metrics?: WorkerMetrics;
}
