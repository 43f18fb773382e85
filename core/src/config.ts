import { z } from 'zod';

/** Reads an integer from an environment string; empty means "use the default". */
const int = (def: number, min = 0, max = Number.MAX_SAFE_INTEGER) =>
  z.preprocess(
    (v) => (v === '' || v === undefined ? undefined : Number(v)),
    z.number().int().min(min).max(max).default(def),
  );

const num = (def: number, min = 0, max = Number.MAX_VALUE) =>
  z.preprocess((v) => (v === '' || v === undefined ? undefined : Number(v)), z.number().min(min).max(max).default(def));

const bool = (def: boolean) =>
  z
    .preprocess(
      (v) => (v === '' || v === undefined ? undefined : v),
      z.enum(['true', 'false', '1', '0']).default(def ? 'true' : 'false'),
    )
    .transform((v) => v === 'true' || v === '1');

/** A comma-separated list of items; empty or unset is the empty list. */
const commaList = (item: z.ZodString) =>
  z
    .preprocess(
      (v) =>
        v === undefined || v === ''
          ? []
          : String(v)
              .split(',')
              .map((s) => s.trim()),
      z.array(item),
    )
    .default([]);

const optionalString = z.preprocess((v) => (v === '' ? undefined : v), z.string().min(1).optional());

/**
 * Every setting of every Stampede process, from environment variables.
 * All keys are defaulted to the local lab (Postgres, Redis and RabbitMQ on 127.0.0.1),
 * so a process started with no environment talks to the local services.
 */
