import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { assertTopology, type BrokerNames, brokerNames } from '@stampede/core/broker';
import type { Config } from '@stampede/core/config';
import { type AdmitOutcome, createGate, type Gate } from '@stampede/core/gate';
import { type PurchaseMessage, requestFingerprint } from '@stampede/core/purchases';
import { redisKeys } from '@stampede/core/redis';
import { deleteTestTopology, freePort, type NodeProcess, startNodeProcess, testConfig } from '@stampede/lab/testing';
import amqp from 'amqplib';
import { Redis } from 'ioredis';
import { afterEach, beforeAll } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Compiles the worker (and core) so the test runs the real `node worker/dist/main.js`.
 * tsc emits despite type errors; errors outside worker/ (another file of the shared tree
 * being edited) are reported, not fatal, while an error in worker/ fails the run.
 */
export function buildWorker(): void {
  try {
    execFileSync('npx', ['tsc', '-b', 'worker'], { cwd: ROOT, stdio: 'pipe' });
  } catch (err) {
    const output = String((err as { stdout?: Buffer }).stdout ?? err);
    if (/^worker\//m.test(output)) throw new Error(`worker does not compile:\n${output}`);
    process.stderr.write(`[worker tests] tsc -b reported errors outside worker/:\n${output}\n`);
  }
}

export type WorkerProcess = NodeProcess & { port: number };

/** Starts the worker as its own process with the test's names and returns once it consumes. */
export async function startWorker(config: Config, env: Record<string, string | number> = {}): Promise<WorkerProcess> {
  const port = await freePort();
  const worker = startNodeProcess(['worker/dist/main.js'], {
    PATH: process.env.PATH,
    NODE_ENV: 'test',
    LOG_LEVEL: 'info',
    INSTANCE_NAME: config.INSTANCE_NAME,
    DATABASE_URL: config.DATABASE_URL,
    AMQP_PREFIX: config.AMQP_PREFIX,
    REDIS_KEY_PREFIX: config.REDIS_KEY_PREFIX,
    WORKER_METRICS_PORT: String(port),
    HOST: '127.0.0.1',
    ...Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v)])),
  });
  try {
    await worker.waitForLog((l) => l.event === 'consumer.started', 'consumer.started');
  } catch (err) {
    await worker.kill('SIGKILL');
    throw err;
  }
  return Object.assign(worker, { port });
}

/** The test's side of the broker: its topology, a confirm channel to publish, and a look into the DLQ. */
export async function brokerFixture(config: Config) {
  const names: BrokerNames = brokerNames(config.AMQP_PREFIX);
  const connection = await amqp.connect(config.AMQP_URL);
  const channel = await connection.createConfirmChannel();
  await assertTopology(channel, names);
  return {
    names,
    /** Publishes like the API does (persistent, JSON, messageId, the request id as correlationId) and waits for the confirms. */
    async publish(messages: (PurchaseMessage | Buffer | Record<string, unknown>)[]) {
      for (const m of messages) {
        const body = Buffer.isBuffer(m) ? m : Buffer.from(JSON.stringify(m));
        const purchaseId = !Buffer.isBuffer(m) && typeof m.purchaseId === 'string' ? m.purchaseId : undefined;
        channel.publish(names.exchange, names.routingKey, body, {
          persistent: true,
          contentType: 'application/json',
          messageId: purchaseId,
          correlationId: `test-${purchaseId ?? 'raw'}`,
        });
      }
      await channel.waitForConfirms();
    },
    async depth(queue: string): Promise<number> {
      return (await channel.checkQueue(queue)).messageCount;
    },
    /** Takes every message now in the DLQ (acked: the test owns that queue). */
    async drainDeadLetters(): Promise<amqp.GetMessage[]> {
      const out: amqp.GetMessage[] = [];
      for (let m = await channel.get(names.deadLetterQueue); m; m = await channel.get(names.deadLetterQueue)) {
        out.push(m);
        channel.ack(m);
      }
      return out;
    },
    /** Deletes the topology on a connection of its own: the test's channel may be closed by an error by now. */
    async close() {
      await deleteTestTopology(config.AMQP_PREFIX);
      await connection.close().catch(() => {});
    },
  };
}

/** Admits one message through the gate as the API would (limit 6 per buyer), for a tier of `buckets` buckets. */
export function admitOne(gate: Gate, m: PurchaseMessage, buckets = 1): Promise<AdmitOutcome> {
  return gate.admit({
    ...m,
    bucket: m.bucket ?? 0,
    buckets,
    fingerprint: requestFingerprint(m),
    buyerLimit: 6,
    ttlSeconds: 600,
    requestId: m.requestId!,
    acceptedBy: 'test',
  });
}

/** Admits each message through the gate in turn; returns each outcome's kind. */
export async function admitThroughGate(gate: Gate, messages: PurchaseMessage[]): Promise<string[]> {
  const kinds: string[] = [];
  for (const m of messages) kinds.push((await admitOne(gate, m)).kind);
  return kinds;
}

/** Deletes every Redis key under the test's own prefix (never anything else). */
export async function deleteTestKeys(config: Config): Promise<void> {
  const redis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${config.REDIS_KEY_PREFIX}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/**
 * Builds the worker once per file and returns a factory of testbeds: each one a test's
 * own prefixes, broker topology, Redis client and worker processes, all torn down
 * (workers killed, queues and keys deleted) after the test.
 */
export function useWorkerTestbeds() {
  const cleanups: (() => Promise<unknown>)[] = [];
  beforeAll(() => buildWorker(), 120_000);
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
  });
  return async function testbed(overrides: Partial<Config> = {}) {
    const config = testConfig(overrides);
    const broker = await brokerFixture(config);
    const redis = new Redis(config.REDIS_URL);
    const keys = redisKeys(config.REDIS_KEY_PREFIX);
    cleanups.push(
      () => broker.close(),
      () => deleteTestKeys(config),
      async () => redis.disconnect(),
    );
    return {
      config,
      broker,
      redis,
      keys,
      gate: createGate(redis, keys),
      /** Registers more teardown (proxies and the like). */
      onCleanup: (fn: () => Promise<unknown>) => {
        cleanups.push(fn);
      },
      async start(env: Record<string, string | number> = {}) {
        const worker = await startWorker(config, env);
        cleanups.push(() => worker.kill('SIGKILL'));
        return worker;
      },
    };
  };
}
