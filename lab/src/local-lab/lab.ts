import { loadConfig } from '@stampede/core/config';
import { createSql, migrate } from '@stampede/core/db';
import { seedDemo } from '../seed.js';
import { tailLines } from './component-logs.js';
import { planComponent, preflight } from './components.js';
import { probeHttp, waitHealthy } from './health.js';
import {
  API_REPLICAS,
  type ComponentName,
  type LabOptions,
  labComponents,
  type ResolvedLabOptions,
  resolveLabDir,
  resolveLabOptions,
  resolveTargets,
  workerNames,
} from './lab-options.js';
import {
  createLabState,
  type LabState,
  labPaths,
  type RunRecord,
  readLabState,
  readRunRecord,
  removeLabState,
  requireLabState,
  setDesired,
  updateLabState,
} from './lab-state.js';
import { componentRunning, isAlive, portIsFree, spawnComponent, terminate, watcherRunning } from './processes.js';

/** Progress lines for the terminal (the CLI prints them; tests may ignore them). */
export type Progress = (message: string) => void;

export interface ComponentOptions {
  /** How long to wait for the component to answer its health probe. */
  healthTimeoutMs?: number;
  onProgress?: Progress;
}

/** "exit code 1", "signal SIGKILL": how a component ended. */
export function describeExit(exit: NonNullable<RunRecord['exit']>): string {
  const how = exit.signal ? `signal ${exit.signal}` : `exit code ${exit.code}`;
  return exit.error ? `${how}: ${exit.error}` : how;
}

/** Components whose process (or watcher) is still alive, whatever the state file says. */
export async function liveComponents(dir: string): Promise<{ name: ComponentName; pid: number }[]> {
  const live: { name: ComponentName; pid: number }[] = [];
  const state = await readLabState(dir);
  for (const name of labComponents(state?.options ?? {})) {
    const r = await readRunRecord(dir, name);
    if (!r) continue;
    if (componentRunning(r)) live.push({ name, pid: r.pid });
    else if (watcherRunning(r)) live.push({ name, pid: r.watcherPid });
  }
  return live;
}

/**
 * Takes the lab's directory for this `up`. A lab that still has live processes, or an
 * `up` still starting, is refused; a state file whose processes are all dead (a crashed
 * terminal, a reboot) is stale, and is cleaned away.
 */
async function claimLab(options: ResolvedLabOptions): Promise<void> {
  const fresh: LabState = {
    version: 1,
    createdAt: new Date().toISOString(),
    startingPid: process.pid,
    options,
    desired: {},
  };
  const live = await liveComponents(options.dir);
  const existing = await readLabState(options.dir);
  if (existing?.startingPid && isAlive(existing.startingPid)) {
    throw new Error(
      `a lab is being started in ${options.dir} by pid ${existing.startingPid}; wait for it, or run: npm run lab -- down`,
    );
  }
  if (live.length > 0) {
    const list = live.map((c) => `${c.name} pid ${c.pid}`).join(', ');
    throw new Error(
      `a lab is already running in ${options.dir} (${list}). See it with \`npm run lab -- status\`, or stop it first with \`npm run lab -- down\``,
    );
  }
  if (existing) await removeLabState(options.dir);
  await createLabState(fresh).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'EEXIST') throw err;
    throw new Error(`another \`lab up\` is starting a lab in ${options.dir} right now`);
  });
}

/** What `up` says about the demo concert once seeded. */
export function describeDemo(seeded: { eventId: string; tickets: number; left: number }): string {
  const left = `demo concert ${seeded.eventId}: ${seeded.left.toLocaleString('en')} of ${seeded.tickets.toLocaleString('en')} tickets left`;
  return seeded.left > 0
    ? left
    : `${left}: SOLD OUT by an earlier run, so purchases will get 409 sold_out (down, then \`up --reset\` for a fresh sale)`;
}

async function migrateAndSeed(options: ResolvedLabOptions, reset: boolean, onProgress?: Progress): Promise<void> {
  const config = loadConfig({ ...process.env, ...options.env });
  const sql = createSql(config, { max: 1, applicationName: 'stampede-lab' });
  try {
    await migrate(sql);
    onProgress?.(describeDemo(await seedDemo(sql, { reset })));
  } finally {
    await sql.close();
  }
}

/**
 * Starts a component of a running lab (`worker`: every worker) and waits until it is
 * healthy. A component that is already running is left alone. When it dies while
 * starting, the error carries its exit and the last lines of its log. Returns the run
 * record of the first one started.
 */
export async function startComponent(
  dirOption: string | undefined,
  name: ComponentName,
  opts: ComponentOptions = {},
): Promise<RunRecord> {
  const dir = resolveLabDir(dirOption);
  const state = await requireLabState(dir);
  const records = await Promise.all(resolveTargets(state.options, name).map((n) => startOne(dir, state, n, opts)));
  return records[0]!;
}

