import { redisKeys } from '@stampede/core/redis';
import { Redis } from 'ioredis';
import { type ChaosChange, hasChaosApi, NO_CHAOS_API, resetChaos, setChaos } from './chaos-client.js';
import { type ClusterName, deleteLabKeys, type LabTarget, type ServiceName } from './scenario-lab.js';
import type { Check, Scenario, ScenarioContext, ScenarioName, ScenarioResult } from './scenario-types.js';
import { check, is, readLatency, tally } from './verdict.js';

interface ServiceFault {
  name: ScenarioName;
  summary: string;
  service: Exclude<ServiceName, ClusterName>;
  /** The real fault on the lab's private server. */
  real: 'kill' | 'stop';
  /** The same fault faked in every replica, when the server is shared. */
  chaos: ChaosChange;
  checks(r: ScenarioResult): Check[];
  errorBudget?: Scenario['errorBudget'];
}

/**
 * A scenario whose fault hits a server: the real process when the lab runs its own
 * (`--private`: SIGKILL or stop of that redis-server / postgres / rabbitmq node, then
 * start on the same port), else the chaos API on every replica, because a shared
 * server must not be stopped under other people's feet. The chaos API fakes the fault
 * in the replicas only: the worker still sees the real server.
 */
function serviceScenario(f: ServiceFault): Scenario {
  const own = (t: LabTarget) => t.services[f.service];
  const verb = f.real === 'kill' ? 'SIGKILLed' : 'stopped';
  return {
    name: f.name,
    summary: f.summary,
    service: f.service,
    checks: f.checks,
    ...(f.errorBudget ? { errorBudget: f.errorBudget } : {}),
    how: (t) =>
      own(t)
        ? `the lab's private ${f.service} server (${own(t)!.url}) ${verb}, then started again`
        : `chaos API on api-1..3: ${JSON.stringify(f.chaos)} (simulated in the replicas; the worker still sees the shared ${f.service})`,
    precheck(t) {
      if (!own(t) && !hasChaosApi(t)) throw new Error(`${f.name} cannot stop the shared ${f.service}: ${NO_CHAOS_API}`);
    },
    async inject(ctx) {
      const server = own(ctx.target);
      if (server) await (f.real === 'kill' ? server.kill() : server.stop());
      else await setChaos(ctx.target, f.chaos);
      ctx.note(server ? `${f.service} ${verb} (${server.url})` : `chaos on every replica: ${JSON.stringify(f.chaos)}`);
    },
    async recover(ctx) {
      const server = own(ctx.target);
      if (server) await server.start();
      else await resetChaos(ctx.target);
      ctx.note(server ? `${f.service} started again (${server.url})` : 'chaos reset on every replica');
    },
  };
}

/**
 * True when the gate has a stock key for every tier of the run (rebuilt after a Redis that
 * came back empty); with `availability`, when the event's cached availability is back instead.
 */
async function keysPresent(
  ctx: Pick<ScenarioContext, 'target' | 'tierIds' | 'eventId'>,
  availability = false,
): Promise<boolean> {
  const redis = new Redis(ctx.target.config.REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    const keys = redisKeys(ctx.target.config.REDIS_KEY_PREFIX);
    const wanted = availability ? [keys.availability(ctx.eventId)] : ctx.tierIds.map((t) => keys.stock(ctx.eventId, t));
    return (await redis.exists(...wanted)) === wanted.length;
  } catch {
    return false;
  } finally {
    redis.disconnect();
  }
}

const accepted = (r: ScenarioResult, phase: 'fault' | 'recovery') => tally(r, 'purchases', phase, is('202'));

export const redisOutage: Scenario = (() => {
  const base = serviceScenario({
    name: 'redis-outage',
    summary:
      'Redis dies (and comes back empty): reads from Postgres, purchases accepted ungated, gate rebuilt, caching resumes',
    service: 'redis',
    real: 'kill',
    chaos: { cacheDown: true },
    checks: (r) => [
      check(
        tally(r, 'reads', 'fault', is('200 bypass')) > 0,
        `reads served from Postgres while Redis was down (X-Cache bypass): ${tally(r, 'reads', 'fault', is('200 bypass'))}`,
      ),
      check(
        accepted(r, 'fault') > 0,
        `purchases still accepted (ungated) while Redis was down: ${accepted(r, 'fault')}`,
      ),
      check(
        tally(r, 'reads', 'recovery', is('200 hit')) > 0,
        `caching resumed after recovery (X-Cache hit): ${tally(r, 'reads', 'recovery', is('200 hit'))}`,
      ),
      check(
        r.facts.gateRebuilt === 1,
        `gate rebuilt: a stock key for every tier after recovery (${r.facts.gateRebuilt === 1 ? 'yes' : 'no'})`,
      ),
    ],
  });
  return {
    ...base,
    async recover(ctx) {
      await base.recover(ctx);
      // Let the recovery phase's purchases prime the gate again, then look.
      await ctx.sleep(2_000);
      ctx.facts.gateRebuilt = (await keysPresent(ctx)) ? 1 : 0;
    },
  };
})();

/**
 * Redis loses the lab's keys under load: gate stock, holds, idempotency records, cache.
 * On a private Redis that is a FLUSHALL; on a shared one only the lab's own prefix is
 * deleted. Nothing is repaired: the gate must rebuild itself from Postgres.
 */
