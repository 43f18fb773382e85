import type { Sql } from '@stampede/core/db';
import type { ReconcileReport } from '../reconcile/reconcile.js';
import type { ClientFailure, LoadLoop, PhaseStats } from './load-loop.js';
import type { LabTarget, ServiceName } from './scenario-lab.js';

export const SCENARIO_NAMES = [
  'worker-restart',
  'worker-kill',
  'worker-kill-one',
  'redis-outage',
  'redis-flush',
  'broker-restart',
  'broker-node-kill',
  'redis-master-kill',
  'db-outage',
  'db-slow',
  'replica-kill',
  'waiting-room-redis-restart',
  'waiting-room-replica-kill',
] as const;
export type ScenarioName = (typeof SCENARIO_NAMES)[number];

/** The phases of every run, in order; the load is counted per phase. */
export const PHASES = ['warmup', 'fault', 'recovery', 'drain'] as const;
export type Phase = (typeof PHASES)[number];

/** Figures a scenario records while it runs (e.g. purchases in flight at a kill). */
export type Facts = Record<string, number>;

/** What a scenario's steps get. */
export interface ScenarioContext {
  target: LabTarget;
  sql: Sql;
  load: LoadLoop;
  eventId: string;
  tierIds: string[];
  facts: Facts;
  /** How long the fault phase lasts (a step may use part of it, e.g. worker-kill's backlog). */
  faultMs: number;
  /** A timestamped line in the progress output and in the result. */
  note(message: string): void;
  /** Waits, unless the run is interrupted (Ctrl-C): then it throws. */
  sleep(ms: number): Promise<void>;
}

export interface Check {
  ok: boolean;
  text: string;
}

/** Purchase errors a scenario expects clients to see, e.g. 503s while the broker is down. */
export interface ErrorBudget {
  phases: Phase[];
  labels: RegExp;
  /** At most this many (Infinity: as many as happen in those phases). */
  max: number;
  why: string;
}

/** One chaos scenario: the fault, its repair, and what must hold besides the invariants. */
export interface Scenario {
  name: ScenarioName;
  summary: string;
  /** The server `--private` runs of its own so the fault hits a real process. */
  service?: ServiceName;
  /** More environment for a `--private` lab (e.g. smaller worker batches). */
  labEnv?: Record<string, string>;
  /** Workers a `--private` lab runs when `--workers` does not say (default 1). */
  workers?: number;
  /** How the fault is made on this target, in words, for the verdict (real process or chaos API). */
  how(target: LabTarget): string;
  /** Fails early when the target cannot take this fault (e.g. no chaos API). */
  precheck?(target: LabTarget): void;
  /**
   * Load of the scenario's own before the warmup (e.g. a waiting room's crowd); returns its
   * finish, run once the load has stopped (or before leaving a failed run), which records its facts.
   */
  setup?(ctx: ScenarioContext): Promise<() => Promise<void>>;
  inject(ctx: ScenarioContext): Promise<void>;
  recover(ctx: ScenarioContext): Promise<void>;
  errorBudget?(facts: Facts): ErrorBudget;
  checks(result: ScenarioResult): Check[];
}

/** Everything a run measured; `checks` and `pass` are its verdict. */
export interface ScenarioResult {
  scenario: ScenarioName;
  how: string;
  eventId: string;
  tierIds: string[];
  rates: { purchasesPerSecond: number; readsPerSecond: number };
  /** Phase durations as run, ms. */
  phaseMs: Record<Phase, number>;
  /** From the end of the load to every accepted purchase final and the queue empty. */
  drainMs: number;
  /** From the repair to the first look at an empty queue; null when it never was (broker unreadable). */
  queueEmptyAfterRepairMs: number | null;
  /** Purchases answered with an error that were decided anyway (a publish confirm lost with its connection). */
  failedButDecided: number;
  sent: { purchases: number; reads: number };
  dropped: number;
  phases: Partial<Record<Phase, PhaseStats>>;
  failures: ClientFailure[];
  /** Most messages seen ready in the queue during each phase (null when the broker could not be read). */
  maxQueued: Partial<Record<Phase, number | null>>;
  acceptedIds: string[];
  facts: Facts;
  notes: string[];
  report: ReconcileReport;
  /** Each lab component after the drain (`up`, `DIED (signal SIGKILL)`, …). */
  components: { name: string; condition: string; label: string }[];
  /**
   * The last log lines of the worker and of every component not up, when a check
   * failed: what the verdict shows so a failure can be understood after the lab is gone.
   */
  logTails: Record<string, string[]>;
  checks: Check[];
  pass: boolean;
}
