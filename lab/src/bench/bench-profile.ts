import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { type OnAccepted, runClosedLoad } from './closed-load.js';
import { type ProfileSummary, readProfileSummary } from './cpu-profile.js';
import type { LoadRequest } from './load-request.js';

/** A replica restarted under the CPU profiler: `start` after the warm-up, `finish` writes the profile. */
export type Profiler = (outDir: string) => Promise<{ start(): void; finish(): Promise<string | undefined> }>;

/** One path to profile one stack's first replica under. */
export interface ProfileTask {
  key: string;
  label: string;
  /** Which stack: the replica's name goes into the summary (api-1, ref-1). */
  stack: 'stampede' | 'reference';
  replica: string;
  base: string;
  profiler: Profiler;
  request: (phase: string) => LoadRequest;
  expected: number[];
  onAccepted?: OnAccepted;
}

export interface ProfileRun {
  connections: number;
  threads: number;
  durationS: number;
  warmupS: number;
  /** Where the profiler writes. */
  dir: string;
  /** The profile is copied to `<fileBase>-<stack>-<key>.cpuprofile`. */
  fileBase: string;
}

/**
 * Profiles a replica under the same closed-model load as the path's own measurement:
 * restart it with the profiler preloaded, warm up, start profiling, load, restart it
 * plainly (which writes the profile). The profile is kept beside the results, and summarized.
 */
export async function profileUnder(run: ProfileRun, task: ProfileTask): Promise<ProfileSummary | undefined> {
  const profiler = await task.profiler(join(run.dir, 'profiles', `${task.stack}-${task.key}`));
  const load = (durationS: number, phase: string) =>
    runClosedLoad({
      base: task.base,
      connections: run.connections,
      threads: run.threads,
      durationS,
      request: task.request(phase),
      expected: task.expected,
      ...(task.onAccepted ? { onAccepted: task.onAccepted } : {}),
    });
  if (run.warmupS > 0) await load(run.warmupS, 'prof-warm');
  profiler.start();
  await load(run.durationS, 'prof');
  const file = await profiler.finish();
  if (!file) return undefined;
  const kept = `${run.fileBase}-${task.stack}-${task.key}.cpuprofile`;
  await mkdir(join(kept, '..'), { recursive: true });
  await copyFile(file, kept);
  return {
    ...(await readProfileSummary(file, task.replica, task.label)),
    key: task.key,
    stack: task.stack,
    file: kept,
  };
}
