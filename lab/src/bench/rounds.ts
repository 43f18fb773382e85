import type { PhaseBreakdown, RoundResult } from './bench-types.js';
import type { DrainResult } from './drain.js';

/** The median (the mean of the middle two for an even count); 0 for none. */
export function median(values: number[]): number {
  if (values.length === 0) return 0;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

const round = (v: number, digits: number) => Math.round(v * 10 ** digits) / 10 ** digits;
const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
const mean = (values: number[]) => (values.length ? sum(values) / values.length : 0);

/** CPU per group and the replicas' own times, averaged over rounds of equal length. */
function meanBreakdown(breakdowns: PhaseBreakdown[]): PhaseBreakdown | undefined {
  if (breakdowns.length === 0) return undefined;
  const groups = [...new Set(breakdowns.flatMap((b) => Object.keys(b.cpu)))];
  const cpu = Object.fromEntries(groups.map((g) => [g, round(mean(breakdowns.map((b) => b.cpu[g] ?? 0)), 2)]));
  const of = (k: 'serverMeanMs' | 'confirmMeanMs') => {
    const values = breakdowns.map((b) => b[k]).filter((v): v is number => v !== undefined);
    return values.length ? { [k]: round(mean(values), 3) } : {};
  };
  return { cpu, ...of('serverMeanMs'), ...of('confirmMeanMs') };
}

/**
 * One summary of a path's rounds: the median of each rate and latency figure, the sums
 * of the counts (so nothing any round saw is hidden), and the mean of the breakdowns.
 */
export function summarizeRounds(rounds: RoundResult[]): RoundResult {
  const first = rounds[0];
  if (!first) throw new Error('no rounds to summarize');
  const med = (pick: (r: RoundResult) => number, digits = 2) => round(median(rounds.map(pick)), digits);
  const statuses: Record<string, number> = {};
  for (const r of rounds) for (const [s, n] of Object.entries(r.statuses)) statuses[s] = (statuses[s] ?? 0) + n;
  const generator = rounds.map((r) => r.generatorCpu).filter((v): v is number => v !== undefined);
  const notSent = rounds.map((r) => r.notSent).filter((v): v is number => v !== undefined);
  const breakdown = meanBreakdown(rounds.map((r) => r.breakdown).filter((b): b is PhaseBreakdown => !!b));
  return {
    model: first.model,
    connections: first.connections,
    ...(first.targetRate !== undefined ? { targetRate: first.targetRate } : {}),
    durationS: round(sum(rounds.map((r) => r.durationS)), 2),
    expected: first.expected,
    completed: sum(rounds.map((r) => r.completed)),
    ok: sum(rounds.map((r) => r.ok)),
    rate: Math.round(median(rounds.map((r) => r.rate))),
    statuses,
    errors: sum(rounds.map((r) => r.errors)),
    ...(notSent.length ? { notSent: sum(notSent) } : {}),
    count: sum(rounds.map((r) => r.count)),
    meanMs: med((r) => r.meanMs),
    p50Ms: med((r) => r.p50Ms),
    p90Ms: med((r) => r.p90Ms),
    p99Ms: med((r) => r.p99Ms),
    maxMs: med((r) => r.maxMs),
    ...(generator.length ? { generatorCpu: round(median(generator), 2) } : {}),
    ...(breakdown ? { breakdown } : {}),
  };
}

/** Each round's Stampede ÷ reference, and their median. */
export function pairedRatios(stampede: number[], reference: number[]): { ratios: number[]; ratio: number } {
  const ratios = stampede.map((s, i) => round(reference[i] ? s / reference[i]! : 0, 3));
  return { ratios, ratio: round(median(ratios), 3) };
}

/**
 * One summary of drain rounds: the median rate, the sums of what was drained, every
 * round complete, CPU averaged, the worker's batch figures weighted by batches.
 */
export function summarizeDrains(rounds: DrainResult[]): DrainResult {
  if (rounds.length === 0) throw new Error('no drain rounds to summarize');
  const total = (pick: (d: DrainResult) => number) => sum(rounds.map(pick));
  const cpus = rounds.map((d) => d.cpu).filter((c): c is Record<string, number> => !!c);
  const batched = rounds.map((d) => d.batches).filter((b): b is NonNullable<DrainResult['batches']> => !!b);
  const batches = total((d) => d.batches?.count ?? 0);
  return {
    backlog: total((d) => d.backlog),
    acceptedAnswers: total((d) => d.acceptedAnswers),
    decided: total((d) => d.decided),
    decideSeconds: round(
      total((d) => d.decideSeconds),
      3,
    ),
    wallSeconds: round(
      total((d) => d.wallSeconds),
      3,
    ),
    rate: Math.round(median(rounds.map((d) => d.rate))),
    complete: rounds.every((d) => d.complete),
    ...(cpus.length ? { cpu: meanBreakdown(cpus.map((cpu) => ({ cpu })))!.cpu } : {}),
    ...(batches > 0
      ? {
          batches: {
            count: batches,
            meanSize: Math.round(sum(batched.map((b) => b.meanSize * b.count)) / batches),
            meanMs: round(sum(batched.map((b) => b.meanMs * b.count)) / batches, 1),
          },
        }
      : {}),
  };
}
