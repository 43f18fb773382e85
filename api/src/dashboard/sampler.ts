import type { BackplaneMessageOf, BackplanePublisher, BackplaneSubscriber } from '@stampede/core/backplane';
import type { Sql } from '@stampede/core/db';
import type { Availability } from '@stampede/core/events';
import type { ApiMetrics } from '@stampede/core/metrics';
import {
  admissionSeries,
  detectMarks,
  type EventFigures,
  type Frame,
  type Mark,
  quantileMs,
  type SampleRates,
  sampleRates,
  sumBuckets,
  type TimedSample,
} from './frame.js';
import type { QueueProbe } from './queue-probe.js';
import { readReplicaSample } from './replica-sample.js';
import { readSaleWindows, saleState, within } from './system-probes.js';

export interface SamplerDeps {
  instance: string;
  metrics: ApiMetrics;
  sql: Sql;
  ping: () => Promise<unknown>;
  brokerConnected: () => boolean;
  queue: QueueProbe;
  tickets: (eventId: string) => Promise<Availability>;
  /** The other replicas' samples and the worker's status; without it the dashboard sees this replica alone. */
  backplane?: BackplaneSubscriber;
  publisher?: BackplanePublisher;
  intervalMs?: number;
  /** Frames kept for a viewer who arrives: 300 at 1 Hz is the last five minutes. */
  historySize?: number;
}

export interface DashboardUpdate {
  frame: Frame;
  marks: Mark[];
}

export interface DashboardSampler {
  /** Adds a viewer; the sampler runs while there is one. Returns what it missed and the goodbye. */
  watch(
    eventId: string | undefined,
    viewer: (update: DashboardUpdate) => void,
  ): { frames: Frame[]; marks: Mark[]; stop(): void };
  viewers(): number;
}

/** A replica unheard of for this long is gone from the figures (and marked so). */
const PEER_STALE_MS = 3_000;
/** A replica answers another's sample at most this often: several watched replicas do not multiply the traffic. */
const ANSWER_EVERY_MS = 800;
/**
 * How long the sampler outlives its last viewer: an EventSource that reconnects (a stream
 * ends after 5 min, the client retries after 2 s) finds its history still there.
 */
const LINGER_MS = 3_000;

/**
 * One sampler per replica, shared by all its dashboard viewers, running only while there
 * is one. Each tick (1 s) it takes this replica's own figures from its metrics and
 * publishes them on the backplane (which makes every other replica answer with theirs),
 * asks Postgres, Redis and the broker one cheap question each (sale windows, PING, a passive
 * queue declare), reads tickets left the way buyers do, and turns it all into one frame for
 * every viewer. The timeline marks are what changed between two frames.
 */
