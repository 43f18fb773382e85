import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeBenchDocs } from '../../src/bench/bench-doc.js';
import type { BenchResults } from '../../src/bench/bench-results.js';
import { formatTable } from '../../src/bench/bench-table.js';
import { runBench } from '../../src/bench/run-bench.js';

// The harness end to end, in a second per path: no speed is asserted, only that every
// path was measured, the results were written and the run's purchases reconcile.
describe('npm run bench, a very short run', () => {
  let dir: string | undefined;
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('when the bench runs for a second per path, then every path has a rate, the results file is written and nothing is lost', async () => {
    dir = await mkdtemp(join(tmpdir(), 'stampede-bench-test-'));
    const { results, file } = await runBench({
      durationS: 1,
      connections: 4,
      warmupS: 0,
      quick: true,
      resultsDir: dir,
    });

    expect(results.paths.map((p) => p.key)).toEqual([
      'ceiling',
      'reads',
      'reads-open',
      'sold-out',
      'admission',
      'spike-queued',
      'spike-queued-open',
      'spike-sync',
      'spike-sync-open',
    ]);
    for (const p of results.paths) {
      expect(p.rate, p.key).toBeGreaterThan(0);
      expect(p.ok, p.key).toBeGreaterThan(0);
      if (p.key !== 'ceiling') expect(p.ratio, p.key).toBeGreaterThan(0);
    }
    // The sold-out path answered 409s, the sync baseline 201s: each path hit what it meant to.
    expect(results.paths.find((p) => p.key === 'sold-out')!.statuses['409']).toBeGreaterThan(0);
    expect(results.paths.find((p) => p.key === 'spike-sync')!.statuses['201']).toBeGreaterThan(0);
    expect(results.drain.complete).toBe(true);
    expect(results.drain.decided).toBeGreaterThanOrEqual(
      Math.max(results.drain.backlog, results.drain.acceptedAnswers),
    );
    expect(results.drain.rate).toBeGreaterThan(0);
    expect(results.reconciliation.map((r) => [r.phase, r.lost, r.oversold, r.duplicated])).toEqual([
      ['sold-out', 0, 0, 0],
      ['admission + drain', 0, 0, 0],
      ['spike, queued', 0, 0, 0],
      ['spike, sync', 0, 0, 0],
    ]);
    expect(results.reconciliation.every((r) => r.pass && r.accepted > 0)).toBe(true);

    const written = JSON.parse(await readFile(file, 'utf8')) as BenchResults;
    expect(written.paths).toHaveLength(results.paths.length);
    const table = formatTable(results);
    for (const p of results.paths) expect(table).toContain(p.label);
    expect(table).toContain('drain');

    const docs = await writeBenchDocs(results, dir);
    expect(docs.length).toBeGreaterThan(0);
    for (const f of docs) expect(existsSync(f)).toBe(true);
  }, 120_000);
});
