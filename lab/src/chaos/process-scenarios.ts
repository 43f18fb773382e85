import { readFile, stat } from 'node:fs/promises';
import { killComponent, startComponent, stopComponent } from '../local-lab/lab.js';
import { type ComponentName, resolveTargets, workerNames } from '../local-lab/lab-options.js';
import { labPaths, readRunRecord } from '../local-lab/lab-state.js';
import { UPSTREAM_SERVER_PARAMS } from '../local-lab/nginx-config.js';
import type { Check, Scenario, ScenarioContext, ScenarioResult } from './scenario-types.js';
import { check, tally } from './verdict.js';

const UPSTREAM_MAX_FAILS = Number(/max_fails=(\d+)/.exec(UPSTREAM_SERVER_PARAMS)?.[1] ?? 1);

async function decidedCount(ctx: ScenarioContext): Promise<number> {
  const [row] = await ctx.sql<
    { n: number }[]
  >`select count(*)::int as n from purchases where event_id = ${ctx.eventId}`;
  return row?.n ?? 0;
}

/** The pid of a component, or the pids of every worker for `worker` ("4242, 4250, 4263"). */
async function pidOf(ctx: ScenarioContext, name: ComponentName): Promise<string> {
  const names = resolveTargets(ctx.target.state.options, name);
  const pids = await Promise.all(names.map(async (n) => String((await readRunRecord(ctx.target.dir, n))?.pid ?? '?')));
  return pids.join(', ');
}

/**
 * Stops every worker, lets a backlog build under the load for `ms`, starts them all again
 * and returns as soon as a first batch has committed (while the rest is in their hands,
 * unacked), with the count decided before, and the start still under way (not awaited:
 * a worker may decide its first batch before it reports healthy).
 */
async function backlogThenFirstCommit(ctx: ScenarioContext, ms: number) {
  await stopComponent(ctx.target.dir, 'worker');
  ctx.note('workers stopped: building a backlog');
  await ctx.sleep(ms);
  const before = await decidedCount(ctx);
  const starting = startComponent(ctx.target.dir, 'worker').catch(() => undefined);
  const deadline = Date.now() + 30_000;
  while ((await decidedCount(ctx)) === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  return { before, starting };
}

const sizeOf = (file: string) =>
  stat(file).then(
    (s) => s.size,
    () => 0,
  );

/** What a killed worker left behind, counted once it is gone. */
async function countAtKill(ctx: ScenarioContext, before: number): Promise<number> {
  const decided = await decidedCount(ctx);
  ctx.facts.decidedAtKill = decided - before;
  ctx.facts.undecidedAtKill = new Set(ctx.load.acceptedIds).size - decided;
  return decided;
}

const landedMidDrain = (r: ScenarioResult): Check =>
  check(
    r.facts.decidedAtKill! > 0 && r.facts.undecidedAtKill! > 0,
    `the kill landed mid-drain: ${r.facts.decidedAtKill} decided before it, ${r.facts.undecidedAtKill} still undecided (if 0, it drained faster than the kill: raise --rate, or lower WORKER_BATCH_SIZE / raise PAYMENT_LATENCY_MS)`,
  );

const queueGrew = (r: ScenarioResult): Check =>
  check(
    (r.maxQueued.fault ?? 0) > 0,
    `the queue grew while the workers were down (max ${r.maxQueued.fault ?? '?'} ready)`,
  );

/** Ms until a read through nginx is answered by `replica` (polling every 100 ms), or undefined. */
async function servedAgain(ctx: ScenarioContext, replica: string, timeoutMs: number): Promise<number | undefined> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    const res = await fetch(`${ctx.target.base}/events/${ctx.eventId}/availability`).catch(() => undefined);
    await res?.arrayBuffer();
    if (res?.headers.get('x-served-by') === replica) return Date.now() - started;
    await new Promise((r) => setTimeout(r, 100));
  }
  return undefined;
}

