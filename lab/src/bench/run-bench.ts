import { randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createSql } from '@stampede/core/db';
import type { Progress } from '../local-lab/lab.js';
import { API_REPLICAS } from '../local-lab/lab-options.js';
import { type BenchEvents, createBenchEvents, deleteBenchEvents } from './bench-events.js';
import { BENCH_RATE_LIMIT, startBenchLab } from './bench-lab.js';
import { AcceptedIds, type BreakdownTarget, classifier, type SeriesMatch, withBreakdown } from './bench-phases.js';
import { profileUnder } from './bench-profile.js';
import { reconcileEvents, waitForBacklog } from './bench-reconcile.js';
import type { BenchResults, BenchSettings, ReconcileFigures } from './bench-results.js';
import type { PathResult, RoundResult } from './bench-types.js';
import { assertWrkInstalled, type OnAccepted, runClosedLoad, wrkVersion } from './closed-load.js';
import type { ProfileSummary } from './cpu-profile.js';
import { type DrainResult, measureDrain, purchaseRows, workerBatches } from './drain.js';
import { fixedRequest, type LoadRequest, purchaseRequest, requestSource } from './load-request.js';
import { machineInfo } from './machine.js';
import { runPacedLoad } from './paced-load.js';
import { cpuBetween, cpuSnapshot } from './proc-cpu.js';
import { type ReferenceStack, startReferenceStack } from './reference/reference-stack.js';
import { pairedRatios, summarizeDrains, summarizeRounds } from './rounds.js';
import { compare, evaluateTargets } from './targets.js';

export interface BenchOptions {
  /** Seconds of load per path and round (whole seconds: wrk takes no fractions). */
  durationS: number;
  connections: number;
  /**
   * Keep-alive connections the open-model generator may use at once (default 4× the closed
   * model's): arrivals do not wait for each other, so the concurrency a rate needs is the
   * rate times the latency, and a pool no larger than the closed model's ran out at 80 %
   * of its rate, leaving arrivals queued in the generator rather than in the stack.
   */
  openConnections?: number;
  /** wrk threads (default 1: one event loop is far from saturating, and leaves the cores to the stacks). */
  threads?: number;
  /** Rounds per compared path, reference and Stampede alternately (at least 2). */
  rounds?: number;
  /** Seconds of unmeasured load before a path (JIT, caches, connections); 0 skips it. */
  warmupS: number;
  quick: boolean;
  /** Arrivals per second of the open-model spike; default 80 % of the queued closed-model rate. */
  spikeRate?: number;
  /** Where the results JSON goes (bench-results/). */
  resultsDir: string;
  /** CPU profiles of api-1 and of the reference's ref-1 under each compared path (V8 profiler, see profile-preload.ts). */
  profile?: boolean;
  /** Keep the run's events and purchases in Postgres (they are deleted by default). */
  keepData?: boolean;
  /** Stampede's nginx micro-caches availability reads for 1 s (the reference's never does). */
  edgeCache?: boolean;
  /** Decision lanes of the lab's API and worker (AMQP_LANES; default 0, the one shared queue). */
  lanes?: number;
  /** Buckets of the drain's hot tier (default 1: not split). */
  hotBuckets?: number;
  onProgress?: Progress;
  /** Receives the run's clean-up (lab, reference, queues, keys, events), for a Ctrl-C handler. */
  onCleanup?: (cleanup: () => Promise<void>) => void;
}

type Side = 'reference' | 'stampede';
const SIDES: Side[] = ['reference', 'stampede'];

const ms = (v: number) => `${v.toFixed(v < 10 ? 2 : 1)} ms`;
const line = (label: string, r: RoundResult) =>
  `${label.padEnd(40)} ${String(r.rate).padStart(7)} /s  p50 ${ms(r.p50Ms)}  p99 ${ms(r.p99Ms)}${r.generatorCpu !== undefined ? `  generator ${r.generatorCpu.toFixed(2)} cores` : ''}`;

