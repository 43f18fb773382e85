import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { labPaths, type RunRecord, readRunRecord, writeJsonAtomic } from '../src/local-lab/lab-state.js';
import { settledRecord } from '../src/local-lab/status.js';

const exited = (c: ChildProcess) => new Promise((r) => (c.exitCode !== null ? r(c.exitCode) : c.once('exit', r)));
const children: ChildProcess[] = [];
const dirs: string[] = [];

afterEach(async () => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

describe('status reads a run record once it is settled', () => {
  it('when the watcher records the exit and leaves between the read and the liveness check, then the recorded exit is reported', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'stampede-status-'));
    dirs.push(dir);
    await mkdir(labPaths(dir).runDir, { recursive: true });
    // A component that is gone, and a stand-in watcher that is still there.
    const component = spawn('true');
    await exited(component);
    const watcher = spawn('sleep', ['30']);
    children.push(watcher);
    const path = labPaths(dir).run('api-3');
    const running: RunRecord = {
      component: 'api-3',
      watcherPid: watcher.pid!,
      pid: component.pid!,
      startedAt: new Date().toISOString(),
    };
    await writeJsonAtomic(path, running);

    // The first read sees no exit yet; right after it, the watcher does what it does on
    // a death: writes the exit, then leaves. That is the order of lab/src/local-lab/run-component.ts.
    let reads = 0;
    const racingRead: typeof readRunRecord = async (d, name) => {
      const record = await readRunRecord(d, name);
      reads += 1;
      if (reads === 1) {
        await writeJsonAtomic(path, {
          ...running,
          exit: { code: null, signal: 'SIGKILL', at: new Date().toISOString() },
        });
        watcher.kill('SIGKILL');
        await exited(watcher);
      }
      return record;
    };

    const { record, alive } = await settledRecord(dir, 'api-3', racingRead);
    expect(alive).toBe(false);
    expect(record?.exit?.signal).toBe('SIGKILL');
  });
});
