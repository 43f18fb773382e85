import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { logFiles } from '../src/local-lab/component-logs.js';
import { planComponent } from '../src/local-lab/components.js';
import {
  componentPort,
  labComponents,
  parseComponent,
  resolveLabOptions,
  resolveTargets,
} from '../src/local-lab/lab-options.js';
import { labPaths } from '../src/local-lab/lab-state.js';
import { componentOfSource } from '../src/logs/log-entry.js';

const dirs: string[] = [];
afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

describe('a lab with several workers', () => {
  it('when up is given --workers 3, then the workers are worker-1..3 on consecutive ports, before the replicas and nginx', () => {
    const options = resolveLabOptions({ dir: '/tmp/x', workers: 3, workerPort: 9200 }, {});
    expect(labComponents(options)).toEqual(['worker-1', 'worker-2', 'worker-3', 'api-1', 'api-2', 'api-3', 'nginx']);
    expect(['worker-1', 'worker-2', 'worker-3'].map((n) => componentPort(options, parseComponent(n)))).toEqual([
      9200, 9201, 9202,
    ]);
  });

  it('when up is given --workers 3, then each worker is the first subscriber of its share of the lanes, and one worker has no share', async () => {
    const three = resolveLabOptions({ dir: '/tmp/x', workers: 3, workerPort: 9200 }, {});
    const shares = await Promise.all(
      (['worker-1', 'worker-2', 'worker-3'] as const).map(
        async (n) => (await planComponent(three, n)).spawn.env?.WORKER_LANE_SHARE,
      ),
    );
    expect(shares).toEqual(['0/3', '1/3', '2/3']);
    const one = resolveLabOptions({ dir: '/tmp/x' }, {});
    expect((await planComponent(one, 'worker')).spawn.env?.WORKER_LANE_SHARE).toBeUndefined();
  });

  it('when the workers are given ports of their own, then each gets its own', () => {
    const options = resolveLabOptions({ dir: '/tmp/x', workers: 2, workerPorts: [4100, 4321] }, {});
    expect(componentPort(options, 'worker-2')).toBe(4321);
    expect(options.workerPort).toBe(4100);
  });

  it('when there is one worker, then it is `worker` as before, and worker-1 is another name for it', () => {
    const options = resolveLabOptions({ dir: '/tmp/x' }, {});
    expect(labComponents(options)[0]).toBe('worker');
    expect(options.workers).toBeUndefined();
    expect(resolveTargets(options, 'worker-1')).toEqual(['worker']);
    expect(() => resolveTargets(options, 'worker-2')).toThrow(/no worker-2/);
  });

  it('when a command names `worker`, then it means every worker; worker-2 means that one', () => {
    const options = resolveLabOptions({ dir: '/tmp/x', workers: 3 }, {});
    expect(resolveTargets(options, 'worker')).toEqual(['worker-1', 'worker-2', 'worker-3']);
    expect(resolveTargets(options, 'worker-2')).toEqual(['worker-2']);
    expect(() => resolveTargets(options, 'worker-4')).toThrow(/no worker-4/);
  });

  it('when the count is not 1..16, then up refuses it', () => {
    expect(() => resolveLabOptions({ workers: 0 }, {})).toThrow(/workers must be/);
    expect(() => resolveLabOptions({ workers: 17 }, {})).toThrow(/workers must be/);
  });

  it('when a name is typed, then worker-<n> is a component and worker-x is refused', () => {
    expect(parseComponent('worker-12')).toBe('worker-12');
    expect(() => parseComponent('worker-x')).toThrow(/unknown component/);
  });

  it("when the logs of a three-worker lab are read, then `worker` is all three workers' files, even after down", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'stampede-workers-'));
    dirs.push(dir);
    const { logDir } = labPaths(dir);
    await rm(logDir, { recursive: true, force: true });
    await mkdir(logDir, { recursive: true });
    for (const n of ['worker-1', 'worker-2', 'worker-3', 'api-1']) await writeFile(join(logDir, `${n}.log`), '');
    const names = (component?: Parameters<typeof logFiles>[1]) => logFiles(dir, component).map((f) => basename(f));
    expect(names('worker')).toEqual(['worker-1.log', 'worker-2.log', 'worker-3.log']);
    expect(names('worker-2')).toEqual(['worker-2.log']);
    expect(names()).toContain('worker-3.log');
    expect(names()).not.toContain('worker.log');
  });

  it('when a log source is a numbered or scaled worker, then its component is worker', () => {
    for (const s of ['worker', 'worker-2', 'ticket-worker', 'stampede_worker-extra_1', 'stampede-worker-extra-2'])
      expect(componentOfSource(s), s).toBe('worker');
  });
});