/** Stop the worker (SIGTERM: it finishes its batch), let the queue grow under load, start it, let it drain. */
export const workerRestart: Scenario = {
  name: 'worker-restart',
  summary: 'stop the worker gracefully under load, start it again; the backlog drains',
  how: () => "the lab's worker process stopped (SIGTERM) and started again",
  async inject(ctx) {
    const pid = await pidOf(ctx, 'worker');
    await stopComponent(ctx.target.dir, 'worker');
    ctx.note(`worker stopped (SIGTERM, pid ${pid}): purchases are still accepted and queue up`);
  },
  async recover(ctx) {
    await startComponent(ctx.target.dir, 'worker');
    ctx.note(`worker started again (pid ${await pidOf(ctx, 'worker')}): draining the backlog`);
  },
  checks: (r) => [
    check(
      tally(r, 'purchases', 'fault', (l) => l === '202') > 0,
      `purchases still answered 202 while the worker was down: ${tally(r, 'purchases', 'fault', (l) => l === '202')}`,
    ),
    check(
      (r.maxQueued.fault ?? 0) > 0,
      `the queue grew while the worker was down (max ${r.maxQueued.fault ?? '?'} ready)`,
    ),
  ],
};

/**
 * Build a backlog with the worker stopped, start it, and SIGKILL it as soon as its first
 * batch has committed — while the rest of the backlog is in its hands, unacked. The
 * broker gives those back; the restarted worker must decide each exactly once.
 */
export const workerKill: Scenario = {
  name: 'worker-kill',
  summary: 'SIGKILL the worker mid-drain (after its first commit, with the backlog unacked in its hands)',
  // Small batches, each taking a simulated 100 ms payment, so the drain spans many commits
  // and the kill lands between two of them.
  labEnv: { WORKER_BATCH_SIZE: '50', PAYMENT_LATENCY_MS: '100' },
  how: () => "the lab's worker process SIGKILLed mid-drain, then started again",
  async inject(ctx) {
    const { before, starting } = await backlogThenFirstCommit(ctx, ctx.faultMs / 2);
    const pid = await pidOf(ctx, 'worker');
    await killComponent(ctx.target.dir, 'worker');
    await starting;
    await countAtKill(ctx, before);
    ctx.note(
      `worker SIGKILLed (pid ${pid}) mid-drain: ${ctx.facts.decidedAtKill} decided; ${ctx.facts.undecidedAtKill} accepted purchases still undecided (unacked in its hands, or queued)`,
    );
  },
  async recover(ctx) {
    await startComponent(ctx.target.dir, 'worker');
    ctx.note(`worker started again (pid ${await pidOf(ctx, 'worker')}): redeliveries and backlog decided`);
  },
  checks: (r) => [landedMidDrain(r), queueGrew(r)],
};

/**
 * With several workers: build a backlog, start them all, and SIGKILL one of them as soon
 * as a first batch has committed, with its share of the backlog unacked in its hands. The
 * broker gives that share to the survivors, who must decide every purchase exactly once
 * while it is dead; it is started again for the recovery.
 */