export function createDashboardSampler(deps: SamplerDeps): DashboardSampler {
  const intervalMs = deps.intervalMs ?? 1_000;
  const historySize = deps.historySize ?? 300;
  const viewers = new Map<(u: DashboardUpdate) => void, string | undefined>();
  const peers = new Map<string, { prev?: TimedSample; cur: TimedSample; heardAt: number }>();
  let worker: { unacked: number; heardAt: number } | undefined;
  let decided = 0;
  let frames: Frame[] = [];
  let marks: Mark[] = [];
  let timer: NodeJS.Timeout | undefined;
  let lastTickAt = 0;
  let lastPublishedAt = 0;
  let ticking = false;
  let lingering: NodeJS.Timeout | undefined;
  const lastTiers = new Map<string, EventFigures['tiers']>();

  function record(from: string, sample: TimedSample): void {
    const known = peers.get(from);
    peers.set(from, { prev: known?.cur, cur: sample, heardAt: Date.now() });
  }

  async function publishOwn(watching: boolean): Promise<TimedSample> {
    const own: TimedSample = { ...(await readReplicaSample(deps.metrics)), at: Date.now() };
    lastPublishedAt = own.at;
    if (deps.publisher) {
      const { at: _at, ...sample } = own;
      void deps.publisher.publish({ kind: 'replica_sample', watching, ...sample });
    }
    return own;
  }

  if (deps.backplane) {
    deps.backplane.on('replica_sample', (m: BackplaneMessageOf<'replica_sample'>) => {
      if (m.from === deps.instance) return;
      const { v: _v, from, sentAt, kind: _k, watching, ...sample } = m;
      record(from, { ...sample, at: sentAt });
      if (watching && Date.now() - lastPublishedAt >= ANSWER_EVERY_MS) void publishOwn(viewers.size > 0);
    });
    deps.backplane.on('worker_status', (m) => {
      worker = { unacked: m.unacked, heardAt: Date.now() };
    });
    deps.backplane.on('purchases_decided', (m) => {
      if (timer) decided += m.purchases.length;
    });
  }

  async function eventFigures(now: number): Promise<{ postgres: boolean; events: Record<string, EventFigures> }> {
    const ids = [...new Set([...viewers.values()].filter((id): id is string => id !== undefined))];
    const windows = await within(800, readSaleWindows(deps.sql, ids)).catch(() => undefined);
    const events: Record<string, EventFigures> = {};
    await Promise.all(
      ids.map(async (id) => {
        const availability = await within(800, deps.tickets(id)).catch(() => undefined);
        const tiers =
          availability?.tiers.map((t) => ({ name: t.name, remaining: t.remaining, capacity: t.capacity })) ??
          lastTiers.get(id) ??
          [];
        lastTiers.set(id, tiers);
        events[id] = { sale: windows ? saleState(windows.get(id), now) : 'unknown', tiers };
      }),
    );
    return { postgres: windows !== undefined, events };
  }

  /** What the worker holds: what it said last, 0 when nobody consumes, unknown otherwise. */
  function unackedNow(consumers: number, workerFresh: boolean): number | null {
    if (workerFresh && worker) return worker.unacked;
    return consumers === 0 ? 0 : null;
  }

  async function tick(): Promise<void> {
    if (ticking) return;
    ticking = true;
    try {
      const own = await publishOwn(true);
      record(deps.instance, own);
      const now = Date.now();
      const [redis, queue, figures] = await Promise.all([
        within(800, deps.ping()).then(
          () => true,
          () => false,
        ),
        deps.queue.check(),
        eventFigures(now),
      ]);
      const seconds = lastTickAt > 0 ? (now - lastTickAt) / 1000 : 1;
      lastTickAt = now;

      const replicas: Record<string, number> = {};
      const rates: SampleRates[] = [];
      for (const [name, p] of peers) {
        if (now - p.heardAt > PEER_STALE_MS) continue;
        const r = p.prev ? sampleRates(p.prev, p.cur) : undefined;
        replicas[name] = r?.rps ?? 0;
        if (r) rates.push(r);
      }
      const reads = sumBuckets(rates.map((r) => r.readBuckets));
      const admissions = sumBuckets(rates.map((r) => r.admissionBuckets));
      const workerFresh = worker !== undefined && now - worker.heardAt <= PEER_STALE_MS;
      const frame: Frame = {
        t: now,
        replicas,
        admissions: admissionSeries(rates),
        latencyMs: {
          read: { p50: quantileMs(reads, 0.5), p99: quantileMs(reads, 0.99) },
          admission: { p50: quantileMs(admissions, 0.5), p99: quantileMs(admissions, 0.99) },
        },
        queue: queue ? { ...queue, unacked: unackedNow(queue.consumers, workerFresh) } : null,
        drainRate: decided / seconds,
        workerUp: queue ? queue.consumers > 0 : workerFresh,
        health: { redis, postgres: figures.postgres, broker: deps.brokerConnected() && queue !== undefined },
        events: figures.events,
      };
      decided = 0;
      // Stopped while this tick waited: nothing to keep, nobody to tell.
      if (!timer) return;
      const newMarks = detectMarks(frames[frames.length - 1], frame);
      frames.push(frame);
      if (frames.length > historySize) frames = frames.slice(-historySize);
      marks.push(...newMarks);
      if (marks.length > 200) marks = marks.slice(-200);
      for (const viewer of viewers.keys()) viewer({ frame, marks: newMarks });
    } finally {
      ticking = false;
    }
  }

  function start(): void {
    if (timer) return;
    decided = 0;
    lastTickAt = 0;
    timer = setInterval(() => void tick().catch(() => undefined), intervalMs);
    timer.unref();
    void tick().catch(() => undefined);
  }

  function stop(): void {
    if (!timer) return;
    clearInterval(timer);
    timer = undefined;
    // Nobody watches: nothing is kept, and the broker connection is given back.
    frames = [];
    marks = [];
    peers.clear();
    void deps.queue.close();
  }

  return {
    watch(eventId, viewer) {
      viewers.set(viewer, eventId);
      clearTimeout(lingering);
      start();
      return {
        frames: [...frames],
        marks: [...marks],
        stop() {
          viewers.delete(viewer);
          if (viewers.size > 0) return;
          clearTimeout(lingering);
          lingering = setTimeout(() => {
            if (viewers.size === 0) stop();
          }, LINGER_MS);
          lingering.unref();
        },
      };
    },
    viewers: () => viewers.size,
  };
}
