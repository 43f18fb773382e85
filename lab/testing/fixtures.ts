import { randomUUID } from 'node:crypto';
import { type Config, loadConfig } from '@stampede/core/config';
import { createSql, type Sql } from '@stampede/core/db';
import { createBuckets } from '@stampede/core/events';
import { createLogger, type Logger } from '@stampede/core/logger';

/**
 * The Redis key prefix every test of this run shares (`test:<run>:`), set by the global
 * setup, which deletes every key under it when the run ends.
 */
export function testRunKeyPrefix(): string {
  return `test:${process.env.STAMPEDE_TEST_RUN ?? 'adhoc'}:`;
}

/**
 * A config for one test: the local services, the run's own database (DATABASE_URL, set by
 * the global setup), with key and queue names no other test uses.
 */
export function testConfig(overrides: Partial<Config> = {}): Config {
  const tag = randomUUID().slice(0, 8);
  return loadConfig(
    { DATABASE_URL: process.env.DATABASE_URL },
    {
      LOG_LEVEL: (process.env.TEST_LOG_LEVEL as Config['LOG_LEVEL']) ?? 'silent',
      REDIS_KEY_PREFIX: `${testRunKeyPrefix()}${tag}:`,
      AMQP_PREFIX: `test.${tag}`,
      INSTANCE_NAME: `test-${tag}`,
      ...overrides,
    },
  );
}

/** The run's database reached on another port of 127.0.0.1: through a proxy a test controls. */
export function testDatabaseUrlVia(port: number): string {
  const url = new URL(testConfig().DATABASE_URL);
  url.hostname = '127.0.0.1';
  url.port = String(port);
  return url.toString();
}

export function testLogger(config: Config = testConfig()): Logger {
  return createLogger(config, 'test');
}

export function testSql(config: Config = testConfig(), max = 5): Sql {
  return createSql(config, { max, applicationName: 'stampede-test' });
}

export interface TestTier {
  id: string;
  /** Its event's id (what places its keys in the gate). */
  eventId: string;
  name: string;
  capacity: number;
  /** Buckets its stock is split into (absent or 1: not split). */
  buckets?: number;
}

export interface TestEvent {
  id: string;
  tiers: TestTier[];
}

/**
 * Creates an event of its own for one test, on sale now, with the given tier capacities.
 * Ids are random, so tests run in parallel and again without meeting each other's rows.
 */
export async function createTestEvent(
  sql: Sql,
  capacities: number[] = [100],
  options: { saleOpensAt?: Date; saleClosesAt?: Date | null; buckets?: number[] } = {},
): Promise<TestEvent> {
  const id = randomUUID();
  const opens = options.saleOpensAt ?? new Date(Date.now() - 60_000);
  await sql`insert into events (id, name, venue, starts_at, sale_opens_at, sale_closes_at)
    values (${id}, ${`Test event ${id.slice(0, 8)}`}, 'Test hall', now() + interval '7 days', ${opens}, ${options.saleClosesAt ?? null})`;
  const tiers = capacities.map((capacity, i) => ({
    id: randomUUID(),
    eventId: id,
    name: `Tier ${i + 1}`,
    capacity,
    buckets: options.buckets?.[i] ?? 1,
  }));
  for (const [i, t] of tiers.entries()) {
    await sql.begin(async (tx) => {
      await tx`insert into tiers (id, event_id, name, price_cents, capacity, buckets)
        values (${t.id}, ${id}, ${t.name}, ${1000 * (i + 1)}, ${t.capacity}, ${t.buckets})`;
      if (t.buckets > 1) await createBuckets(tx, t.id, t.capacity, t.buckets);
    });
  }
  return { id, tiers };
}

/** An event of one tier that exists only in the test (no rows): for tests of the gate alone. */
export function gateOnlyEvent(capacity: number, buckets?: number): TestEvent {
  const id = randomUUID();
  return { id, tiers: [{ id: randomUUID(), eventId: id, name: 'T', capacity, ...(buckets ? { buckets } : {}) }] };
}

/** Polls `check` until it returns a truthy value or the time is up. */
export async function waitFor<T>(
  check: () => Promise<T> | T,
  options: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + (options.timeoutMs ?? 15_000);
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${options.what ?? 'condition'}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 50));
  }
}
