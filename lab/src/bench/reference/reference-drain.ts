import { brokerNames } from '@stampede/core/broker';
import { configSchema } from '@stampede/core/config';
import { createSql, type Sql } from '@stampede/core/db';
import { handleProcessLifecycle } from '@stampede/core/lifecycle';
import { createLogger } from '@stampede/core/logger';
import type { PurchaseMessage } from '@stampede/core/purchases';
import amqplib, { type ConsumeMessage } from 'amqplib';
import { z } from 'zod';

/** The drain's settings: Stampede's own (prefetch, batch size and wait) and the schema of its tables. */
const drainConfigSchema = configSchema.extend({
  REFERENCE_SCHEMA: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/),
});

/**
 * One batch in one statement: the rows inserted with a single `unnest`, and the tier's
 * sold count raised by what was really inserted (a redelivered key is skipped), in the
 * reference's tables of the same shape as Stampede's (reference-stack.ts). One statement
 * commits on its own, with Postgres' settings untouched (synchronous_commit on).
 */
async function insertBatch(sql: Sql, schema: string, messages: PurchaseMessage[]): Promise<void> {
  const col = <K extends keyof PurchaseMessage>(k: K) => messages.map((m) => m[k] ?? null) as string[];
  await sql`
    with ins as (
      insert into ${sql(`${schema}.purchases`)}
        (id, idempotency_key, event_id, tier_id, buyer_id, quantity, status, request_id, accepted_at)
      select id, k, e, t, b, q, 'confirmed', r, a from unnest(
        ${col('purchaseId')}::uuid[], ${col('idempotencyKey')}::text[], ${col('eventId')}::uuid[],
        ${col('tierId')}::uuid[], ${col('buyerId')}::text[], ${col('quantity')}::int[],
        ${col('requestId')}::text[], ${col('acceptedAt')}::timestamptz[]) as u(id, k, e, t, b, q, r, a)
      on conflict (idempotency_key) do nothing
      returning tier_id, quantity
    )
    update ${sql(`${schema}.tiers`)} t set sold = t.sold + d.delta
    from (select tier_id, sum(quantity)::int as delta from ins group by tier_id) d
    where t.id = d.tier_id`;
}

/**
 * The benchmark's reference drain: a consumer of the reference's quorum queue with
 * Stampede's prefetch, batch size and batch wait, one batch in flight at a time; each
 * batch is inserted in one statement and acked (one multiple-ack) after its commit.
 * Nothing else: no decision, no gate settle, no logs per purchase.
 */
async function main(): Promise<void> {
  const config = drainConfigSchema.parse(process.env);
  const lifecycle = handleProcessLifecycle(createLogger(config, 'reference-drain'), {
    timeoutMs: config.SHUTDOWN_TIMEOUT_MS,
  });
  const names = brokerNames(config.AMQP_PREFIX);
  const sql = createSql(config, { max: 2, applicationName: `${config.INSTANCE_NAME}` });
  const connection = await amqplib.connect(config.AMQP_URL, {
    clientProperties: { connection_name: config.INSTANCE_NAME },
  });
  const channel = await connection.createChannel();
  await channel.prefetch(config.WORKER_PREFETCH);

  const waiting: ConsumeMessage[] = [];
  let writing: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;
  const writeNext = async () => {
    const batch = waiting.splice(0, config.WORKER_BATCH_SIZE);
    try {
      await insertBatch(
        sql,
        config.REFERENCE_SCHEMA,
        batch.map((m) => JSON.parse(m.content.toString()) as PurchaseMessage),
      );
      channel.ack(batch.at(-1)!, true);
    } catch (err) {
      process.stderr.write(`reference drain: batch failed, requeued: ${(err as Error).message}\n`);
      channel.nack(batch.at(-1)!, true, true);
    }
  };
  const schedule = () => {
    if (writing || waiting.length === 0) return;
    if (waiting.length < config.WORKER_BATCH_SIZE) {
      timer ??= setTimeout(() => {
        timer = undefined;
        flush();
      }, config.WORKER_BATCH_WAIT_MS);
      return;
    }
    flush();
  };
  const flush = () => {
    if (writing || waiting.length === 0) return;
    clearTimeout(timer);
    timer = undefined;
    writing = writeNext().finally(() => {
      writing = undefined;
      schedule();
    });
  };
  const { consumerTag } = await channel.consume(names.queue, (m) => {
    if (!m) return;
    waiting.push(m);
    schedule();
  });

  lifecycle.closeWith([
    { name: 'stop-consuming', run: () => channel.cancel(consumerTag).catch(() => undefined) },
    {
      name: 'finish-in-flight',
      run: () => {
        flush();
        return writing;
      },
    },
    {
      name: 'close-broker',
      run: async () => {
        await channel.close().catch(() => undefined);
        await connection.close().catch(() => undefined);
      },
    },
    { name: 'close-postgres', run: sql.close },
  ]);
}

main().catch((err: unknown) => {
  process.stderr.write(`reference drain failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
