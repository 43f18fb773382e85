import type { Config } from '@stampede/core/config';
import type { Sql } from '@stampede/core/db';
import { redisKeys } from '@stampede/core/redis';
import { Redis } from 'ioredis';
import { openBrokerProbe } from '../reconcile/broker-facts.js';
import { reconcile } from '../reconcile/reconcile.js';
import { waitForDrain } from '../reconcile/wait-for-drain.js';
import type { ReconcileFigures } from './bench-results.js';

/** Waits until the lab's queue is empty and these accepted ids all have a row. */
export async function waitForBacklog(
  sql: Sql,
  config: Config,
  acceptedIds: string[],
  timeoutMs = 120_000,
): Promise<void> {
  const probe = await openBrokerProbe({ url: config.AMQP_URL, prefix: config.AMQP_PREFIX, lanes: config.AMQP_LANES });
  try {
    const result = await waitForDrain(sql, probe, acceptedIds, { waitForDrainMs: timeoutMs, pollIntervalMs: 100 });
    if (result.notFinal.length > 0 || (result.depths?.queued ?? 0) > 0) {
      throw new Error(
        `the backlog did not drain in ${timeoutMs / 1000} s: ${result.notFinal.length} accepted purchases undecided, ${result.depths?.queued ?? '?'} queued`,
      );
    }
  } finally {
    await probe.close();
  }
}

/**
 * The reconciliation of each purchase event of the run, with the ids the run got 202
 * (or 201) for: oversold, lost, duplicated and undersold must all be 0.
 */
export async function reconcileEvents(
  sql: Sql,
  config: Config,
  events: { phase: string; eventId: string; acceptedIds: string[] }[],
): Promise<ReconcileFigures[]> {
  const redis = new Redis(config.REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  redis.on('error', () => {});
  await redis.connect();
  try {
    const out: ReconcileFigures[] = [];
    for (const e of events) {
      const report = await reconcile(
        {
          sql,
          redis,
          keys: redisKeys(config.REDIS_KEY_PREFIX),
          broker: { url: config.AMQP_URL, prefix: config.AMQP_PREFIX, lanes: config.AMQP_LANES },
        },
        { eventId: e.eventId, acceptedIds: e.acceptedIds, waitForDrainMs: 120_000 },
      );
      out.push({
        phase: e.phase,
        eventId: e.eventId,
        accepted: e.acceptedIds.length,
        confirmed: report.confirmed,
        rejected: report.rejected,
        oversold: report.oversold,
        lost: report.lost,
        duplicated: report.duplicated,
        undersold: report.undersold,
        pass: report.verdict.pass,
        failures: report.verdict.failures,
      });
    }
    return out;
  } finally {
    redis.disconnect();
  }
}
