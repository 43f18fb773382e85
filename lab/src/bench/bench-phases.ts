import type { LoadResult, PhaseBreakdown, RoundResult } from './bench-types.js';
import { type Classifier, cpuBetween, cpuSnapshot, serviceOf } from './proc-cpu.js';
import { meanBetween, scrapeReplicas } from './replica-metrics.js';

const PURCHASE_ID = /"purchaseId":"([0-9a-f-]{36})"/;

/**
 * The ids of the purchases a run was told were accepted (202 queued, 201 decided in
 * sync mode), per event: what the reconciliation checks for "lost".
 */
export class AcceptedIds {
  readonly byEvent = new Map<string, string[]>();
  /** An accepted answer whose body had no purchase id: counted, so it cannot hide. */
  unreadable = 0;

  recorder(eventId: string): (status: number, body: string) => void {
    const ids = this.byEvent.get(eventId) ?? [];
    this.byEvent.set(eventId, ids);
    return (status, body) => {
      if (status !== 202 && status !== 201) return;
      const m = PURCHASE_ID.exec(body);
      if (m) ids.push(m[1]!);
      else this.unreadable += 1;
    };
  }

  /** Takes the ids wrk's script collected for one load phase (closed-load.ts). */
  adder(eventId: string): (ids: string[], unreadable: number) => void {
    const list = this.byEvent.get(eventId) ?? [];
    this.byEvent.set(eventId, list);
    return (ids, unreadable) => {
      for (const id of ids) list.push(id);
      this.unreadable += unreadable;
    };
  }

  of(eventId: string): string[] {
    return this.byEvent.get(eventId) ?? [];
  }
}

/** Which series of the replicas' histograms describe a path. */
export interface SeriesMatch {
  method: string;
  /** A piece of the route label, e.g. 'purchases' or 'availability'. */
  route: string;
  /** Also report the broker confirm time (purchase admission). */
  confirm?: boolean;
}

/** What the breakdown of a phase reads: the processes of the stack under load, and its metrics. */
export interface BreakdownTarget {
  /** Pid of each process of the stack, by name (api-1, ref-2, nginx, worker, drain). */
  pids(): Promise<Record<string, number>> | Record<string, number>;
  /** Ports of the replicas' /metrics; none for the reference, which keeps no metrics. */
  metricsPorts: number[];
}

/** The group of a process of a stack, for the CPU table: the replicas are "api", a drain is "worker". */
export function roleOf(name: string): string {
  if (name.startsWith('api-') || name.startsWith('ref-')) return 'api';
  return name === 'drain' ? 'worker' : name;
}

/**
 * Tells the stack's processes (by process group), the generator (this process, for the
 * paced generator) and the shared services apart. The processes of the stack not under
 * load are left to "other".
 */
export async function classifier(target: BreakdownTarget): Promise<Classifier> {
  const groups = new Map<number, string>();
  for (const [name, pid] of Object.entries(await target.pids())) groups.set(pid, roleOf(name));
  return (pid, p) => (pid === process.pid ? 'generator' : (groups.get(p.pgrp) ?? serviceOf(p.comm)));
}

/**
 * Runs one load phase and records where its time went: CPU per process group between the
 * start and the end of the load (wrk's own CPU as it reported it, since it has exited by
 * the second reading), and the replicas' own mean request time (and broker confirm time)
 * from their metrics, read before and after.
 */
export async function withBreakdown(
  target: BreakdownTarget,
  match: SeriesMatch,
  run: () => Promise<LoadResult & { generatorTicks?: number }>,
): Promise<RoundResult & { breakdown: PhaseBreakdown }> {
  const classify = await classifier(target);
  const metricsBefore = await scrapeReplicas(target.metricsPorts);
  const cpuBefore = await cpuSnapshot();
  const { generatorTicks, ...result } = await run();
  const cpuAfter = await cpuSnapshot();
  const metricsAfter = await scrapeReplicas(target.metricsPorts);
  const statuses = result.expected.map((s) => `status="${s}"`);
  const serverMeanMs = meanBetween(metricsBefore, metricsAfter, [
    'stampede_http_request_duration_seconds',
    `method="${match.method}"`,
    match.route,
    statuses[0]!,
  ]);
  const confirmMeanMs = match.confirm
    ? meanBetween(metricsBefore, metricsAfter, ['stampede_broker_confirm_duration_seconds'])
    : undefined;
  const breakdown: PhaseBreakdown = {
    cpu: cpuBetween(cpuBefore, cpuAfter, classify, generatorTicks !== undefined ? { generator: generatorTicks } : {}),
    ...(serverMeanMs !== undefined ? { serverMeanMs } : {}),
    ...(confirmMeanMs !== undefined ? { confirmMeanMs } : {}),
  };
  const generatorCpu = result.generatorCpu ?? breakdown.cpu.generator;
  return { ...result, ...(generatorCpu !== undefined ? { generatorCpu } : {}), breakdown };
}
