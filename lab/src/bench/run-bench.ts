import { randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createSql } from '@stampede/core/db';
import type { Progress } from '../local-lab/lab.js';
import { type BenchEvent, type BenchEvents, createBenchEvents, deleteBenchEvents } from './bench-events.js';
import { BENCH_RATE_LIMIT, startBenchLab } from './bench-lab.js';
import { AcceptedIds, classifier, purchaseRequests, type SeriesMatch, withBreakdown } from './bench-phases.js';
import { profileUnder } from './bench-profile.js';
import { reconcileEvents, waitForBacklog } from './bench-reconcile.js';
import type { BenchResults, BenchSettings } from './bench-results.js';
import type { LoadResult, PathResult, RequestSource } from './bench-types.js';
import { runClosedLoad } from './closed-load.js';
import type { ProfileSummary } from './cpu-profile.js';
import { measureDrain, workerBatches } from './drain.js';
import { machineInfo } from './machine.js';
import { runPacedLoad } from './paced-load.js';
import { cpuBetween, cpuSnapshot } from './proc-cpu.js';
import { compare, evaluateTargets } from './targets.js';

export interface BenchOptions {
  /** Seconds of load per path. */
  durationS: number;
  connections: number;
  /** Seconds of unmeasured load before a path (JIT, caches, connections); 0 skips it. */
  warmupS: number;
  quick: boolean;
  /** Arrivals per second of the open-model spike; default 80 % of the queued closed-model rate. */
  spikeRate?: number;
  /** Where the results JSON goes (bench-results/). */
  resultsDir: string;
  /** CPU profiles of api-1 under the ceiling, sold-out and admission loads (V8 profiler, see profile-preload.ts). */
  profile?: boolean;
  /** Keep the run's events and purchases in Postgres (they are deleted by default). */
  keepData?: boolean;
  onProgress?: Progress;
  /** Receives the run's clean-up (lab, queues, keys, events), for a Ctrl-C handler. */
  onCleanup?: (cleanup: () => Promise<void>) => void;
}

const ms = (v: number) => `${v.toFixed(v < 10 ? 2 : 1)} ms`;
const line = (p: PathResult) =>
  `${p.label.padEnd(34)} ${String(p.rate).padStart(7)} /s  p50 ${ms(p.p50Ms)}  p99 ${ms(p.p99Ms)}`;

/**
 * One benchmark run: a private lab, then every path measured through its nginx, the
 * drain, the spike against the synchronous baseline, and the reconciliation of every
 * purchase made. Writes the results to `<resultsDir>/bench-<time>.json`.
 */
