import type { BenchResults, SpikeComparison, TargetResult } from './bench-results.js';
import type { LoadResult } from './bench-types.js';

const round = (v: number, digits = 2) => Math.round(v * 10 ** digits) / 10 ** digits;

/** The queued design against the sync baseline on one spike (same model, rate, connections). */
export function compare(model: SpikeComparison['model'], queued: LoadResult, sync: LoadResult): SpikeComparison {
  return {
    model,
    queuedRate: queued.rate,
    syncRate: sync.rate,
    throughputRatio: sync.rate > 0 ? round(queued.rate / sync.rate) : Infinity,
    queuedP99Ms: queued.p99Ms,
    syncP99Ms: sync.p99Ms,
    p99Ratio: queued.p99Ms > 0 ? round(sync.p99Ms / queued.p99Ms) : Infinity,
  };
}

const pct = (v: number | undefined) => (v === undefined ? 'n/a' : `${round(v * 100, 1)} % of the ceiling`);

/** The targets of issue 6, each with what this run measured and whether it is met. */
export function evaluateTargets(r: Omit<BenchResults, 'targets'>): TargetResult[] {
  const path = (key: string) => r.paths.find((p) => p.key === key);
  const reads = path('reads');
  const readsOpen = path('reads-open');
  const admission = path('admission');
  const soldOut = path('sold-out');
  const out: TargetResult[] = [
    {
      target: 'cached availability read ≥ 0.85 of the ceiling',
      measured: pct(reads?.ratio),
      met: (reads?.ratio ?? 0) >= 0.85,
    },
    {
      target: 'cached read p99 < 10 ms at 80 % of that rate',
      measured: readsOpen ? `p99 ${readsOpen.p99Ms} ms at ${readsOpen.targetRate}/s` : 'n/a',
      met: !!readsOpen && readsOpen.p99Ms < 10 && (readsOpen.notSent ?? 0) === 0,
    },
    {
      target: 'purchase admission ≥ 0.30 of the ceiling',
      measured: pct(admission?.ratio),
      met: (admission?.ratio ?? 0) >= 0.3,
    },
    {
      target: 'purchase admission p99 < 30 ms',
      measured: admission
        ? `p99 ${admission.p99Ms} ms (closed model at saturation, ${admission.connections} connections)`
        : 'n/a',
      met: !!admission && admission.p99Ms < 30,
    },
    {
      target: 'sold-out answer ≥ 0.80 of the ceiling',
      measured: pct(soldOut?.ratio),
      met: (soldOut?.ratio ?? 0) >= 0.8,
    },
    {
      target: 'drain ≥ 20,000 purchases decided per second',
      measured: `${r.drain.rate}/s (${r.drain.decided} purchases)`,
      met: r.drain.complete && r.drain.rate >= 20_000,
    },
    {
      target: 'drain faster than admission',
      measured: `${r.drain.rate}/s vs ${admission?.rate ?? 0}/s`,
      met: r.drain.complete && r.drain.rate > (admission?.rate ?? Infinity),
    },
  ];
  for (const c of r.comparisons) {
    const spike =
      c.model === 'open'
        ? `open-model spike at ${r.settings.spikeRate}/s`
        : `closed-model spike, ${r.settings.connections} connections`;
    out.push(
      {
        target: `queued ≥ 3× the sync accepted throughput (${spike})`,
        measured: `${c.throughputRatio}× (${c.queuedRate}/s vs ${c.syncRate}/s)`,
        met: c.throughputRatio >= 3,
      },
      {
        target: `queued p99 ≥ 10× lower than sync (${spike})`,
        measured: `${c.p99Ratio}× (${c.queuedP99Ms} ms vs ${c.syncP99Ms} ms)`,
        met: c.p99Ratio >= 10,
      },
    );
  }
  const failed = r.reconciliation.filter((x) => !x.pass);
  out.push({
    target: 'zero oversold, lost, duplicated (reconciliation)',
    measured:
      failed.length === 0
        ? `all ${r.reconciliation.length} purchase events pass`
        : failed.map((f) => `${f.phase}: ${f.failures.join(', ')}`).join('; '),
    met: failed.length === 0,
  });
  return out;
}
