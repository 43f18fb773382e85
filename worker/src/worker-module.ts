import { RabbitMQModule } from '@golevelup/nestjs-rabbitmq';
import { type DynamicModule, Module } from '@nestjs/common';
import { PinoNestLogger } from './nest-logger.js';
import { PurchaseConsumer } from './purchase-consumer.js';
import { CONSUMER_DEPS, type ConsumerDeps } from './tokens.js';

/**
 * The worker's Nest module: the RabbitMQ connection (golevelup, over
 * amqp-connection-manager, so it reconnects by itself) and the purchase consumer.
 */
@Module({})
export class WorkerModule {
  static register(deps: ConsumerDeps): DynamicModule {
    const { config } = deps;
    return {
      module: WorkerModule,
      imports: [
        RabbitMQModule.forRoot({
          uri: config.AMQP_URL,
          prefetchCount: config.WORKER_PREFETCH,
          // Boot without the broker and start consuming when it appears.
          connectionInitOptions: { wait: false },
          connectionManagerOptions: {
            heartbeatIntervalInSeconds: 5,
            reconnectTimeInSeconds: 1,
            connectionOptions: { clientProperties: { connection_name: config.INSTANCE_NAME } },
          },
          enableDirectReplyTo: false,
          logger: new PinoNestLogger(deps.log.child({ scope: 'amqp' })),
        }),
      ],
      providers: [{ provide: CONSUMER_DEPS, useValue: deps }, PurchaseConsumer],
    };
  }
}
