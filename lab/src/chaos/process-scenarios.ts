import { killComponent, startComponent, stopComponent } from '../local-lab/lab.js';
import { readRunRecord } from '../local-lab/lab-state.js';
import { UPSTREAM_SERVER_PARAMS } from '../local-lab/nginx-config.js';
import type { Check, Scenario, ScenarioContext } from './scenario-types.js';
import { tally } from './verdict.js';

const UPSTREAM_MAX_FAILS = Number(/max_fails=(\d+)/.exec(UPSTREAM_SERVER_PARAMS)?.[1] ?? 1);

const check = (ok: boolean, text: string): Check => ({ ok, text });

async function decidedCount(ctx: ScenarioContext): Promise<number> {
  const [row] = await ctx.sql<
    { n: number }[]
  >`select count(*)::int as n from purchases where event_id = ${ctx.eventId}`;
  return row?.n ?? 0;
}

async function pidOf(ctx: ScenarioContext, name: 'worker' | 'api-2'): Promise<string> {
  return String((await readRunRecord(ctx.target.dir, name))?.pid ?? '?');
}

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
    await stopComponent(ctx.target.dir, 'worker');
    ctx.note('worker stopped: building a backlog');
    await ctx.sleep(ctx.faultMs / 2);
    const before = await decidedCount(ctx);
    // Not awaited: the worker may decide its first batch before it reports healthy.
    const starting = startComponent(ctx.target.dir, 'worker').catch(() => undefined);
    const deadline = Date.now() + 30_000;
    while ((await decidedCount(ctx)) === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    const pid = await pidOf(ctx, 'worker');
    await killComponent(ctx.target.dir, 'worker');
    await starting;
    // Counted once the process is gone: what it managed to commit, and what was still to decide.
    const decided = await decidedCount(ctx);
    ctx.facts.decidedAtKill = decided - before;
    ctx.facts.undecidedAtKill = new Set(ctx.load.acceptedIds).size - decided;
    ctx.note(
      `worker SIGKILLed (pid ${pid}) mid-drain: it had decided ${ctx.facts.decidedAtKill}; ${ctx.facts.undecidedAtKill} accepted purchases still undecided (unacked in its hands, or queued)`,
    );
  },
  async recover(ctx) {
    await startComponent(ctx.target.dir, 'worker');
    ctx.note(`worker started again (pid ${await pidOf(ctx, 'worker')}): redeliveries and backlog decided`);
  },
  checks: (r) => [
    check(
      r.facts.decidedAtKill! > 0 && r.facts.undecidedAtKill! > 0,
      `the kill landed mid-drain: ${r.facts.decidedAtKill} decided by the killed worker, ${r.facts.undecidedAtKill} still undecided (if 0, it drained faster than the kill: raise --rate, or lower WORKER_BATCH_SIZE / raise PAYMENT_LATENCY_MS)`,
    ),
    check(
      (r.maxQueued.fault ?? 0) > 0,
      `the queue grew while the worker was down (max ${r.maxQueued.fault ?? '?'} ready)`,
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
