import type { MachineInfo, PathResult } from './bench-types.js';
import type { ProfileSummary } from './cpu-profile.js';
import type { DrainResult } from './drain.js';

/** Queued design against the synchronous baseline on one spike. */
export interface SpikeComparison {
  model: 'closed' | 'open';
  queuedRate: number;
  syncRate: number;
  /** queued ÷ sync accepted purchases per second (target ≥ 3). */
  throughputRatio: number;
  queuedP99Ms: number;
  syncP99Ms: number;
  /** sync p99 ÷ queued p99 (target ≥ 10). */
  p99Ratio: number;
}

/** The reconciliation of one purchase event after the run. */
export interface ReconcileFigures {
  phase: string;
  eventId: string;
  accepted: number;
  confirmed: number;
  rejected: number;
  oversold: number;
  lost: number | null;
  duplicated: number;
  undersold: number | null;
  pass: boolean;
  failures: string[];
}

export interface TargetResult {
  /** The issue that set the target. */
  issue: number;
  target: string;
  measured: string;
  met: boolean;
}

export interface BenchSettings {
  durationS: number;
  connections: number;
  /** The open-model generator's connection pool (absent in results of runs before it had its own). */
  openConnections?: number;
  /** wrk's threads. */
  threads: number;
  /** Rounds of each compared path (reference, Stampede, reference, Stampede, …). */
  rounds: number;
  /** The closed-model generator, as it names itself. */
  generator: string;
  warmupS: number;
  quick: boolean;
  /** Arrivals per second of the open-model spike (both modes). */
  spikeRate: number;
  /** Open-model availability reads: 80 % of the closed-model read rate. */
  readRate: number;
  /** Open-model admission: 80 % of the closed-model admission rate. */
  admissionRate: number;
  nginxRateLimit: number;
  nginxWorkers: number;
  /** Stampede's nginx micro-cached availability reads (absent in results of runs before it existed). */
  edgeCache?: boolean;
  /** Decision lanes (AMQP_LANES) and buckets of the drain's hot tier (absent in results of runs before they existed). */
  lanes?: number;
  hotBuckets?: number;
  replicas: number;
  logLevel: string;
  /** The private names of each stack (all removed at the end of the run). */
  names: {
    lab: { redisKeyPrefix: string; amqpPrefix: string };
    reference: { redisKeyPrefix: string; amqpPrefix: string; schema: string };
  };
}

/** Drain rounds: their summary (rounds.ts), each round, and Stampede ÷ reference. */
export type DrainRounds = DrainResult & { rounds?: DrainResult[]; ratios?: number[]; ratio?: number };

/** Everything one `npm run bench` measured: written as JSON, rendered as the doc. */
export interface BenchResults {
  version: 2;
  startedAt: string;
  finishedAt: string;
  machine: MachineInfo;
  settings: BenchSettings;
  /** Every Stampede phase; the compared ones carry their rounds and their ratio to the reference. */
  paths: PathResult[];
  /** The minimal reference on the compared paths (same keys), measured in the rounds between Stampede's. */
  reference: PathResult[];
  drain: DrainRounds;
  referenceDrain: DrainRounds;
  comparisons: SpikeComparison[];
  reconciliation: ReconcileFigures[];
  /** CPU profiles of one replica of each stack under the compared paths' load, when taken. */
  profiles?: ProfileSummary[];
  targets: TargetResult[];
}