export const configSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Pretty, colored logs for a human at a terminal; never the default, never in containers. */
  LOG_PRETTY: bool(false),
  /** Name of this process in logs and in X-Served-By (api-1, api-2, worker, …). */
  INSTANCE_NAME: z.string().min(1).default('api-1'),

  PORT: int(3000, 0, 65535),
  HOST: z.string().default('0.0.0.0'),
  /** An HTTP request (headers and body) must have arrived within this, in total, or it is answered 408. */
  HTTP_REQUEST_TIMEOUT_MS: int(10_000, 100),
  /** How long shutdown may take before the process exits anyway. */
  SHUTDOWN_TIMEOUT_MS: int(10_000, 100),

  DATABASE_URL: z.string().url().default('postgres://postgres@127.0.0.1:5432/test'),
  DATABASE_POOL_MAX: int(10, 1, 200),
  /** Statements slower than this fail instead of holding a connection forever. */
  DATABASE_STATEMENT_TIMEOUT_MS: int(5_000, 100),
  DATABASE_CONNECT_TIMEOUT_S: int(3, 1, 60),

  REDIS_URL: z.string().url().default('redis://127.0.0.1:6379'),
  /**
   * A Redis Cluster's seed nodes, `host:port,host:port,…`; when set, every process talks to
   * the cluster (ioredis' Cluster client) and REDIS_URL is not used. Empty: one Redis.
   */
  REDIS_CLUSTER_NODES: commaList(z.string().regex(/^[^:\s]+:\d{1,5}$/, 'host:port')),
  /** Prefix of every Redis key, so several labs or tests can share one Redis. */
  REDIS_KEY_PREFIX: z.string().default('stampede:'),
  /** A Redis command that takes longer is abandoned and the read goes to Postgres. */
  REDIS_COMMAND_TIMEOUT_MS: int(250, 10),
  REDIS_CONNECT_TIMEOUT_MS: int(1_000, 50),
  /** How often the backplane subscription is pinged; a failed ping reconnects and resubscribes. */
  BACKPLANE_HEARTBEAT_MS: int(1_000, 50, 60_000),

  AMQP_URL: z.string().url().default('amqp://guest:guest@127.0.0.1:5672'),
  /**
   * A RabbitMQ cluster's nodes, `amqp://…,amqp://…`; when set, every process connects to
   * one of them and, when that node is lost, to the next (see brokerUrls), and AMQP_URL is
   * not used. Empty: one broker, AMQP_URL.
   */
  AMQP_URLS: commaList(z.string().url()),
  /** Prefix of the exchange and queue names, so tests can run side by side. */
  AMQP_PREFIX: z.string().min(1).default('stampede'),
  /**
   * Decision lanes: quorum queues with a single active consumer each, a purchase routed to
   * lane hash(tier, bucket) mod AMQP_LANES (docs/architecture.md). 0: the one shared queue
   * alone. Every API replica and worker must agree on it.
   */
  AMQP_LANES: int(0, 0, 64),
  /** A publish not confirmed by the broker in this time is answered 503. */
  PUBLISH_CONFIRM_TIMEOUT_MS: int(2_000, 50),

  /** Fresh life of a cached availability answer (see docs/architecture.md for why it is short). */
  CACHE_TTL_MS: int(1_000, 1),
  /**
   * Fresh life of an answer in each replica's memory (L1), before Redis is asked again;
   * never longer than CACHE_TTL_MS; 0 turns the L1 off. The backplane updates it sooner.
   */
  CACHE_L1_TTL_MS: int(500, 0, 60_000),
  /** Events whose last answer a replica keeps in memory (the L1 and the fail-safe value); LRU. */
  CACHE_L1_MAX_ENTRIES: int(10_000, 1),
  /** How long a cached answer stays usable as a stale fallback when Postgres is down. */
  CACHE_STALE_TTL_MS: int(3_600_000, 1),
  /** Soft timeout: a slow Postgres read falls back to the stale cached value after this. */
  CACHE_SOFT_TIMEOUT_MS: int(300, 1),

  /** A replica reads an event it knows again, in the background, once its copy is this old. */
  CATALOG_TTL_MS: int(5_000, 1),
  /** Events a replica keeps in its catalog (least recently used evicted first). */
  CATALOG_MAX_EVENTS: int(10_000, 1),
  /** How long a replica remembers that an event id does not exist (0: not at all). */
  CATALOG_NEGATIVE_TTL_MS: int(2_000, 0, 60_000),
  /** Unknown event ids a replica remembers; kept apart from the events, so a flood of them evicts none. */
  CATALOG_MAX_UNKNOWN: int(10_000, 1),

  PURCHASE_MAX_QUANTITY: int(6, 1, 100),
  /** Tickets one buyer may hold per event, across purchases. */
  BUYER_LIMIT_PER_EVENT: int(6, 1, 1000),
  /** queued: admit, publish, answer 202. sync: decide in the request (the monolith baseline). */
  PURCHASE_MODE: z.enum(['queued', 'sync']).default('queued'),
  /** How long the admission records (idempotency keys, purchase status) live in Redis. */
  GATE_RECORD_TTL_S: int(86_400, 60),
  /**
   * How long a tier's gate stock count lives once nothing is held (every ticket it gave
   * out decided); a purchase after that primes it again from Postgres. Never while held.
   */
  GATE_STOCK_IDLE_TTL_S: int(86_400, 1),

  /**
   * HS256 secret of the waiting room's queue tokens and passes, the same on every replica
   * (docs/waiting-room.md). Unset: the waiting room cannot be turned on.
   */
  WAITING_ROOM_SECRET: z.preprocess((v) => (v === '' ? undefined : v), z.string().min(32).optional()),
  /** How long a released buyer's pass lets them buy; an unused one frees its slot then. */
  WAITING_ROOM_PASS_TTL_S: int(120, 5, 3_600),
  /** How long a queue token is good for (the longest wait). */
  WAITING_ROOM_TOKEN_TTL_S: int(21_600, 60),
  /** A buyer who has not polled for this long when their turn comes is skipped. */
  WAITING_ROOM_HEARTBEAT_S: int(30, 2, 3_600),
  /** What the position answer tells a client to wait before polling again (and its cache life). */
  WAITING_ROOM_POLL_S: int(5, 1, 60),

  /** Bearer token of the admin and chaos endpoints; they do not exist when unset. */
  ADMIN_TOKEN: optionalString,
  CHAOS_ENABLED: bool(false),

  /**
   * `i/W`: this worker is the i-th of W (0 ≤ i < W) and subscribes at once to the lanes
   * j with j mod W = i, and to the other lanes only WORKER_STANDBY_DELAY_MS later, as
   * their standby. A lane delivers to its first subscriber (single-active-consumer), so W
   * workers started together decide the lanes between them, and a standby takes over the
   * lanes of one that stops. Unset: every lane at once (the first worker takes them all).
   */
  WORKER_LANE_SHARE: z.preprocess(
    (v) => (v === '' ? undefined : v),
    z
      .string()
      .regex(/^\d{1,2}\/\d{1,2}$/, 'WORKER_LANE_SHARE is i/W, e.g. 0/3')
      .transform((v) => {
        const [index, of] = v.split('/').map(Number) as [number, number];
        return { index, of };
      })
      .refine((s) => s.of >= 1 && s.index < s.of, 'WORKER_LANE_SHARE needs 0 ≤ i < W')
      .optional(),
  ),
  WORKER_STANDBY_DELAY_MS: int(5_000, 0, 600_000),
  WORKER_PREFETCH: int(1_000, 1, 65_535),
  WORKER_BATCH_SIZE: int(500, 1, 10_000),
  WORKER_BATCH_WAIT_MS: int(5, 0, 1_000),
  /** Deliveries of one message before it is dead-lettered as poison. */
  WORKER_MAX_ATTEMPTS: int(5, 1, 100),
  WORKER_RETRY_BASE_MS: int(200, 1),
  WORKER_RETRY_MAX_MS: int(10_000, 1),
  /** A batch decision not answered by Postgres in this time is abandoned and retried (see worker/src/deadline.ts). Must exceed a batch's simulated payment time. */
  WORKER_DECIDE_TIMEOUT_MS: int(20_000, 100),
  WORKER_METRICS_PORT: int(9100, 0, 65535),
  /**
   * Address of the worker's health and metrics port: loopback by default, like the lab's
   * replicas; 0.0.0.0 where another host or container scrapes it.
   */
  WORKER_METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  /** How often the gate is reconciled with Postgres when the queue is idle. */
  RECONCILE_INTERVAL_MS: int(5_000, 100),
  /**
   * A gate hold older than this, found while the queue is idle and with no decision in
   * Postgres, never reached the queue: the worker publishes it again from the gate's record
   * (and rejects it `not_processed` if it is still undecided this long after). Far above
   * the longest a replica takes from admission to confirm (PUBLISH_CONFIRM_TIMEOUT_MS).
   */
  GATE_HOLD_GRACE_MS: int(30_000, 100),
  PAYMENT_LATENCY_MS: int(0, 0, 60_000),
  PAYMENT_FAILURE_RATE: num(0, 0, 1),
});

export type Config = z.infer<typeof configSchema>;

/** The broker URLs a process connects to, in order: the cluster's nodes, or AMQP_URL alone. */
export function brokerUrls(config: Pick<Config, 'AMQP_URL' | 'AMQP_URLS'>): string[] {
  return config.AMQP_URLS.length > 0 ? [...config.AMQP_URLS] : [config.AMQP_URL];
}

/** Raised at boot when the environment does not make a valid config. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/**
 * Parses the environment once, at boot. Fails fast with one readable line per bad key.
 * @param env the variables to read, `process.env` by default
 * @param overrides typed values that win over the environment (tests, lab tool)
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<Config> = {}): Config {
  const result = configSchema.safeParse(env);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  return Object.freeze({ ...result.data, ...overrides });
}
