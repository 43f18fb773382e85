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
  target: string;
  measured: string;
  met: boolean;
}

export interface BenchSettings {
  durationS: number;
  connections: number;
  warmupS: number;
  quick: boolean;
  /** Arrivals per second of the open-model spike (both modes). */
  spikeRate: number;
  /** Open-model availability reads: 80 % of the closed-model read rate. */
  readRate: number;
  nginxRateLimit: number;
  nginxWorkers: number;
  replicas: number;
  logLevel: string;
}

/** Everything one `npm run bench` measured: written as JSON, rendered as the doc. */
export interface BenchResults {
  version: 1;
  startedAt: string;
  finishedAt: string;
  machine: MachineInfo;
  settings: BenchSettings;
  paths: PathResult[];
  drain: DrainResult;
  comparisons: SpikeComparison[];
  reconciliation: ReconcileFigures[];
  /** CPU profiles of one replica under some paths' load, when taken. */
  profiles?: ProfileSummary[];
  targets: TargetResult[];
}