async function startOne(dir: string, state: LabState, name: ComponentName, opts: ComponentOptions): Promise<RunRecord> {
  const current = await readRunRecord(dir, name);
  if (componentRunning(current)) {
    await setDesired(dir, [name], 'running');
    opts.onProgress?.(`${name} is already running (pid ${current.pid})`);
    return current;
  }
  // A watcher still recording a death must finish before the run file is reused.
  await terminate(current, 'SIGTERM', 0);
  const plan = await planComponent(state.options, name);
  if (!(await portIsFree(plan.port)))
    throw new Error(`cannot start ${name}: port ${plan.port} is in use by another process`);
  await setDesired(dir, [name], 'running');
  const record = await spawnComponent(dir, name, plan.spawn);
  await waitHealthy(() => probeHttp(plan.healthUrl, { accept: plan.accept }), {
    timeoutMs: opts.healthTimeoutMs ?? 30_000,
    gone: async () => {
      const r = await readRunRecord(dir, name);
      if (!r?.exit) return undefined;
      const tail = (await tailLines(labPaths(dir).log(name), 8)).join('\n');
      return `${name} exited while starting (${describeExit(r.exit)}); last lines of ${labPaths(dir).log(name)}:\n${tail}`;
    },
  }).catch((err: Error) => {
    throw new Error(`${name}: ${err.message}`);
  });
  opts.onProgress?.(`${name.padEnd(8)} up  pid ${String(record.pid).padEnd(7)} http://127.0.0.1:${plan.port}`);
  return record;
}

export interface StopOptions {
  /** SIGTERM first, SIGKILL after this (default 15 s: the services drain for up to 10 s). */
  timeoutMs?: number;
}

/** Ends a component (`worker`: every worker) with a signal, and records why it is not running. */
async function endComponent(
  dirOption: string | undefined,
  name: ComponentName,
  how: { desired: 'stopped' | 'killed'; signal: NodeJS.Signals; timeoutMs: number },
): Promise<void> {
  const dir = resolveLabDir(dirOption);
  const names = resolveTargets((await requireLabState(dir)).options, name);
  await setDesired(dir, names, how.desired);
  await Promise.all(names.map(async (n) => terminate(await readRunRecord(dir, n), how.signal, how.timeoutMs)));
}

/** Stops a component gracefully (SIGTERM, then SIGKILL); the lab remembers it was stopped, not dead. */
export function stopComponent(
  dirOption: string | undefined,
  name: ComponentName,
  opts: StopOptions = {},
): Promise<void> {
  return endComponent(dirOption, name, { desired: 'stopped', signal: 'SIGTERM', timeoutMs: opts.timeoutMs ?? 15_000 });
}

/** SIGKILL, as in a crash: no drain, no goodbye (for chaos). */
export function killComponent(dirOption: string | undefined, name: ComponentName): Promise<void> {
  return endComponent(dirOption, name, { desired: 'killed', signal: 'SIGKILL', timeoutMs: 5_000 });
}

/** Settings of a running lab that `start` and `restart` may change (ports are chosen at `up` only). */
export interface SettingChanges {
  env?: Record<string, string>;
  rateLimitPerSecond?: number;
  rateLimitBurst?: number;
}

/**
 * Changes what the lab remembers: components started from now on get the new settings
 * (`start`/`restart <name> --env K=V` applies them to that component at once, the
 * others at their next start); the rate limits are nginx's.
 */
export async function changeLabSettings(dirOption: string | undefined, changes: SettingChanges): Promise<LabState> {
  return updateLabState(resolveLabDir(dirOption), (s) => {
    s.options.env = { ...s.options.env, ...changes.env };
    if (changes.rateLimitPerSecond !== undefined) s.options.rateLimitPerSecond = changes.rateLimitPerSecond;
    if (changes.rateLimitBurst !== undefined) s.options.rateLimitBurst = changes.rateLimitBurst;
  });
}

export async function restartComponent(
  dirOption: string | undefined,
  name: ComponentName,
  opts: ComponentOptions & StopOptions = {},
): Promise<RunRecord> {
  await stopComponent(dirOption, name, opts);
  return startComponent(dirOption, name, opts);
}

/**
 * Starts the whole lab: migrate and seed, the three replicas, the workers, then nginx in
 * front, each waited for until healthy. Returns once everything answers; the processes
 * live on after the caller exits. On any failure, whatever was started is stopped again.
 */
export async function startLab(options: LabOptions & { onProgress?: Progress } = {}): Promise<LabState> {
  const resolved = resolveLabOptions(options);
  const { dir } = resolved;
  await claimLab(resolved);
  const opts = { healthTimeoutMs: options.healthTimeoutMs, onProgress: options.onProgress };
  try {
    await preflight(resolved, portIsFree);
    options.onProgress?.('migrating and seeding the demo event');
    await migrateAndSeed(resolved, options.resetDemo ?? false, options.onProgress);
    await Promise.all(API_REPLICAS.map((r) => startComponent(dir, r, opts)));
    await startComponent(dir, 'worker', opts);
    await startComponent(dir, 'nginx', opts);
    return await updateLabState(dir, (s) => {
      delete s.startingPid;
    });
  } catch (err) {
    await stopLab(dir).catch(() => undefined);
    throw err;
  }
}

/**
 * Stops everything, front to back (nginx, the replicas, then the worker so it finishes
 * its batch), and removes the state. Safe to run twice, or with no lab at all.
 */
export async function stopLab(dirOption?: string, opts: StopOptions = {}): Promise<ComponentName[]> {
  const dir = resolveLabDir(dirOption);
  const state = await readLabState(dir);
  const workers = workerNames(state?.options.workers);
  if (state) await setDesired(dir, labComponents(state.options), 'stopped');
  const stopped: ComponentName[] = [];
  const stop = async (name: ComponentName) => {
    const record = await readRunRecord(dir, name);
    if (componentRunning(record)) stopped.push(name);
    await terminate(record, 'SIGTERM', opts.timeoutMs ?? 15_000);
  };
  for (const stage of [['nginx'] as const, API_REPLICAS, workers]) await Promise.all(stage.map(stop));
  await removeLabState(dir);
  return stopped;
}
