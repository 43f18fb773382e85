import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { BenchLab } from './bench-lab.js';
import type { RequestSource } from './bench-types.js';
import { runClosedLoad } from './closed-load.js';
import { type ProfileSummary, readProfileSummary } from './cpu-profile.js';

/** One path to profile a replica under. */
export interface ProfileTask {
  key: string;
  label: string;
  request: RequestSource;
  expected: number[];
  onResponse?: (status: number, body: string) => void;
}

export interface ProfileRun {
  lab: BenchLab;
  connections: number;
  durationS: number;
  warmupS: number;
  /** The profile is copied to `<fileBase>-<key>.cpuprofile`. */
  fileBase: string;
}

/**
 * Profiles api-1 under the same closed-model load as the path's own measurement: restart
 * api-1 with the profiler preloaded, warm up, start profiling, load, restart it plainly
 * (which writes the profile). The profile is kept beside the results, and summarized.
 */
export async function profileUnder(run: ProfileRun, task: ProfileTask): Promise<ProfileSummary | undefined> {
  const { lab, connections } = run;
  const profiler = await lab.profileReplica('api-1', join(lab.dir, 'profiles', task.key));
  const load = (durationS: number) =>
    runClosedLoad({
      base: lab.base,
      connections,
      durationS,
      request: task.request,
      expected: task.expected,
      ...(task.onResponse ? { onResponse: task.onResponse } : {}),
    });
  if (run.warmupS > 0) await load(run.warmupS);
  profiler.start();
  await load(run.durationS);
  const file = await profiler.finish();
  if (!file) return undefined;
  const kept = `${run.fileBase}-${task.key}.cpuprofile`;
  await mkdir(join(kept, '..'), { recursive: true });
  await copyFile(file, kept);
  return { ...(await readProfileSummary(file, 'api-1', task.label)), file: kept };
}
