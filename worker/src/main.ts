import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { loadConfig } from '@stampede/core/config';
import { handleProcessLifecycle } from '@stampede/core/lifecycle';
import { createLogger } from '@stampede/core/logger';
import { PinoNestLogger } from './nest-logger.js';
import { WorkerLifecycle } from './worker-lifecycle.js';
import { WorkerModule } from './worker-module.js';

/**
 * Boots the worker: the config and the logger, the process lifecycle, then the Nest
 * context, which makes every collaborator (worker-providers.ts); and hands the
 * lifecycle the worker's shutdown runbook.
 */
async function main(): Promise<void> {
  const config = loadConfig(process.env, process.env.INSTANCE_NAME ? {} : { INSTANCE_NAME: 'worker' });
  const log = createLogger(config, 'worker');
  const lifecycle = handleProcessLifecycle(log, { timeoutMs: config.SHUTDOWN_TIMEOUT_MS });
  const app = await NestFactory.createApplicationContext(WorkerModule.forRoot({ config, log }), {
    logger: new PinoNestLogger(log.child({ scope: 'nest' })),
    abortOnError: false,
  });
  lifecycle.closeWith(app.get(WorkerLifecycle).steps(() => app.close()));
}

main().catch((err: unknown) => {
  process.stderr.write(`worker failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