/** A path measured on both stacks. */
interface ComparedSpec {
  key: string;
  label: string;
  match: SeriesMatch & { path: string };
  expected: number[];
  /** The requests of one side for one phase (warm-up or round): purchases get a key prefix per phase. */
  request: (side: Side, phase: string) => LoadRequest;
  onAccepted?: (side: Side) => OnAccepted | undefined;
  /** Runs after each pair of rounds (the drains of the admission rounds). */
  afterRound?: (round: number) => Promise<void>;
  note?: string;
}

/**
 * One benchmark run: a private lab and the minimal reference side by side on the same
 * servers; every compared path measured on both, alternately (reference, Stampede,
 * reference, Stampede, …), through their nginx; the drains; the open-model phases; the
 * spike against the synchronous baseline; and the reconciliation of every purchase made.
 * Writes the results to `<resultsDir>/bench-<time>.json`.
 */
export async function runBench(options: BenchOptions): Promise<{ results: BenchResults; file: string }> {
  assertWrkInstalled();
  const say = options.onProgress ?? (() => {});
  const threads = options.threads ?? 1;
  const rounds = Math.max(2, options.rounds ?? 2);
  const durationS = Math.max(1, Math.round(options.durationS));
  const warmupS = Math.round(options.warmupS);
  const { connections } = options;
  const openConnections = Math.max(connections, options.openConnections ?? connections * 4);
  const startedAt = new Date().toISOString();
  const machine = machineInfo();
  const tag = randomUUID().slice(0, 8);
  say(`starting a private lab (nginx rate limit raised to ${BENCH_RATE_LIMIT}/s)`);
  const lab = await startBenchLab({
    onProgress: say,
    edgeCache: options.edgeCache ?? false,
    ...(options.lanes ? { env: { AMQP_LANES: String(options.lanes) } } : {}),
  });
  const sql = createSql(lab.config, { max: 4, applicationName: 'stampede-bench' });
  const accepted = new AcceptedIds();
  const referenceAccepted = new AcceptedIds();
  const paths: PathResult[] = [];
  const referencePaths: PathResult[] = [];
  let events: BenchEvents | undefined;
  let ref: ReferenceStack | undefined;
  let cleaned: Promise<void> | undefined;
  const cleanup = () =>
    (cleaned ??= (async () => {
      await ref?.close().catch(() => undefined);
      if (events && !options.keepData) await deleteBenchEvents(sql, events).catch(() => undefined);
      await sql.close();
      await lab.close();
    })());
  options.onCleanup?.(cleanup);

  const fileBase = join(options.resultsDir, `bench-${startedAt.replace(/[:.]/g, '-')}`);
  try {
    if (options.lanes || (options.hotBuckets ?? 1) > 1)
      say(`decision lanes ${options.lanes ?? 0}, the drain's hot tier in ${options.hotBuckets ?? 1} bucket(s)`);
    events = await createBenchEvents(sql, { hotBuckets: options.hotBuckets ?? 1 });
    const ev = events;
    const readsPath = `/events/${ev.reads.id}/availability`;
    const readsAnswer = await fetch(`${lab.base}${readsPath}`);
    if (readsAnswer.status !== 200) throw new Error(`the read of the benchmark's event answered ${readsAnswer.status}`);
    say('starting the minimal reference: three bare Hono replicas behind the same nginx template, on the same servers');
    ref = await startReferenceStack({
      sql,
      labConfig: lab.config,
      tag,
      rateLimit: BENCH_RATE_LIMIT,
      reads: { eventId: ev.reads.id, body: await readsAnswer.text() },
    });
    const reference = ref;

    const targets: Record<Side, BreakdownTarget & { base: string }> = {
      stampede: {
        base: lab.base,
        pids: async () =>
          Object.fromEntries(Object.entries(await lab.pids()).filter(([, pid]) => pid)) as Record<string, number>,
        metricsPorts: API_REPLICAS.map((r) => lab.state.options.apiPorts[r]),
      },
      reference: { base: reference.base, pids: () => reference.pids(), metricsPorts: [] },
    };
    const closed = (side: Side, request: LoadRequest, seconds: number, expected: number[], onAccepted?: OnAccepted) =>
      runClosedLoad({
        base: targets[side].base,
        connections,
        threads,
        durationS: seconds,
        request,
        expected,
        ...(onAccepted ? { onAccepted } : {}),
      });
    const measured = (
      side: Side,
      match: SeriesMatch,
      request: LoadRequest,
      expected: number[],
      onAccepted?: OnAccepted,
    ) => withBreakdown(targets[side], match, () => closed(side, request, durationS, expected, onAccepted));
    const named = (key: string, label: string, match: SeriesMatch & { path: string }, note?: string) => ({
      key,
      label,
      method: match.method,
      route: match.path,
      ...(note ? { note } : {}),
    });
    const record = (p: PathResult) => {
      paths.push(p);
      say(line(p.label, p));
      return p;
    };

    const compared = async (spec: ComparedSpec): Promise<PathResult> => {
      if (warmupS > 0)
        for (const side of SIDES)
          await closed(side, spec.request(side, 'warm'), warmupS, spec.expected, spec.onAccepted?.(side));
      const byside: Record<Side, RoundResult[]> = { reference: [], stampede: [] };
      for (let i = 0; i < rounds; i += 1) {
        for (const side of SIDES) {
          const r = await measured(
            side,
            spec.match,
            spec.request(side, `r${i + 1}`),
            spec.expected,
            spec.onAccepted?.(side),
          );
          byside[side].push(r);
          say(line(`  round ${i + 1}, ${side}`, r));
        }
        await spec.afterRound?.(i);
      }
      const { ratios, ratio } = pairedRatios(
        byside.stampede.map((r) => r.rate),
        byside.reference.map((r) => r.rate),
      );
      const name = named(spec.key, spec.label, spec.match, spec.note);
      referencePaths.push({ ...summarizeRounds(byside.reference), ...name, rounds: byside.reference });
      const p = record({ ...summarizeRounds(byside.stampede), ...name, rounds: byside.stampede, ratios, ratio });
      say(`  ${spec.label}: Stampede ÷ reference = ${ratio} (rounds ${ratios.join(', ')})`);
      return p;
    };
    const open = async (
      key: string,
      label: string,
      match: SeriesMatch & { path: string },
      rate: number,
      request: LoadRequest,
      expected: number[],
      onResponse?: (s: number, b: string) => void,
      note?: string,
    ) =>
      record({
        ...(await withBreakdown(targets.stampede, match, () =>
          runPacedLoad({
            base: lab.base,
            connections: openConnections,
            rate,
            durationS,
            request: requestSource(request),
            expected,
            ...(onResponse ? { onResponse } : {}),
          }),
        )),
        ...named(key, label, match, note ?? `open model, ${rate} arrivals/s`),
      });
    const single = async (
      key: string,
      label: string,
      match: SeriesMatch & { path: string },
      request: (phase: string) => LoadRequest,
      expected: number[],
      onAccepted?: OnAccepted,
      note?: string,
    ) => {
      if (warmupS > 0) await closed('stampede', request('warm'), warmupS, expected, onAccepted);
      return record({
        ...(await measured('stampede', match, request('closed'), expected, onAccepted)),
        ...named(key, label, match, note),
      });
    };

    const live = { method: 'GET', route: 'health', path: '/health/live' };
    const reads = { method: 'GET', route: 'availability', path: '/events/:id/availability' };
    const purchases = { method: 'POST', route: 'purchases', path: '/events/:id/purchases', confirm: true };
    const refusals = { ...purchases, confirm: false };
    const buy = (eventId: string, tierId: string, phase: string) =>
      purchaseRequest(eventId, tierId, `bench-${tag}-${phase}`);

    await compared({
      key: 'ceiling',
      label: 'GET /health/live',
      match: live,
      expected: [200],
      request: () => fixedRequest('GET', '/health/live'),
    });
    const readResult = await compared({
      key: 'reads',
      label: 'availability read (cached)',
      match: reads,
      expected: [200],
      request: () => fixedRequest('GET', readsPath),
    });
    const readRate = Math.max(1, Math.round(readResult.rate * 0.8));
    await open('reads-open', 'availability read @ 80 % (open)', reads, readRate, fixedRequest('GET', readsPath), [200]);

    // Stampede's sold-out tier is sold in a first burst; the reference's gate starts at 0.
    await runPacedLoad({
      base: lab.base,
      connections: 2,
      rate: 20,
      durationS: 1,
      request: requestSource(buy(ev.soldOut.id, ev.soldOut.tiers[0]!.id, 'sellout')),
      expected: [202, 409],
      onResponse: accepted.recorder(ev.soldOut.id),
    });
    await compared({
      key: 'sold-out',
      label: 'sold-out answer (409)',
      match: refusals,
      expected: [409],
      request: (side, phase) =>
        side === 'stampede'
          ? buy(ev.soldOut.id, ev.soldOut.tiers[0]!.id, `soldout-${phase}`)
          : buy(reference.soldOut.eventId, reference.soldOut.tierId, `ref-soldout-${phase}`),
      onAccepted: (side) =>
        side === 'stampede' ? accepted.adder(ev.soldOut.id) : referenceAccepted.adder(reference.soldOut.tierId),
    });

    say('stopping the worker: each admission round leaves a backlog, drained by its own consumer after the round');
    await lab.stopWorker();
    const drains: Record<Side, DrainResult[]> = { reference: [], stampede: [] };
    const drainedSoFar: Record<Side, number> = { reference: 0, stampede: 0 };
    const drainRound = async (side: Side) => {
      const ids = side === 'stampede' ? accepted.of(ev.admission.id) : referenceAccepted.of(reference.admission.tierId);
      const answers = ids.length - drainedSoFar[side];
      drainedSoFar[side] = ids.length;
      let cpuBefore = await cpuSnapshot();
      const start = async () => {
        if (side === 'stampede') await lab.startWorker();
        else await reference.startDrain();
        cpuBefore = await cpuSnapshot();
      };
      const d =
        side === 'stampede'
          ? await measureDrain(
              {
                rows: purchaseRows(sql),
                broker: { url: lab.config.AMQP_URL, prefix: lab.config.AMQP_PREFIX, lanes: lab.config.AMQP_LANES },
                start,
              },
              ev.admission.id,
              answers,
            )
          : await measureDrain(
              {
                rows: reference.rows,
                broker: { url: reference.config.AMQP_URL, prefix: reference.config.AMQP_PREFIX },
                start,
              },
              reference.admission.eventId,
              answers,
            );
      d.cpu = cpuBetween(cpuBefore, await cpuSnapshot(), await classifier(targets[side]));
      if (side === 'stampede') {
        const batches = await workerBatches(lab.state.options.workerPort);
        if (batches) d.batches = batches;
        await lab.stopWorker();
      } else {
        await reference.stopDrain();
      }
      drains[side].push(d);
      say(
        `  drain, ${side}: ${d.decided} purchases in ${d.decideSeconds} s = ${d.rate} /s (wall ${d.wallSeconds} s with the consumer's boot)${d.complete ? '' : ' INCOMPLETE'}`,
      );
    };
    const admission = await compared({
      key: 'admission',
      label: 'purchase admission (202)',
      match: purchases,
      expected: [202],
      note: 'worker stopped',
      request: (side, phase) =>
        side === 'stampede'
          ? buy(ev.admission.id, ev.admission.tiers[0]!.id, `admit-${phase}`)
          : buy(reference.admission.eventId, reference.admission.tierId, `ref-admit-${phase}`),
      onAccepted: (side) =>
        side === 'stampede' ? accepted.adder(ev.admission.id) : referenceAccepted.adder(reference.admission.tierId),
      afterRound: async () => {
        for (const side of SIDES) await drainRound(side);
      },
    });
    const drainRatios = pairedRatios(
      drains.stampede.map((d) => d.rate),
      drains.reference.map((d) => d.rate),
    );
    const drain = { ...summarizeDrains(drains.stampede), rounds: drains.stampede, ...drainRatios };
    const referenceDrain = { ...summarizeDrains(drains.reference), rounds: drains.reference };
    say(`drain: Stampede ÷ reference = ${drainRatios.ratio} (rounds ${drainRatios.ratios.join(', ')})`);

    const admissionRate = Math.max(1, Math.round(admission.rate * 0.8));
    await open(
      'admission-open',
      'purchase admission @ 80 % (open)',
      purchases,
      admissionRate,
      buy(ev.admission.id, ev.admission.tiers[0]!.id, 'admit-open'),
      [202],
      accepted.recorder(ev.admission.id),
      `open model, ${admissionRate} arrivals/s, worker stopped`,
    );
    say('starting the worker on the open-model backlog');
    await lab.startWorker();
    await waitForBacklog(sql, lab.config, accepted.of(ev.admission.id));

    const spikeQueued = (phase: string) => buy(ev.spikeQueued.id, ev.spikeQueued.tiers[0]!.id, `spikeq-${phase}`);
    const queuedClosed = await single(
      'spike-queued',
      'spike, queued (202)',
      purchases,
      spikeQueued,
      [202],
      accepted.adder(ev.spikeQueued.id),
      'worker running',
    );
    await waitForBacklog(sql, lab.config, accepted.of(ev.spikeQueued.id));
    const spikeRate = options.spikeRate ?? Math.max(1, Math.round(queuedClosed.rate * 0.8));
    const queuedOpen = await open(
      'spike-queued-open',
      `spike @ ${spikeRate}/s, queued (open)`,
      purchases,
      spikeRate,
      spikeQueued('open'),
      [202],
      accepted.recorder(ev.spikeQueued.id),
      '',
    );
    await waitForBacklog(sql, lab.config, accepted.of(ev.spikeQueued.id));

    const profiles: ProfileSummary[] = [];
    if (options.profile) {
      const run = { connections, threads, durationS, warmupS, dir: lab.dir, fileBase };
      const stacks = {
        stampede: { replica: 'api-1', base: lab.base, profiler: (dir: string) => lab.profileReplica('api-1', dir) },
        reference: { replica: 'ref-1', base: reference.base, profiler: (dir: string) => reference.profileReplica(dir) },
      };
      const tasks: {
        key: string;
        label: string;
        expected: number[];
        request: (side: Side, phase: string) => LoadRequest;
        onAccepted?: (side: Side) => OnAccepted | undefined;
      }[] = [
        {
          key: 'ceiling',
          label: 'GET /health/live',
          expected: [200],
          request: () => fixedRequest('GET', '/health/live'),
        },
        {
          key: 'reads',
          label: 'availability read (cached)',
          expected: [200],
          request: () => fixedRequest('GET', readsPath),
        },
        {
          key: 'sold-out',
          label: 'sold-out answer (409)',
          expected: [409],
          request: (side: Side, phase: string) =>
            side === 'stampede'
              ? buy(ev.soldOut.id, ev.soldOut.tiers[0]!.id, `soldout-${phase}`)
              : buy(reference.soldOut.eventId, reference.soldOut.tierId, `ref-soldout-${phase}`),
          onAccepted: (side: Side) => (side === 'stampede' ? accepted.adder(ev.soldOut.id) : undefined),
        },
        {
          key: 'admission',
          label: 'purchase admission (202)',
          expected: [202],
          // Stampede's on the spike event with the worker running; the reference's queue
          // keeps its backlog (removed with its queues at the end).
          request: (side: Side, phase: string) =>
            side === 'stampede'
              ? spikeQueued(phase)
              : buy(reference.admission.eventId, reference.admission.tierId, `ref-admit-${phase}`),
          onAccepted: (side: Side) => (side === 'stampede' ? accepted.adder(ev.spikeQueued.id) : undefined),
        },
      ];
      for (const task of tasks)
        for (const side of SIDES) {
          say(`profiling ${stacks[side].replica} (V8 CPU profiler): ${task.label}`);
          const onAccepted = task.onAccepted?.(side);
          const summary = await profileUnder(run, {
            key: task.key,
            label: task.label,
            stack: side,
            ...stacks[side],
            expected: task.expected,
            request: (phase) => task.request(side, `prof-${phase}`),
            ...(onAccepted ? { onAccepted } : {}),
          });
          if (summary) profiles.push(summary);
        }
      await waitForBacklog(sql, lab.config, accepted.of(ev.spikeQueued.id));
    }

    say('restarting the replicas with PURCHASE_MODE=sync (the monolith baseline)');
    await lab.setPurchaseMode('sync');
    const spikeSync = (phase: string) => buy(ev.spikeSync.id, ev.spikeSync.tiers[0]!.id, `spikes-${phase}`);
    const syncClosed = await single(
      'spike-sync',
      'spike, sync baseline (201)',
      refusals,
      spikeSync,
      [201],
      accepted.adder(ev.spikeSync.id),
      'decided in the request',
    );
    const syncOpen = await open(
      'spike-sync-open',
      `spike @ ${spikeRate}/s, sync (open)`,
      refusals,
      spikeRate,
      spikeSync('open'),
      [201],
      accepted.recorder(ev.spikeSync.id),
      '',
    );

    say('reconciling every purchase event');
    const reconciliation: ReconcileFigures[] = await reconcileEvents(sql, lab.config, [
      { phase: 'sold-out', eventId: ev.soldOut.id, acceptedIds: accepted.of(ev.soldOut.id) },
      { phase: 'admission + drain', eventId: ev.admission.id, acceptedIds: accepted.of(ev.admission.id) },
      { phase: 'spike, queued', eventId: ev.spikeQueued.id, acceptedIds: accepted.of(ev.spikeQueued.id) },
      { phase: 'spike, sync', eventId: ev.spikeSync.id, acceptedIds: accepted.of(ev.spikeSync.id) },
    ]);
    reconciliation.push(
      await reference.check(
        'reference admission + drain',
        reference.admission,
        referenceAccepted.of(reference.admission.tierId),
      ),
    );
    const unreadable = accepted.unreadable + referenceAccepted.unreadable;
    if (unreadable > 0)
      reconciliation.push({
        phase: 'accepted answers without a purchase id',
        eventId: '-',
        accepted: unreadable,
        confirmed: 0,
        rejected: 0,
        oversold: 0,
        lost: unreadable,
        duplicated: 0,
        undersold: null,
        pass: false,
        failures: [`unreadable=${unreadable}`],
      });

    const settings: BenchSettings = {
      durationS,
      connections,
      openConnections,
      threads,
      rounds,
      generator: wrkVersion(),
      warmupS,
      quick: options.quick,
      spikeRate,
      readRate,
      admissionRate,
      nginxRateLimit: BENCH_RATE_LIMIT,
      nginxWorkers: 1,
      edgeCache: options.edgeCache ?? false,
      lanes: lab.config.AMQP_LANES,
      hotBuckets: options.hotBuckets ?? 1,
      replicas: 3,
      logLevel: lab.config.LOG_LEVEL,
      names: {
        lab: { redisKeyPrefix: lab.config.REDIS_KEY_PREFIX, amqpPrefix: lab.config.AMQP_PREFIX },
        reference: {
          redisKeyPrefix: reference.config.REDIS_KEY_PREFIX,
          amqpPrefix: reference.config.AMQP_PREFIX,
          schema: reference.schema,
        },
      },
    };
    const comparisons = [compare('closed', queuedClosed, syncClosed), compare('open', queuedOpen, syncOpen)];
    const partial = {
      version: 2 as const,
      startedAt,
      finishedAt: new Date().toISOString(),
      machine,
      settings,
      paths,
      reference: referencePaths,
      drain,
      referenceDrain,
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