export async function runBench(options: BenchOptions): Promise<{ results: BenchResults; file: string }> {
  const say = options.onProgress ?? (() => {});
  const startedAt = new Date().toISOString();
  const machine = machineInfo();
  const tag = randomUUID().slice(0, 8);
  say(`starting a private lab (nginx rate limit raised to ${BENCH_RATE_LIMIT}/s)`);
  const lab = await startBenchLab({ onProgress: say });
  const sql = createSql(lab.config, { max: 4, applicationName: 'stampede-bench' });
  const accepted = new AcceptedIds();
  const paths: PathResult[] = [];
  let events: BenchEvents | undefined;
  let ceiling = 0;
  let cleaned: Promise<void> | undefined;
  const cleanup = () =>
    (cleaned ??= (async () => {
      if (events && !options.keepData) await deleteBenchEvents(sql, events).catch(() => undefined);
      await sql.end({ timeout: 5 });
      await lab.close();
    })());
  options.onCleanup?.(cleanup);

  const { base, connections } = { base: lab.base, connections: options.connections };
  const buy = (e: BenchEvent, phase: string) => purchaseRequests(e.id, e.tiers[0]!.id, `bench-${tag}-${phase}`);
  const warm = async (request: RequestSource, expected: number[], onResponse?: (s: number, b: string) => void) => {
    if (options.warmupS > 0)
      await runClosedLoad({
        base,
        connections,
        durationS: options.warmupS,
        request,
        expected,
        ...(onResponse ? { onResponse } : {}),
      });
  };
  const record = (
    key: string,
    label: string,
    match: SeriesMatch & { path: string },
    r: LoadResult & Partial<PathResult>,
    note?: string,
  ) => {
    if (key === 'ceiling') ceiling = r.rate;
    const p: PathResult = {
      ...r,
      key,
      label,
      method: match.method,
      route: match.path,
      ...(key !== 'ceiling' && ceiling > 0 ? { ratio: Math.round((r.rate / ceiling) * 1000) / 1000 } : {}),
      ...(note ? { note } : {}),
    };
    paths.push(p);
    say(line(p));
    return p;
  };
  const closed = (
    match: SeriesMatch,
    request: RequestSource,
    expected: number[],
    onResponse?: (s: number, b: string) => void,
  ) =>
    withBreakdown(lab, match, () =>
      runClosedLoad({
        base,
        connections,
        durationS: options.durationS,
        request,
        expected,
        ...(onResponse ? { onResponse } : {}),
      }),
    );
  const open = (
    match: SeriesMatch,
    rate: number,
    request: RequestSource,
    expected: number[],
    onResponse?: (s: number, b: string) => void,
  ) =>
    withBreakdown(lab, match, () =>
      runPacedLoad({
        base,
        connections,
        rate,
        durationS: options.durationS,
        request,
        expected,
        ...(onResponse ? { onResponse } : {}),
      }),
    );

  const fileBase = join(options.resultsDir, `bench-${startedAt.replace(/[:.]/g, '-')}`);
  try {
    events = await createBenchEvents(sql);
    const ev = events;
    const live = { method: 'GET', route: 'health', path: '/health/live' };
    const reads = { method: 'GET', route: 'availability', path: '/events/:id/availability' };
    const purchases = { method: 'POST', route: 'purchases', path: '/events/:id/purchases', confirm: true };
    const readReq = { method: 'GET' as const, path: `/events/${ev.reads.id}/availability` };

    await warm({ method: 'GET', path: '/health/live' }, [200]);
    record(
      'ceiling',
      'ceiling: GET /health/live',
      live,
      await closed(live, { method: 'GET', path: '/health/live' }, [200]),
    );
    await warm(readReq, [200]);
    const readResult = record('reads', 'availability read (cached)', reads, await closed(reads, readReq, [200]));
    const readRate = Math.max(1, Math.round(readResult.rate * 0.8));
    record(
      'reads-open',
      'availability read @ 80 % (open)',
      reads,
      await open(reads, readRate, readReq, [200]),
      `open model, ${readRate} arrivals/s`,
    );

    const soldOutIds = accepted.recorder(ev.soldOut.id);
    await runClosedLoad({
      base,
      connections: 2,
      durationS: 0,
      amount: 20,
      request: buy(ev.soldOut, 'sellout'),
      expected: [202, 409],
      onResponse: soldOutIds,
    });
    await warm(buy(ev.soldOut, 'soldout-warm'), [409], soldOutIds);
    record(
      'sold-out',
      'sold-out answer (409)',
      { ...purchases, confirm: false },
      await closed({ ...purchases, confirm: false }, buy(ev.soldOut, 'soldout'), [409], soldOutIds),
    );

    say('stopping the worker: the admission backlog becomes the drain');
    await lab.stopWorker();
    const admissionIds = accepted.recorder(ev.admission.id);
    await warm(buy(ev.admission, 'admit-warm'), [202], admissionIds);
    record(
      'admission',
      'purchase admission (202)',
      purchases,
      await closed(purchases, buy(ev.admission, 'admit'), [202], admissionIds),
      'worker stopped',
    );
    say(`draining ${accepted.of(ev.admission.id).length} queued purchases`);
    let cpuBefore = await cpuSnapshot();
    const startWorker = async () => {
      await lab.startWorker();
      cpuBefore = await cpuSnapshot();
    };
    const drain = await measureDrain(
      { sql, broker: { url: lab.config.AMQP_URL, prefix: lab.config.AMQP_PREFIX }, startWorker },
      ev.admission.id,
      accepted.of(ev.admission.id).length,
    );
    drain.cpu = cpuBetween(cpuBefore, await cpuSnapshot(), await classifier(lab));
    const batches = await workerBatches(lab.state.options.workerPort);
    if (batches) drain.batches = batches;
    say(
      `drain: ${drain.decided} purchases in ${drain.decideSeconds} s = ${drain.rate} /s (wall ${drain.wallSeconds} s with the worker's boot)`,
    );

    const spikeQueuedIds = accepted.recorder(ev.spikeQueued.id);
    await warm(buy(ev.spikeQueued, 'spikeq-warm'), [202], spikeQueuedIds);
    const queuedClosed = record(
      'spike-queued',
      'spike, queued (202)',
      purchases,
      await closed(purchases, buy(ev.spikeQueued, 'spikeq'), [202], spikeQueuedIds),
      'worker running',
    );
    await waitForBacklog(sql, lab.config, accepted.of(ev.spikeQueued.id));
    const spikeRate = options.spikeRate ?? Math.max(1, Math.round(queuedClosed.rate * 0.8));
    const queuedOpen = record(
      'spike-queued-open',
      `spike @ ${spikeRate}/s, queued (open)`,
      purchases,
      await open(purchases, spikeRate, buy(ev.spikeQueued, 'spikeq-open'), [202], spikeQueuedIds),
    );
    await waitForBacklog(sql, lab.config, accepted.of(ev.spikeQueued.id));

    const profiles: ProfileSummary[] = [];
    if (options.profile) {
      const run = { lab, connections, durationS: options.durationS, warmupS: options.warmupS, fileBase };
      for (const task of [
        {
          key: 'ceiling',
          label: 'ceiling: GET /health/live',
          request: { method: 'GET' as const, path: '/health/live' },
          expected: [200],
        },
        {
          key: 'sold-out',
          label: 'sold-out answer (409)',
          request: buy(ev.soldOut, 'soldout-prof'),
          expected: [409],
          onResponse: soldOutIds,
        },
        {
          key: 'admission',
          label: 'purchase admission (202), worker running',
          request: buy(ev.spikeQueued, 'admit-prof'),
          expected: [202],
          onResponse: spikeQueuedIds,
        },
      ]) {
        say(`profiling api-1 (V8 CPU profiler): ${task.label}`);
        const summary = await profileUnder(run, task);
        if (summary) profiles.push(summary);
      }
      await waitForBacklog(sql, lab.config, accepted.of(ev.spikeQueued.id));
    }

    say('restarting the replicas with PURCHASE_MODE=sync (the monolith baseline)');
    await lab.setPurchaseMode('sync');
    const syncMatch = { ...purchases, confirm: false };
    const spikeSyncIds = accepted.recorder(ev.spikeSync.id);
    await warm(buy(ev.spikeSync, 'spikes-warm'), [201], spikeSyncIds);
    const syncClosed = record(
      'spike-sync',
      'spike, sync baseline (201)',
      syncMatch,
      await closed(syncMatch, buy(ev.spikeSync, 'spikes'), [201], spikeSyncIds),
      'decided in the request',
    );
    const syncOpen = record(
      'spike-sync-open',
      `spike @ ${spikeRate}/s, sync (open)`,
      syncMatch,
      await open(syncMatch, spikeRate, buy(ev.spikeSync, 'spikes-open'), [201], spikeSyncIds),
    );

    say('reconciling every purchase event');
    const reconciliation = await reconcileEvents(sql, lab.config, [
      { phase: 'sold-out', eventId: ev.soldOut.id, acceptedIds: accepted.of(ev.soldOut.id) },
      { phase: 'admission + drain', eventId: ev.admission.id, acceptedIds: accepted.of(ev.admission.id) },
      { phase: 'spike, queued', eventId: ev.spikeQueued.id, acceptedIds: accepted.of(ev.spikeQueued.id) },
      { phase: 'spike, sync', eventId: ev.spikeSync.id, acceptedIds: accepted.of(ev.spikeSync.id) },
    ]);
    if (accepted.unreadable > 0)
      reconciliation.push({
        phase: 'accepted answers without a purchase id',
        eventId: '-',
        accepted: accepted.unreadable,
        confirmed: 0,
        rejected: 0,
        oversold: 0,
        lost: accepted.unreadable,
        duplicated: 0,
        undersold: null,
        pass: false,
        failures: [`unreadable=${accepted.unreadable}`],
      });

    const settings: BenchSettings = {
      durationS: options.durationS,
      connections,
      warmupS: options.warmupS,
      quick: options.quick,
      spikeRate,
      readRate,
      nginxRateLimit: BENCH_RATE_LIMIT,
      nginxWorkers: 1,
      replicas: 3,
      logLevel: lab.config.LOG_LEVEL,
    };
    const comparisons = [compare('closed', queuedClosed, syncClosed), compare('open', queuedOpen, syncOpen)];
    const partial = {
      version: 1 as const,
      startedAt,
      finishedAt: new Date().toISOString(),
      machine,
      settings,
      paths,
      drain,
      comparisons,
      reconciliation,
      ...(profiles.length ? { profiles } : {}),
    };
    const results: BenchResults = { ...partial, targets: evaluateTargets(partial) };
    await mkdir(options.resultsDir, { recursive: true });
    const file = `${fileBase}.json`;
    await writeFile(file, `${JSON.stringify(results, null, 2)}\n`);
    return { results, file };
  } finally {
    await cleanup();
  }
}
