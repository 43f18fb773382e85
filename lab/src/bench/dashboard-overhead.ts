import { randomUUID } from 'node:crypto';
import { createSql } from '@stampede/core/db';
import { createBenchEvents, deleteBenchEvents } from './bench-events.js';
import { startBenchLab } from './bench-lab.js';
import { assertWrkInstalled, runClosedLoad } from './closed-load.js';
import { purchaseRequest } from './load-request.js';

export interface OverheadRound {
  dashboard: 'open' | 'closed';
  /** 202s per second. */
  rate: number;
  p99Ms: number;
}

export interface OverheadResult {
  rounds: OverheadRound[];
  closed: { mean: number; min: number; max: number };
  open: { mean: number; min: number; max: number };
  /** (open − closed) / closed of the means, in %. */
  differencePercent: number;
  viewers: number;
  /** Frames the viewers received while open: proof they were watching. */
  frames: number;
}

/** ABBA BAAB: a drift over the run (the growing backlog) falls on both sides alike. */
const ORDER: OverheadRound['dashboard'][] = ['closed', 'open', 'open', 'closed', 'open', 'closed', 'closed', 'open'];

/**
 * The benchmark's admission path (wrk, closed model, worker stopped) with the dashboard
 * closed and open in alternate rounds, on a lab of its own. "Open" is `viewers` event
 * streams of /dashboard/stream through nginx (least_conn spreads them over the replicas,
 * so every replica samples), read by this process: the system's cost, without a browser
 * rendering on the same cores.
 */
export async function measureDashboardOverhead(options: {
  durationS: number;
  connections: number;
  viewers: number;
  say: (line: string) => void;
}): Promise<OverheadResult> {
  assertWrkInstalled();
  const lab = await startBenchLab();
  const sql = createSql(lab.config, { max: 2, applicationName: 'stampede-bench' });
  const events = await createBenchEvents(sql);
  const tag = randomUUID().slice(0, 8);
  let frames = 0;
  try {
    await lab.stopWorker();
    const event = events.admission;
    const url = `${lab.base}/dashboard/stream?eventId=${event.id}`;
    // Warm-up: JIT, pools, the gate's scripts.
    await runClosedLoad({
      base: lab.base,
      connections: options.connections,
      threads: 1,
      durationS: 2,
      request: purchaseRequest(event.id, event.tiers[0]!.id, `ovh-${tag}-warm`),
      expected: [202],
    });
    const rounds: OverheadRound[] = [];
    for (const [i, dashboard] of ORDER.entries()) {
      const watching = dashboard === 'open' ? await openViewers(url, options.viewers, () => frames++) : undefined;
      // Let the samplers start before the load does.
      if (watching) await new Promise((r) => setTimeout(r, 1_500));
      const r = await runClosedLoad({
        base: lab.base,
        connections: options.connections,
        threads: 1,
        durationS: options.durationS,
        request: purchaseRequest(event.id, event.tiers[0]!.id, `ovh-${tag}-${i}`),
        expected: [202],
      });
      watching?.abort();
      rounds.push({ dashboard, rate: r.rate, p99Ms: r.p99Ms });
      options.say(`  round ${i + 1}, dashboard ${dashboard}: ${r.rate} 202/s, p99 ${r.p99Ms} ms`);
      await new Promise((r) => setTimeout(r, 1_000));
    }
    const side = (d: OverheadRound['dashboard']) => {
      const rates = rounds.filter((r) => r.dashboard === d).map((r) => r.rate);
      return {
        mean: Math.round(rates.reduce((a, b) => a + b, 0) / rates.length),
        min: Math.min(...rates),
        max: Math.max(...rates),
      };
    };
    const closed = side('closed');
    const open = side('open');
    return {
      rounds,
      closed,
      open,
      differencePercent: Math.round(((open.mean - closed.mean) / closed.mean) * 1000) / 10,
      viewers: options.viewers,
      frames,
    };
  } finally {
    await deleteBenchEvents(sql, events).catch(() => undefined);
    await sql.close();
    await lab.close();
  }
}

/** `count` event streams, each read to its end (or the abort); counts the frames. */
async function openViewers(url: string, count: number, onFrame: () => void): Promise<AbortController> {
  const abort = new AbortController();
  await Promise.all(
    Array.from({ length: count }, async () => {
      const res = await fetch(url, { signal: abort.signal, headers: { accept: 'text/event-stream' } });
      if (res.status !== 200 || !res.body) throw new Error(`dashboard stream answered ${res.status}`);
      void (async () => {
        const decoder = new TextDecoder();
        try {
          for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>)
            for (const line of decoder.decode(chunk, { stream: true }).split('\n'))
              if (line === 'event: frame') onFrame();
        } catch {
          // aborted at the end of the round
        }
      })();
    }),
  );
  return abort;
}
