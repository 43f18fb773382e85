import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startLab, stopLab } from '../../src/local-lab/lab.js';
import { resolveLabOptions } from '../../src/local-lab/lab-options.js';
import { type LabState, labPaths, type RunRecord } from '../../src/local-lab/lab-state.js';
import { labStatus } from '../../src/local-lab/status.js';

/** Writes a lab state and a run record, as a lab in `dir` would have left them. */
async function leaveState(dir: string, pid: number, startedAt = new Date()): Promise<void> {
  const paths = labPaths(dir);
  await mkdir(paths.runDir, { recursive: true });
  const state: LabState = {
    version: 1,
    createdAt: new Date().toISOString(),
    options: resolveLabOptions({ dir }),
    desired: { worker: 'running' },
  };
  const run: RunRecord = { component: 'worker', watcherPid: pid, pid, startedAt: startedAt.toISOString() };
  await writeFile(paths.state, JSON.stringify(state));
  await writeFile(paths.run('worker'), JSON.stringify(run));
}

/** A port with a listener on it, so `up` stops at its pre-flight check and starts nothing. */
function occupyPort(): Promise<{ server: Server; port: number }> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as { port: number }).port }));
  });
}

describe('lab state: one lab per directory', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stampede-lab-claim-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('when the state names only dead processes, then `up` treats it as stale and cleans it away', async () => {
    const dead = spawnSync(process.execPath, ['-e', '']).pid!;
    await leaveState(dir, dead);
    const { server, port } = await occupyPort();
    try {
      // Past the stale state, up fails on the taken port: proof that it was not refused as "running".
      await expect(startLab({ dir, nginxPort: port })).rejects.toThrow(
        new RegExp(`port.* ${port} \\(nginx\\).*in use`),
      );
    } finally {
      server.close();
    }
    expect(existsSync(labPaths(dir).state)).toBe(false);
    expect(existsSync(labPaths(dir).run('worker'))).toBe(false);
  });

  it('when a process of the lab is still alive, then `up` is refused with a clear message and nothing changes', async () => {
    const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      await leaveState(dir, sleeper.pid!);
      await expect(startLab({ dir })).rejects.toThrow(`a lab is already running in ${dir} (worker pid ${sleeper.pid})`);
      expect(existsSync(labPaths(dir).state)).toBe(true);
      expect(sleeper.exitCode).toBeNull();
      expect(sleeper.signalCode).toBeNull();
    } finally {
      sleeper.kill('SIGKILL');
    }
  });

  it('when the state names a pid that now belongs to another process (a reboot), then it is stale and that process is left alone', async () => {
    const stranger = spawn('sleep', ['30'], { stdio: 'ignore' });
    const { server, port } = await occupyPort();
    try {
      await leaveState(dir, stranger.pid!, new Date(Date.now() - 3_600_000));
      await expect(startLab({ dir, nginxPort: port })).rejects.toThrow(/in use/);
      expect(await stopLab(dir)).toEqual([]);
      expect(existsSync(labPaths(dir).state)).toBe(false);
      expect(stranger.exitCode).toBeNull();
      expect(stranger.signalCode).toBeNull();
    } finally {
      server.close();
      stranger.kill('SIGKILL');
    }
  });

  it('when no lab runs, then down is a no-op and status says how to start one', async () => {
    expect(await stopLab(dir)).toEqual([]);
    expect(await stopLab(dir)).toEqual([]);
    await expect(labStatus(dir)).rejects.toThrow(/no lab is running .* npm run lab -- up/);
  });
});
