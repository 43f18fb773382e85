import { RabbitMQModule } from '@golevelup/nestjs-rabbitmq';
import { type DynamicModule, Module } from '@nestjs/common';
import { brokerUrls, type Config } from '@stampede/core/config';
import type { Logger } from '@stampede/core/logger';
import { PinoNestLogger } from './nest-logger.js';
import { CONFIG, LOGGER, type WorkerContext } from './tokens.js';
import { WorkerLifecycle } from './worker-lifecycle.js';
import { workerProviders } from './worker-providers.js';

/** The process's config and logger as providers, for the worker's module and the RabbitMQ module's options alike. */
@Module({})
class WorkerContextModule {
  static forRoot(context: WorkerContext): DynamicModule {
    return {
      module: WorkerContextModule,
      providers: [
        { provide: CONFIG, useValue: context.config },
        { provide: LOGGER, useValue: context.log },
      ],
      exports: [CONFIG, LOGGER],
    };
  }
}

/**
 * The worker's Nest module, as @golevelup/nestjs-rabbitmq documents it: the RabbitMQ
 * connection (over amqp-connection-manager, so it reconnects by itself) configured by
 * `forRootAsync` from the typed config, and every collaborator provided by its factory
 * (worker-providers.ts), the purchase consumer among them.
 */
@Module({})
export class WorkerModule {
  static forRoot(context: WorkerContext): DynamicModule {
    const contextModule = WorkerContextModule.forRoot(context);
    return {
      module: WorkerModule,
      imports: [
        contextModule,
        RabbitMQModule.forRootAsync({
          imports: [contextModule],
          inject: [CONFIG, LOGGER],
          useFactory: (config: Config, log: Logger) => ({
            // A cluster's nodes: the connection manager moves to the next when one is lost.
            uri: brokerUrls(config),
            prefetchCount: config.WORKER_PREFETCH,
            // Boot without the broker and start consuming when it appears.
            connectionInitOptions: { wait: false },
            connectionManagerOptions: {
              heartbeatIntervalInSeconds: 5,
              reconnectTimeInSeconds: 1,
              connectionOptions: { clientProperties: { connection_name: config.INSTANCE_NAME } },
            },
            enableDirectReplyTo: false,
            logger: new PinoNestLogger(log.child({ scope: 'amqp' })),
          }),
        }),
      ],
      providers: [...workerProviders, WorkerLifecycle],
    };
  }
}
