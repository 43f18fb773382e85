import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { type ComponentName, REPO_ROOT } from './lab-options.js';
import { labPaths, type RunRecord, readRunRecord } from './lab-state.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** True while a process with this pid exists (signal 0 checks without sending anything). */
export function isAlive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * When a process started (epoch ms), from /proc on Linux; undefined elsewhere. Clock ticks
 * are 100 per second on every Linux the lab runs on.
 */
function startedAtMs(pid: number): number | undefined {
  if (process.platform !== 'linux') return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const ticks = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
    const bootS = Number(/^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1]);
    return Number.isFinite(ticks) && Number.isFinite(bootS) ? bootS * 1000 + ticks * 10 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * True when the pid is alive and is the process the record means: a pid of a stale state
 * (after a reboot) may belong to someone else by now, and must never be signalled.
 */
function isTheProcess(pid: number | undefined, startedAt: string): boolean {
  if (!pid || !isAlive(pid)) return false;
  const started = startedAtMs(pid);
  return started === undefined || Math.abs(started - Date.parse(startedAt)) < 10_000;
}

/** The component of this record is running (not exited, and its pid is still its own). */
export const componentRunning = (r: RunRecord | undefined): r is RunRecord & { pid: number } =>
  Boolean(r && !r.exit && isTheProcess(r.pid, r.startedAt));

/** The watcher of this record is still there (it exits right after recording the exit). */
export const watcherRunning = (r: RunRecord | undefined): boolean =>
  Boolean(r && isTheProcess(r.watcherPid, r.startedAt));

/** Signals the component's whole process group (nginx's master and its workers). */
export function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      /* already gone */
    }
  }
}

/** Waits until the pid is gone; false when it is still there after `timeoutMs`. */
export async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid)) {
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
  return true;
}

/** The watcher script; the lab runs from the build (`npx tsc -b`), tests included. */
export function watcherScript(): string {
  const script = join(REPO_ROOT, 'lab/dist/local-lab/run-component.js');
  if (!existsSync(script)) throw new Error(`${script} is missing: build first (npm run build)`);
  return script;
}

export interface SpawnSpec {
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
}

/**
 * Starts a component detached from the caller, behind its watcher, with stdout and
 * stderr appended to its log file, and waits for the watcher to report the pid.
 * The caller may exit at once: the component lives on, and so does its watcher.
 */
export async function spawnComponent(dir: string, name: ComponentName, spec: SpawnSpec): Promise<RunRecord> {
  const paths = labPaths(dir);
  await rm(paths.run(name), { force: true });
  const log = openSync(paths.log(name), 'a');
  try {
    const watcher = spawn(process.execPath, [watcherScript(), dir, name, spec.command, ...spec.args], {
      cwd: REPO_ROOT,
      env: spec.env,
      detached: true,
      stdio: ['ignore', log, log],
    });
    watcher.unref();
    const deadline = Date.now() + 10_000;
    for (;;) {
      const record = await readRunRecord(dir, name);
      if (record?.pid || record?.exit) return record;
      if (Date.now() > deadline || (watcher.exitCode !== null && !record)) {
        throw new Error(`${name} did not start (see ${paths.log(name)})`);
      }
      await sleep(20);
    }
  } finally {
    closeSync(log);
  }
}

/**
 * Stops a component: `signal` to its group, SIGKILL when it is still there after
 * `timeoutMs`, then makes sure its watcher is gone too (it exits once it has
 * recorded the exit). Nothing to do when it is not running.
 */
export async function terminate(
  record: RunRecord | undefined,
  signal: NodeJS.Signals,
  timeoutMs: number,
): Promise<void> {
  if (!record) return;
  if (componentRunning(record)) {
    signalGroup(record.pid, signal);
    if (!(await waitForExit(record.pid, timeoutMs))) {
      signalGroup(record.pid, 'SIGKILL');
      await waitForExit(record.pid, 5_000);
    }
  }
  if (watcherRunning(record) && !(await waitForExit(record.watcherPid, 3_000))) {
    try {
      process.kill(record.watcherPid, 'SIGKILL');
    } catch {
      /* gone */
    }
    await waitForExit(record.watcherPid, 2_000);
  }
}

/** True when nothing listens on the port on 127.0.0.1 (nor on the wildcard address). */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}
