import { createGate } from '@stampede/core/gate';
import { connectRedis, type Redis, redisKeys } from '@stampede/core/redis';
import { CLUSTER_SLOTS } from '../servers/private-redis-cluster.js';
import { admittedAgain, recordRefusalWindow, until } from './failover-window.js';
import { type LabTarget, privateService } from './scenario-lab.js';
import type { Scenario, ScenarioContext } from './scenario-types.js';
import { check, is, tally } from './verdict.js';

const NO_CLUSTER =
  "redis-master-kill kills a master of a Redis Cluster of the lab's own: run it with --private (a shared Redis is never touched)";

const clusterOf = (t: LabTarget) => privateService(t, 'redis-cluster', NO_CLUSTER);

/** The hot tier's stock key (bucket 0): its slot is the event's gate shard, the master to kill. */
const hotKey = (ctx: ScenarioContext) =>
  redisKeys(ctx.target.config.REDIS_KEY_PREFIX).stock(ctx.eventId, ctx.tierIds[0]!, 0);

/** The large tier's stock in the gate (it never sells out: each gated 202 takes one); null when unreadable. */
async function bigTierStock(ctx: ScenarioContext, reader: Redis): Promise<number | null> {
  const keys = redisKeys(ctx.target.config.REDIS_KEY_PREFIX);
  const tierId = ctx.tierIds[1]!;
  const states = await createGate(reader, keys)
    .tierStates([tierId])
    .catch(() => undefined);
  return states?.get(tierId)?.stock ?? null;
}

/**
 * The master serving the hot event's gate keys, SIGKILLed under purchase load in a Redis
 * Cluster of three masters with a replica each: its replica must be promoted (node timeout
 * 1 s) while the API's and the worker's Cluster clients follow the new slot map. The node
 * stays down until the gate admits again (the big tier's stock falls: purchases pass the
 * gate, not only the ungated path), which gives the window; then it is started and must
 * rejoin, as a replica of the new master.
 */
export const redisMasterKill: Scenario = {
  name: 'redis-master-kill',
  summary:
    "the master serving the hot event's gate keys in a 3-master Redis Cluster is SIGKILLed: its replica takes over, the gate admits again while it is down, nothing lost",
  service: 'redis-cluster',
  how: (t) =>
    t.services['redis-cluster']
      ? `the master serving the hot event's gate slot in the lab's private Redis Cluster (3 masters, 1 replica each) SIGKILLed, started again once the gate admitted again`
      : NO_CLUSTER,
  precheck: (t) => void clusterOf(t),
  async inject(ctx) {
    const cluster = clusterOf(ctx.target);
    const key = hotKey(ctx);
    const victim = await cluster.masterOf(key);
    if (victim === undefined) throw new Error(`no live master serves ${key}`);
    ctx.facts.mastersBefore = (await cluster.masters()).length;
    ctx.facts.killedPort = victim;
    ctx.facts.killedAtMs = ctx.load.elapsedMs;
    await cluster.kill(victim);
    ctx.note(`redis master 127.0.0.1:${victim} SIGKILLed, the master of ${key}`);
    // Watched here, in the fault phase, so that the failover's time is when it happened, not when the phase ended.
    let master: number | undefined;
    let served = 0;
    await until(
      ctx,
      async () => {
        master = await cluster.masterOf(key).catch(() => undefined);
        served = await cluster.slotsServed().catch(() => 0);
        const survivor = cluster.live().find((p) => p !== victim);
        return master !== undefined && served === CLUSTER_SLOTS && (await cluster.stateOk(survivor!));
      },
      60_000,
    );
    ctx.facts.newMaster = master !== undefined && master !== victim ? 1 : 0;
    ctx.facts.slotsServed = served;
    ctx.facts.failoverMs = ctx.load.elapsedMs - ctx.facts.killedAtMs!;
    ctx.note(
      `slot master now 127.0.0.1:${master ?? '?'}, ${served} slots served, ${ctx.facts.failoverMs} ms after the kill`,
    );
  },
  async recover(ctx) {
    const cluster = clusterOf(ctx.target);
    const victim = ctx.facts.killedPort!;
    // A cluster client of the scenario's own, to see the gate's stock as the API's client does.
    const reader = connectRedis(ctx.target.config, { maxRetriesPerRequest: 1, commandTimeout: 500 });
    reader.on('error', () => undefined);
    try {
      // Gated admissions back: the big tier's stock falls between two looks, and 202s without refusals.
      let last = await bigTierStock(ctx, reader);
      let fell = false;
      await until(
        ctx,
        async () => {
          const now = await bigTierStock(ctx, reader);
          fell ||= last !== null && now !== null && now < last;
          last = now;
          return fell && admittedAgain(ctx);
        },
        60_000,
      );
      ctx.facts.gateAdmitsAgain = fell ? 1 : 0;
      const refused = recordRefusalWindow(ctx);
      ctx.facts.slowestPurchaseMs = ctx.load.stats('fault').slowestPurchaseMs;
      ctx.note(
        `gate admits again ${fell ? 'yes' : 'NO'}: ${refused} purchases refused in ${ctx.facts.refusalWindowMs} ms after the kill; the slowest purchase answer took ${ctx.facts.slowestPurchaseMs} ms`,
      );
    } finally {
      reader.disconnect();
    }
    await cluster.start(victim);
    await until(ctx, () => cluster.joined(victim).catch(() => false), 60_000);
    ctx.facts.rejoined = (await cluster.joined(victim).catch(() => false)) ? 1 : 0;
    ctx.facts.mastersAfter = (await cluster.masters()).length;
    ctx.note(`127.0.0.1:${victim} started again; rejoined ${ctx.facts.rejoined ? 'yes' : 'NO'}`);
  },
  // Observed: no purchase error at all. The API's Cluster client holds the dead master's commands
  // until the slot map names its replica (purchases wait, up to seconds), and an ADMIT that fails
  // meanwhile (connection closed, MOVED to the dead node) is queued ungated for Postgres to decide.
  errorBudget: () => ({
    phases: ['fault', 'recovery'],
    labels: /(?!)/,
    max: 0,
    why: 'none: purchases wait for the failover or are queued ungated, Postgres decides',
  }),
  checks: (r) => [
    check(r.facts.mastersBefore === 3, `the cluster had 3 masters before the kill: ${r.facts.mastersBefore}`),
    check(
      r.facts.newMaster === 1 && r.facts.slotsServed === CLUSTER_SLOTS,
      `a replica took over the gate's slot, all ${r.facts.slotsServed} of ${CLUSTER_SLOTS} slots served, ${r.facts.failoverMs} ms after the kill`,
    ),
    check(
      r.facts.gateAdmitsAgain === 1 && r.facts.admittedAgain === 1,
      `the gate admitted again with the node still down: ${r.facts.refusedSinceKill} purchases refused, the last ${r.facts.refusalWindowMs} ms after the kill`,
    ),
    check(
      tally(r, 'purchases', 'recovery', is('202')) > 0,
      `purchases accepted after the node came back: ${tally(r, 'purchases', 'recovery', is('202'))}`,
    ),
    check(
      r.facts.rejoined === 1 && r.facts.mastersAfter === 3,
      `the killed node rejoined the cluster (${r.facts.mastersAfter} masters)`,
    ),
  ],
};
