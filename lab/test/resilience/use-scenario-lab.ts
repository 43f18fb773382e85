import { randomUUID } from 'node:crypto';
import { createSql, type Sql } from '@stampede/core/db';
import { afterAll, beforeAll, expect } from 'vitest';
import { type RunOptions, runScenario } from '../../src/chaos/run-scenario.js';
import {
  type LabTarget,
  type ScenarioLab,
  type ScenarioLabOptions,
  startScenarioLab,
} from '../../src/chaos/scenario-lab.js';
import type { Scenario, ScenarioResult } from '../../src/chaos/scenario-types.js';
import { formatVerdict } from '../../src/chaos/verdict.js';

/** Short phases and a light load: enough to see each fault, cheap on a 2-core CI runner. */
export const QUICK: RunOptions = {
  warmupMs: 2_000,
  faultMs: 3_000,
  recoveryMs: 2_000,
  purchasesPerSecond: 40,
  readsPerSecond: 40,
  drainWaitMs: 60_000,
};

/**
 * One throwaway lab for a test file (started before its tests, torn down after, with its
 * private servers, queues and keys), and a Postgres client on the lab's database.
 */
export function useScenarioLab(
  options: Omit<ScenarioLabOptions, 'dir' | 'onProgress'>,
  startTimeoutMs = 120_000,
): { lab: ScenarioLab; sql: Sql } {
  const ctx = {} as { lab: ScenarioLab; sql: Sql };
  beforeAll(async () => {
    ctx.lab = await startScenarioLab(options);
    ctx.sql = createSql(ctx.lab.target.config, { max: 2 });
  }, startTimeoutMs);
  afterAll(async () => {
    await ctx.sql?.end({ timeout: 1 });
    await ctx.lab?.close();
  }, 60_000);
  return ctx;
}

/** Sends `count` purchases of one ticket of `tierId` through the lab's front door, each must be 202; their purchase ids. */
export async function acceptPurchases(base: string, eventId: string, tierId: string, count: number): Promise<string[]> {
  const accepted: string[] = [];
  for (let i = 0; i < count; i += 1) {
    const res = await fetch(`${base}/events/${eventId}/purchases`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': randomUUID() },
      body: JSON.stringify({ tierId, quantity: 1, buyerId: `buyer-${randomUUID().slice(0, 8)}` }),
    });
    expect(res.status).toBe(202);
    accepted.push(((await res.json()) as { purchaseId: string }).purchaseId);
  }
  return accepted;
}

/** Runs a scenario; its progress lines and then its facts go to stdout when CHAOS_TEST_VERBOSE is set. */
export async function runQuick(
  scenario: Scenario,
  target: LabTarget,
  options: RunOptions = {},
): Promise<ScenarioResult> {
  const verbose = Boolean(process.env.CHAOS_TEST_VERBOSE);
  const onLine = (l: string) => {
    process.stdout.write(`${l}\n`);
  };
  const result = await runScenario(scenario, target, { ...QUICK, ...options, ...(verbose ? { onLine } : {}) });
  if (verbose) onLine(JSON.stringify(result.facts));
  return result;
}

/** Every check of the verdict passed; on failure the whole verdict is the message. */
export function expectPass(result: ScenarioResult): void {
  expect(
    result.checks.filter((c) => !c.ok).map((c) => c.text),
    formatVerdict(result),
  ).toEqual([]);
  expect(result.pass).toBe(true);
}

/** What Postgres says of a run's event, independently of the reconciliation. */
export async function postgresOutcome(sql: Sql, result: ScenarioResult) {
  const rows = await sql<{ status: string; n: number }[]>`
    select status, count(*)::int as n from purchases where event_id = ${result.eventId} group by status`;
  const [ids] = await sql<{ decided: number; rows: number }[]>`
    select count(distinct id)::int as decided, count(*)::int as rows from purchases where id = any(${result.acceptedIds}::uuid[])`;
  const [keys] = await sql<{ repeated: number }[]>`
    select count(*)::int as repeated from (select idempotency_key from purchases where event_id = ${result.eventId} group by 1 having count(*) > 1) k`;
  const tiers = await sql<{ capacity: number; sold: number; confirmed: number }[]>`
    select s.capacity, s.sold, coalesce(sum(p.quantity) filter (where p.status = 'confirmed'), 0)::int as confirmed
    from tier_stock s left join purchases p on p.tier_id = s.tier_id where s.event_id = ${result.eventId}
    group by s.tier_id, s.capacity, s.sold`;
  const byStatus = Object.fromEntries(rows.map((r) => [r.status, r.n])) as Record<string, number>;
  return {
    confirmed: byStatus.confirmed ?? 0,
    rejected: byStatus.rejected ?? 0,
    /** Accepted ids with a row, and rows of accepted ids (equal when nothing is duplicated). */
    acceptedDecided: ids!.decided,
    acceptedRows: ids!.rows,
    repeatedKeys: keys!.repeated,
    oversoldTiers: tiers.filter((t) => t.sold > t.capacity || t.confirmed > t.capacity).length,
    soldMismatchTiers: tiers.filter((t) => t.sold !== t.confirmed).length,
  };
}

/** The outcome every scenario must end with: each 202 decided exactly once, nothing oversold or miscounted. */
export async function expectEveryAcceptedDecidedOnce(sql: Sql, result: ScenarioResult): Promise<void> {
  const pg = await postgresOutcome(sql, result);
  expect(result.acceptedIds.length).toBeGreaterThan(0);
  expect(pg).toMatchObject({
    acceptedDecided: result.acceptedIds.length,
    acceptedRows: result.acceptedIds.length,
    repeatedKeys: 0,
    oversoldTiers: 0,
    soldMismatchTiers: 0,
  });
  expect(result.report).toMatchObject({
    oversold: 0,
    soldMismatch: 0,
    lost: 0,
    duplicated: 0,
    undersold: 0,
    deadLettered: 0,
    drained: true,
  });
}