export const redisFlush: Scenario = {
  name: 'redis-flush',
  service: 'redis',
  summary: 'Redis loses every key of the lab under load: caching and the gate rebuild from Postgres, no oversell',
  how: (t) =>
    t.services.redis
      ? `FLUSHALL on the lab's private redis-server (${t.services.redis.url})`
      : `every key under the lab's prefix "${t.config.REDIS_KEY_PREFIX}" deleted from the shared Redis`,
  async inject(ctx) {
    const own = ctx.target.services.redis;
    if (own) {
      const redis = new Redis(own.url, { maxRetriesPerRequest: 1 });
      try {
        await redis.flushall();
      } finally {
        redis.disconnect();
      }
      ctx.note(`FLUSHALL on ${own.url}`);
    } else {
      ctx.note(`deleted ${await deleteLabKeys(ctx.target.config)} keys under ${ctx.target.config.REDIS_KEY_PREFIX}`);
    }
  },
  async recover(ctx) {
    // Nothing to repair: look whether the gate and the cache have rebuilt themselves from Postgres.
    ctx.facts.gateRebuilt = (await keysPresent(ctx)) ? 1 : 0;
    ctx.facts.cacheRefilled = (await keysPresent(ctx, true)) ? 1 : 0;
    ctx.note(`nothing repaired; gate stock keys back for every tier: ${ctx.facts.gateRebuilt === 1 ? 'yes' : 'no'}`);
  },
  checks: (r) => [
    check(accepted(r, 'fault') > 0, `purchases accepted after the flush: ${accepted(r, 'fault')}`),
    check(
      r.facts.cacheRefilled === 1,
      `availability cached again after the flush (by a read miss or the worker's commit): ${r.facts.cacheRefilled === 1 ? 'yes' : 'no'}`,
    ),
    check(
      r.facts.gateRebuilt === 1,
      `gate rebuilt from Postgres: a stock key for every tier (${r.facts.gateRebuilt === 1 ? 'yes' : 'no'})`,
    ),
  ],
};

export const brokerRestart = serviceScenario({
  name: 'broker-restart',
  summary:
    'RabbitMQ restarts: 503 + Retry-After while down, accepted again after; API and worker reconnect; no confirmed message lost',
  service: 'rabbitmq',
  real: 'stop',
  chaos: { brokerDown: true },
  // Until the API has reconnected, purchases are refused; after that they must be accepted.
  errorBudget: () => ({
    phases: ['fault', 'recovery'],
    labels: /^503 broker_unavailable$/,
    max: Infinity,
    why: '503 while the broker is away',
  }),
  checks: (r) => {
    const refused = tally(r, 'purchases', 'fault', is('503 broker_unavailable'));
    const noRetryAfter =
      (r.phases.fault?.unavailableWithoutRetryAfter ?? 0) + (r.phases.recovery?.unavailableWithoutRetryAfter ?? 0);
    return [
      check(refused > 0, `purchases refused with 503 while the broker was down: ${refused}`),
      check(noRetryAfter === 0, `every 503 carried Retry-After (${noRetryAfter} without)`),
      check(
        accepted(r, 'recovery') > 0,
        `purchases accepted again after the restart (API reconnected): ${accepted(r, 'recovery')}`,
      ),
    ];
  },
});

export const dbOutage = serviceScenario({
  name: 'db-outage',
  summary:
    'Postgres stops: last known availability served stale, purchases still queued, the worker decides the backlog after',
  service: 'postgres',
  real: 'stop',
  chaos: { dbDown: true },
  checks: (r) => [
    check(
      tally(r, 'reads', 'fault', is('200 stale')) > 0,
      `last known availability served, marked stale: ${tally(r, 'reads', 'fault', is('200 stale'))}`,
    ),
    check(
      accepted(r, 'fault') > 0,
      `purchases still accepted and queued while Postgres was down: ${accepted(r, 'fault')}`,
    ),
  ],
});

/** Slow database, through the chaos API in every mode: a private server cannot be made slow. */
export function dbSlow(latencyMs = 1_000): Scenario {
  return {
    name: 'db-slow',
    summary: `every replica's Postgres queries take ${latencyMs} ms more: reads answered from cache within the soft timeout`,
    how: () => `chaos API on api-1..3: +${latencyMs} ms before every Postgres query (the worker is not slowed)`,
    precheck: (t) => {
      if (!hasChaosApi(t)) throw new Error(`db-slow: ${NO_CHAOS_API}`);
    },
    async inject(ctx) {
      await setChaos(ctx.target, { dbLatencyMs: latencyMs });
      ctx.note(`chaos on every replica: dbLatencyMs ${latencyMs}`);
    },
    async recover(ctx) {
      await resetChaos(ctx.target);
      ctx.note('chaos reset on every replica');
    },
    checks: (r) => {
      const p95 = readLatency(r, 'fault', 0.95);
      return [
        check(
          p95 !== null && p95 < latencyMs,
          `reads answered before the slow database: p95 ${p95 ?? '-'} ms < ${latencyMs} ms`,
        ),
        check(
          tally(r, 'reads', 'fault', is('200 stale')) > 0,
          `last value served on the soft timeout (X-Cache stale) when the cache had expired: ${tally(r, 'reads', 'fault', is('200 stale'))}`,
        ),
        check(accepted(r, 'fault') > 0, `purchases still accepted: ${accepted(r, 'fault')}`),
      ];
    },
  };
}
