import { API_REPLICAS } from '../local-lab/lab-options.js';
import type { BenchLab } from './bench-lab.js';
import type { LoadResult, PhaseBreakdown, WireRequest } from './bench-types.js';
import { type Classifier, cpuBetween, cpuSnapshot, serviceOf } from './proc-cpu.js';
import { meanBetween, scrapeReplicas } from './replica-metrics.js';

/** A purchase request source: a new Idempotency-Key and buyer per request, one ticket each. */
export function purchaseRequests(eventId: string, tierId: string, keyPrefix: string): () => WireRequest {
  let n = 0;
  const path = `/events/${eventId}/purchases`;
  return () => {
    n += 1;
    const key = `${keyPrefix}-${n}`;
    return {
      method: 'POST',
      path,
      headers: { 'content-type': 'application/json', 'idempotency-key': key },
      body: `{"tierId":"${tierId}","quantity":1,"buyerId":"b-${key}"}`,
    };
  };
}

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

/** Tells the lab's processes (by process group), the generator (this process) and the shared services apart. */
export async function classifier(lab: BenchLab): Promise<Classifier> {
  const pids = await lab.pids();
  const groups = new Map<number, string>();
  for (const [name, pid] of Object.entries(pids)) groups.set(pid!, name.startsWith('api-') ? 'api' : name);
  return (pid, p) => (pid === process.pid ? 'generator' : (groups.get(p.pgrp) ?? serviceOf(p.comm)));
}

/**
 * Runs one load phase and records where its time went: CPU per process group between the
 * start and the end of the load, and the replicas' own mean request time (and broker
 * confirm time) from their metrics, read before and after.
 */
export async function withBreakdown<T extends LoadResult>(
  lab: BenchLab,
  match: SeriesMatch,
  run: () => Promise<T>,
): Promise<T & { breakdown: PhaseBreakdown }> {
  const ports = API_REPLICAS.map((r) => lab.state.options.apiPorts[r]);
  const classify = await classifier(lab);
  const metricsBefore = await scrapeReplicas(ports);
  const cpuBefore = await cpuSnapshot();
  const result = await run();
  const cpuAfter = await cpuSnapshot();
  const metricsAfter = await scrapeReplicas(ports);
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
    cpu: cpuBetween(cpuBefore, cpuAfter, classify),
    ...(serverMeanMs !== undefined ? { serverMeanMs } : {}),
    ...(confirmMeanMs !== undefined ? { confirmMeanMs } : {}),
  };
  return { ...result, breakdown };
}
