import type { Server } from 'node:http';
import { serve } from '@hono/node-server';
import { brokerNames } from '@stampede/core/broker';
import { loadConfig } from '@stampede/core/config';
import { createGate } from '@stampede/core/gate';
import { closeServer, handleProcessLifecycle } from '@stampede/core/lifecycle';
import { createLogger } from '@stampede/core/logger';
import { redisKeys } from '@stampede/core/redis';
import { Redis } from 'ioredis';
import { openConfirmPublisher } from './confirm-publisher.js';
import { buildReferenceApp } from './reference-app.js';

/**
 * One replica of the benchmark's minimal reference (reference-app.ts), started by the
 * benchmark like an API replica: the same config variables, its own key prefix and queues.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const lifecycle = handleProcessLifecycle(createLogger(config, 'reference'), {
    timeoutMs: config.SHUTDOWN_TIMEOUT_MS,
  });
  // The same client settings that matter for speed as Stampede's: auto-pipelining.
  const redis = new Redis(config.REDIS_URL, { enableAutoPipelining: true, maxRetriesPerRequest: 1 });
  // With auto-pipelining the gate's script must be defined before the first command (ioredis#1931).
  createGate(redis, redisKeys(config.REDIS_KEY_PREFIX));
  const publisher = await openConfirmPublisher(
    config.AMQP_URL,
    brokerNames(config.AMQP_PREFIX),
    `${config.INSTANCE_NAME}-publisher`,
  );
  const app = buildReferenceApp({
    redis,
    keys: redisKeys(config.REDIS_KEY_PREFIX),
    publisher,
    instance: config.INSTANCE_NAME,
    buyerLimit: config.BUYER_LIMIT_PER_EVENT,
    ttlSeconds: config.GATE_RECORD_TTL_S,
  });
  const server = serve({ fetch: app.fetch, port: config.PORT, hostname: config.HOST });
  lifecycle.closeWith([
    { name: 'stop-accepting-and-drain', run: closeServer(server as Server) },
    { name: 'close-broker', run: publisher.close },
    { name: 'close-redis', run: () => redis.disconnect() },
  ]);
}

main().catch((err: unknown) => {
  process.stderr.write(`reference replica failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
