import { brokerUrls } from '@stampede/core/config';
import { createSql } from '@stampede/core/db';
import { createEvent } from '@stampede/core/events';
import { connectRedis, redisKeys } from '@stampede/core/redis';
import { decidedKeys } from '../reconcile/purchase-facts.js';
import { reconcile } from '../reconcile/reconcile.js';
import { componentsAfterRun, logTailsOf } from './components-after-run.js';
import { LoadLoop } from './load-loop.js';
import { QueueWatch } from './queue-watch.js';
import type { LabTarget } from './scenario-lab.js';
import type { Facts, Phase, Scenario, ScenarioContext, ScenarioResult } from './scenario-types.js';
import { commonChecks } from './verdict.js';

export interface RunOptions {
  warmupMs?: number;
  faultMs?: number;
  recoveryMs?: number;
  /** How long to wait for the drain after the load stops. */
  drainWaitMs?: number;
  purchasesPerSecond?: number;
  readsPerSecond?: number;
  /** Tickets of the small tier; by default it sells out about half-way through the load. */
  floorCapacity?: number;
  /** Buckets the small tier's stock is split into (default 1: not split). */
  floorBuckets?: number;
  /** Progress and event lines (one a second while it runs). */
  onLine?: (line: string) => void;
  /** Aborted (Ctrl-C): the fault is repaired, the load stopped, and the run ends with an error. */
  signal?: AbortSignal;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1).padStart(5)}s`;

/**
 * Runs one scenario against a running lab: creates an event of its own (a small tier
 * that sells out and a large one), drives purchases and reads through nginx, injects
 * the fault after the warmup, repairs it after the fault phase, keeps the load on
 * through the recovery, then stops it, waits for the drain and reconciles with the
 * accepted ids. Returns every figure and the verdict; never leaves the fault in place.
 */
export async function runScenario(
  scenario: Scenario,
  target: LabTarget,
  options: RunOptions = {},
): Promise<ScenarioResult> {
  scenario.precheck?.(target);
  const o = {
    warmupMs: 5_000,
    faultMs: 10_000,
    recoveryMs: 5_000,
    drainWaitMs: 120_000,
    purchasesPerSecond: 50,
    readsPerSecond: 100,
    ...options,
  };
  const loadSeconds = (o.warmupMs + o.faultMs + o.recoveryMs) / 1000;
  const say = o.onLine ?? (() => undefined);
  const sql = createSql(target.config, { max: 3, applicationName: 'stampede-chaos' });
  // The lab's Redis or its cluster (REDIS_CLUSTER_NODES), as its components see it.
  const redis = connectRedis(target.config, {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
  });
  redis.on('error', () => undefined);
  const watch = new QueueWatch(target.config);
  const started = Date.now();
  const notes: string[] = [];
  const facts: Facts = {};
  const maxQueued: Partial<Record<Phase, number | null>> = {};
  const phaseMs: Record<Phase, number> = { warmup: 0, fault: 0, recovery: 0, drain: 0 };
  let ticker: NodeJS.Timeout | undefined;
  let load: LoadLoop | undefined;
  let phase: Phase = 'warmup';
  let injected = false;
  let recovered = false;
  let ctx: ScenarioContext | undefined;
  let heldInStep = 0;
  let finishOwnLoad: (() => Promise<void>) | undefined;
  const finishOwn = async () => {
    const finish = finishOwnLoad;
    finishOwnLoad = undefined;
    await finish?.();
  };
  let repairedAt: number | undefined;
  let queueEmptyAfterRepairMs: number | null = null;
  const sawDepth = (depth: number | null) => {
    if (repairedAt !== undefined && depth === 0 && queueEmptyAfterRepairMs === null)
      queueEmptyAfterRepairMs = Date.now() - repairedAt;
  };

  const sleep = (ms: number) =>
    new Promise<void>((resolve, reject) => {
      if (o.signal?.aborted) return reject(new Error('interrupted'));
      heldInStep += Math.max(0, ms);
      const onAbort = () => {
        clearTimeout(t);
        reject(new Error('interrupted'));
      };
      // Removed once slept: a step that waits in a loop does not pile listeners up.
      const t = setTimeout(
        () => {
          o.signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        Math.max(0, ms),
      );
      o.signal?.addEventListener('abort', onAbort, { once: true });
    });
  const note = (message: string) => {
    const line = `[${seconds(Date.now() - started)}] ${message}`;
    notes.push(line);
    say(line);
  };
  const enter = (next: Phase) => {
    phase = next;
    if (load) load.phase = next;
    say(`[${seconds(Date.now() - started)}] --- ${next} ---`);
  };

  try {
    const floor = o.floorCapacity ?? Math.max(10, Math.round(o.purchasesPerSecond * loadSeconds * 0.25));
    const event = await createEvent(sql, {
      name: `Chaos ${scenario.name} ${new Date().toISOString()}`,
      venue: 'Chaos lab',
      startsAt: new Date(Date.now() + 7 * 86_400_000),
      saleOpensAt: new Date(Date.now() - 60_000),
      saleClosesAt: null,
      tiers: [
        { name: 'Floor', priceCents: 9_000, capacity: floor, buckets: o.floorBuckets ?? 1 },
        { name: 'Stands', priceCents: 4_000, capacity: 1_000_000 },
      ],
    });
    // An event nobody buys: no commit refreshes its cached availability, so its reads show
    // the cache's own behaviour (misses, soft timeout, stale) while the sale's event is kept fresh by the worker.
    const quiet = await createEvent(sql, {
      name: `Chaos ${scenario.name} (quiet) ${new Date().toISOString()}`,
      venue: 'Chaos lab',
      startsAt: new Date(Date.now() + 7 * 86_400_000),
      saleOpensAt: new Date(Date.now() - 60_000),
      saleClosesAt: null,
      tiers: [{ name: 'General', priceCents: 2_000, capacity: 100 }],
    });
    const tierIds = event.tiers.map((t) => t.id);
    say(`scenario ${scenario.name}: ${scenario.how(target)}`);
    say(
      `event ${event.id}: Floor ${floor} tickets (sells out mid-run), Stands 1,000,000; quiet event ${quiet.id} (read, never bought)`,
    );
    say(
      `load ${o.purchasesPerSecond} purchases/s + ${o.readsPerSecond} reads/s (half of them of the quiet event) through ${target.base}`,
    );
    load = new LoadLoop(
      { base: target.base, eventId: event.id, tierIds, readEventIds: [event.id, quiet.id] },
      { purchasesPerSecond: o.purchasesPerSecond, readsPerSecond: o.readsPerSecond },
    );
    ctx = { target, sql, load, eventId: event.id, tierIds, facts, faultMs: o.faultMs, note, sleep };
    const c = ctx;
    const l = load;
    ticker = setInterval(
      () =>
        watch.sample((depth) => {
          sawDepth(depth);
          maxQueued[phase] = depth === null ? (maxQueued[phase] ?? null) : Math.max(depth, maxQueued[phase] ?? 0);
          say(
            `[${seconds(Date.now() - started)}] ${phase.padEnd(9)} sent ${String(l.sent.purchases + l.sent.reads).padStart(6)}  accepted ${String(l.acceptedIds.length).padStart(5)}  queue ${String(depth ?? '?').padStart(5)}  client errors ${l.errors}`,
          );
        }),
      1_000,
    );

    // The fault phase lasts its time after the fault is in place (a server may take seconds
    // to stop), less what the step itself already waited (worker-kill builds its backlog),
    // and goes on through the repair (a node may take seconds to boot): the recovery phase
    // starts once the service is back, and lasts its time.
    const hold = async (p: Phase, holdMs: number, step?: () => Promise<void>) => {
      heldInStep = 0;
      await step?.();
      await sleep(holdMs - heldInStep);
      phaseMs[p] = Date.now() - phaseStart;
    };
    finishOwnLoad = await scenario.setup?.(c);
    enter('warmup');
    let phaseStart = Date.now();
    load.start();
    await hold('warmup', o.warmupMs);
    enter('fault');
    phaseStart = Date.now();
    await hold('fault', o.faultMs, async () => {
      injected = true;
      await scenario.inject(ctx!);
    });
    await scenario.recover(c);
    recovered = true;
    repairedAt = Date.now();
    phaseMs.fault = repairedAt - phaseStart;
    enter('recovery');
    phaseStart = Date.now();
    await hold('recovery', o.recoveryMs);
    enter('drain');
    await load.stop();
    await finishOwn();
    clearInterval(ticker);
    let lastLine = 0;
    await redis.connect().catch(() => undefined);
    const report = await reconcile(
      {
        sql,
        redis,
        keys: redisKeys(target.config.REDIS_KEY_PREFIX),
        broker: { url: brokerUrls(target.config), prefix: target.config.AMQP_PREFIX, lanes: target.config.AMQP_LANES },
      },
      {
        eventId: event.id,
        acceptedIds: load.acceptedIds,
        waitForDrainMs: o.drainWaitMs,
        pollIntervalMs: 250,
        onProgress: (p) => {
          sawDepth(p.queued);
          if (Date.now() - lastLine < 1_000) return;
          lastLine = Date.now();
          say(
            `[${seconds(Date.now() - started)}] drain     queued ${p.queued ?? '?'}  accepted not final ${p.notFinal ?? '?'}`,
          );
        },
      },
    );
    phaseMs.drain = report.waitedMs;
    sawDepth(report.queued);
    const failedButDecided = (await decidedKeys(sql, [...new Set(load.failedKeys)])).size;
    const partial = {
      scenario: scenario.name,
      how: scenario.how(target),
      eventId: event.id,
      tierIds,
      rates: { purchasesPerSecond: o.purchasesPerSecond, readsPerSecond: o.readsPerSecond },
      phaseMs,
      drainMs: report.waitedMs,
      queueEmptyAfterRepairMs,
      failedButDecided,
      sent: { ...load.sent },
      dropped: load.dropped,
      phases: Object.fromEntries(load.phases) as ScenarioResult['phases'],
      failures: load.failures,
      maxQueued,
      acceptedIds: [...new Set(load.acceptedIds)],
      facts,
      notes,
      report,
      components: await componentsAfterRun(target.dir),
      logTails: {},
    };
    const checks = [...commonChecks(scenario, partial), ...scenario.checks({ ...partial, checks: [], pass: false })];
    const pass = checks.every((c) => c.ok);
    return { ...partial, logTails: pass ? {} : await logTailsOf(target.dir, partial.components), checks, pass };
  } finally {
    clearInterval(ticker);
    if (injected && !recovered && ctx) {
      say('repairing the fault before leaving');
      await scenario.recover(ctx).catch((err: Error) => say(`could not repair the fault: ${err.message}`));
    }
    await load?.stop();
    await finishOwn().catch((err: Error) => say(`could not finish the scenario's own load: ${err.message}`));
    await watch.close();
    redis.disconnect();
    await sql.end({ timeout: 2 });
  }
}