export const workerKillOne: Scenario = {
  name: 'worker-kill-one',
  summary: 'with 3 workers, SIGKILL one of them mid-drain; the others take over what it held',
  workers: 3,
  // Small batches with a simulated payment, and a small prefetch, so each worker holds a share
  // of the backlog and the kill lands between commits.
  labEnv: { WORKER_BATCH_SIZE: '20', WORKER_PREFETCH: '40', PAYMENT_LATENCY_MS: '100' },
  how: (target) => `one of the lab's ${workerNames(target.state.options.workers).length} workers SIGKILLed mid-drain`,
  precheck(target) {
    if ((target.state.options.workers ?? 1) < 2)
      throw new Error('worker-kill-one needs a lab of two workers or more: `up --workers 3`, or --private');
  },
  async inject(ctx) {
    const victim = workerNames(ctx.target.state.options.workers).at(-1)!;
    const log = labPaths(ctx.target.dir).log(victim);
    const logged = await sizeOf(log);
    const { before, starting } = await backlogThenFirstCommit(ctx, ctx.faultMs / 2);
    // Killed once it has committed a batch of its own, so its share of the backlog is in its hands.
    await starting;
    const deadline = Date.now() + 15_000;
    while (!(await readFile(log, 'utf8')).slice(logged).includes('"batch.committed"') && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 10));
    const pid = await pidOf(ctx, victim);
    await killComponent(ctx.target.dir, victim);
    const atKill = await countAtKill(ctx, before);
    ctx.facts.killedWorker = Number(victim.slice('worker-'.length));
    ctx.note(
      `${victim} SIGKILLed (pid ${pid}) mid-drain: ${ctx.facts.decidedAtKill} decided; ${ctx.facts.undecidedAtKill} accepted purchases still undecided (in the workers' hands, or queued)`,
    );
    // The survivors decide while it is dead (what it held comes back to them).
    await ctx.sleep(ctx.faultMs / 2);
    ctx.facts.decidedWhileDown = (await decidedCount(ctx)) - atKill;
  },
  async recover(ctx) {
    const victim: ComponentName = `worker-${Number(ctx.facts.killedWorker)}`;
    await startComponent(ctx.target.dir, victim);
    ctx.note(`${victim} started again (pid ${await pidOf(ctx, victim)})`);
  },
  checks: (r) => [
    landedMidDrain(r),
    queueGrew(r),
    check(
      r.facts.decidedWhileDown! > 0,
      `the other workers decided while worker-${r.facts.killedWorker} was dead: ${r.facts.decidedWhileDown}`,
    ),
  ],
};

/** SIGKILL api-2 under load; nginx must route around it; start it again, it must serve again. */
export const replicaKill: Scenario = {
  name: 'replica-kill',
  summary: 'SIGKILL api-2 mid-load; nginx routes around it; it rejoins when started',
  how: () => "the lab's api-2 process SIGKILLed, then started again",
  async inject(ctx) {
    const pid = await pidOf(ctx, 'api-2');
    ctx.facts.inFlightAtKill = ctx.load.inFlight.purchases;
    await killComponent(ctx.target.dir, 'api-2');
    ctx.note(`api-2 SIGKILLed (pid ${pid}) with ${ctx.facts.inFlightAtKill} purchases in flight (on all replicas)`);
  },
  async recover(ctx) {
    await startComponent(ctx.target.dir, 'api-2');
    ctx.note(`api-2 started again (pid ${await pidOf(ctx, 'api-2')})`);
    const rejoined = await servedAgain(ctx, 'api-2', 20_000);
    ctx.facts.rejoinedAfterMs = rejoined ?? -1;
    ctx.note(
      rejoined === undefined
        ? 'nginx sent api-2 nothing in 20 s'
        : `nginx routes to api-2 again, ${(rejoined / 1000).toFixed(1)} s after its start`,
    );
  },
  // In flight at the kill, plus what nginx may still write on its idle keepalive connections to
  // the dead replica before max_fails (2) takes it out: a POST already sent is never retried.
  errorBudget: (facts) => ({
    phases: ['fault'],
    labels: /^(502|504|network|timeout)/,
    max: (facts.inFlightAtKill ?? 0) + UPSTREAM_MAX_FAILS,
    why: `in flight at the kill (${facts.inFlightAtKill ?? 0}) + nginx max_fails (${UPSTREAM_MAX_FAILS}) sent on dead keepalive connections`,
  }),
  checks: (r) => {
    const before = r.phases.warmup?.servedBy['api-2'] ?? 0;
    const after = r.phases.recovery?.servedBy['api-2'] ?? 0;
    return [
      check(before > 0, `api-2 served requests before the kill: ${before}`),
      check(
        r.facts.rejoinedAfterMs! >= 0,
        r.facts.rejoinedAfterMs! >= 0
          ? `api-2 rejoined: nginx routed to it ${(r.facts.rejoinedAfterMs! / 1000).toFixed(1)} s after its start (${after} requests in the recovery phase)`
          : 'api-2 did not rejoin: nginx sent it nothing within 20 s of its start',
      ),
    ];
  },
};
