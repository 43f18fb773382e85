import { subscribeBackplane } from '@stampede/core/backplane';
import { loadConfig } from '@stampede/core/config';
import { createSql } from '@stampede/core/db';
import { handleProcessLifecycle } from '@stampede/core/lifecycle';
import { createLogger, redactUrl } from '@stampede/core/logger';
import { createRedis } from '@stampede/core/redis';
import { buildApp } from './app.js';
import { createPurchasePublisher } from './broker/purchase-publisher.js';
import { createApiServer } from './http/node-server.js';

/** Boots one API replica: config, clients, app, port; and the ordered shutdown. */
async function main(): Promise<void> {
  const config = loadConfig();
  const log = createLogger(config, 'api');
  const lifecycle = handleProcessLifecycle(log, { timeoutMs: config.SHUTDOWN_TIMEOUT_MS });
  const sql = createSql(config, { applicationName: config.INSTANCE_NAME });
  const redis = createRedis(config, log);
  const publisher = createPurchasePublisher(config, log);
  const backplane = subscribeBackplane(config, log);
  let shuttingDown = false;

  const app = buildApp({ config, log, sql, redis, publisher, backplane, isShuttingDown: () => shuttingDown });
  const server = createApiServer({
    fetch: app.fetch,
    log,
    instanceName: config.INSTANCE_NAME,
    requestTimeoutMs: config.HTTP_REQUEST_TIMEOUT_MS,
  });

  lifecycle.closeWith([
    {
      name: 'mark-not-ready',
      run: () => {
        shuttingDown = true;
      },
    },
    { name: 'stop-accepting-and-drain', run: server.close },
    { name: 'close-backplane', run: backplane.close },
    { name: 'close-broker', run: publisher.close },
    { name: 'close-redis', run: redis.close },
    { name: 'close-postgres', run: sql.close },
  ]);

  const port = await server.listen(config.PORT, config.HOST);
  log.info(
    { event: 'api.listening', port, database: redactUrl(config.DATABASE_URL), redis: redactUrl(config.REDIS_URL) },
    `listening on ${port}`,
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`api failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
