import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ComponentName, ResolvedLabOptions } from './lab-options.js';

/** What the lab wants of a component: the difference between "stopped" and "died". */
export type Desired = 'running' | 'stopped' | 'killed';

/** The lab's state file (`<dir>/lab.json`), written only by the lab tool. */
export interface LabState {
  version: 1;
  createdAt: string;
  /** The `up` that is still starting the lab; a second `up` waits for nobody. */
  startingPid?: number;
  options: ResolvedLabOptions;
  desired: Partial<Record<ComponentName, Desired>>;
}

/** A component's run file (`<dir>/run/<name>.json`), written only by its watcher process. */
export interface RunRecord {
  component: ComponentName;
  watcherPid: number;
  pid?: number;
  startedAt: string;
  exit?: { code: number | null; signal: string | null; at: string; error?: string };
}

export const labPaths = (dir: string) => ({
  state: join(dir, 'lab.json'),
  runDir: join(dir, 'run'),
  run: (name: ComponentName) => join(dir, 'run', `${name}.json`),
  logDir: join(dir, 'logs'),
  log: (name: string) => join(dir, 'logs', `${name}.log`),
  nginxDir: join(dir, 'nginx'),
});

let tmpCounter = 0;

/**
 * Readable by the owner only: the state keeps the lab's environment, ADMIN_TOKEN and
 * connection URLs included.
 */
const PRIVATE = 0o600;

/** Writes JSON through a temporary file and a rename, so a reader never sees half a file. */
export async function writeJsonAtomic(path: string, value: unknown, flag: 'w' | 'wx' = 'w'): Promise<void> {
  if (flag === 'wx') {
    await writeFile(path, JSON.stringify(value, null, 2), { flag: 'wx', mode: PRIVATE });
    return;
  }
  const tmp = `${path}.${process.pid}.${(tmpCounter += 1)}.tmp`;
  await writeFile(tmp, JSON.stringify(value, null, 2), { mode: PRIVATE });
  await rename(tmp, path);
}

async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

export const readLabState = (dir: string) => readJson<LabState>(labPaths(dir).state);
export const readRunRecord = (dir: string, name: ComponentName) => readJson<RunRecord>(labPaths(dir).run(name));

/** Reads the state of the lab in `dir`, or explains that there is none. */
export async function requireLabState(dir: string): Promise<LabState> {
  const state = await readLabState(dir);
  if (!state) throw new Error(`no lab is running in ${dir} (start one with: npm run lab -- up)`);
  return state;
}

/**
 * The lab's log folder, or an error that says there is none: a mistyped `--dir` must not
 * look like a lab that logged nothing. Logs outlive `down`, so no running lab is needed.
 */
export function requireLogDir(dir: string): string {
  const { logDir } = labPaths(dir);
  if (!existsSync(logDir))
    throw new Error(
      `no lab logs in ${dir} (${logDir} does not exist): start a lab with \`npm run lab -- up\`, or point --dir at one`,
    );
  return logDir;
}

/**
 * Creates the state file; fails with EEXIST when one is there already. The exclusive
 * create is the lock that makes two `up` at the same moment start one lab.
 */
export async function createLabState(state: LabState): Promise<void> {
  const paths = labPaths(state.options.dir);
  await mkdir(paths.runDir, { recursive: true });
  await mkdir(paths.logDir, { recursive: true });
  await writeJsonAtomic(paths.state, state, 'wx');
}

// Changes of the state file are serialised within a process (replicas start in parallel).
let updating: Promise<unknown> = Promise.resolve();

/** Read, change, write the state file, one change at a time. */
export function updateLabState(dir: string, change: (state: LabState) => void): Promise<LabState> {
  const next = updating
    .catch(() => undefined)
    .then(async () => {
      const state = await requireLabState(dir);
      change(state);
      await writeJsonAtomic(labPaths(dir).state, state);
      return state;
    });
  updating = next;
  return next;
}

/** Records what the lab wants of some components. */
export const setDesired = (dir: string, names: readonly ComponentName[], desired: Desired) =>
  updateLabState(dir, (s) => {
    for (const n of names) s.desired[n] = desired;
  });

/** Removes the state and the rendered config; logs stay for reading after `down`. */
export async function removeLabState(dir: string): Promise<void> {
  const paths = labPaths(dir);
  await rm(paths.runDir, { recursive: true, force: true });
  await rm(paths.nginxDir, { recursive: true, force: true });
  await rm(paths.state, { force: true });
}
