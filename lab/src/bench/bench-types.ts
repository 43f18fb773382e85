import type { LatencySummary } from './latency.js';

/** One HTTP request as the load generators send it. */
export interface WireRequest {
  method: 'GET' | 'POST';
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

/** A source of requests: a fixed one (encoded once), or a fresh one per call (unique Idempotency-Keys). */
export type RequestSource = WireRequest | (() => WireRequest);

/** What one load run of a path measured. */
export interface LoadResult extends LatencySummary {
  /** closed: N connections as fast as the server answers (wrk); open: a fixed arrival rate. */
  model: 'closed' | 'open';
  connections: number;
  /** Open model: arrivals per second asked for. */
  targetRate?: number;
  durationS: number;
  /** Statuses that count as this path working (200, 202, 409 for sold out, 201 in sync mode). */
  expected: number[];
  /** Responses of any status. */
  completed: number;
  /** Responses with an expected status. */
  ok: number;
  /** ok per second: the figure the table reports. */
  rate: number;
  statuses: Record<string, number>;
  /** Connection errors and timeouts. */
  errors: number;
  /** Open model: arrivals never sent because every connection was busy until the end. */
  notSent?: number;
  /** The load generator's CPU during the phase, in cores: wrk from its own /proc, the paced generator this process. */
  generatorCpu?: number;
}

/** One measurement of a path, with where its time went. */
export interface RoundResult extends LoadResult {
  breakdown?: PhaseBreakdown;
}

/**
 * A measured path, named. A path measured against the reference in alternating rounds has
 * its rounds, and its top-level figures are their medians (rounds.ts).
 */
export interface PathResult extends RoundResult {
  key: string;
  label: string;
  method: string;
  route: string;
  note?: string;
  /** Each round's own measurement, in the order they ran. */
  rounds?: RoundResult[];
  /** Stampede ÷ reference of each round (each Stampede round over the reference round just before it). */
  ratios?: number[];
  /** Stampede ÷ reference: the median of `ratios`. */
  ratio?: number;
}

/** Where the time of a phase went: the replicas' own view, and CPU per process group. */
export interface PhaseBreakdown {
  /** Mean time inside the replicas (their request-duration histogram), ms. */
  serverMeanMs?: number;
  /** Mean publish → broker confirm (purchases only), ms. */
  confirmMeanMs?: number;
  /** Cores used per group (nginx, api, worker, generator, postgres, redis, rabbitmq, other, machine). */
  cpu: Record<string, number>;
}

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  node: string;
  os: string;
  /** 1-minute load average just before the run. */
  loadBefore: number;
  /** The git commit measured (and whether the tree had uncommitted changes). */
  code?: string;
}
