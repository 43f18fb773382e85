import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '@stampede/core/config';
import { createSql } from '@stampede/core/db';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { writeBenchDocs } from '../../src/bench/bench-doc.js';
import type { BenchResults } from '../../src/bench/bench-results.js';
import { formatTable } from '../../src/bench/bench-table.js';
import { runBench } from '../../src/bench/run-bench.js';

const COMPARED = ['ceiling', 'reads', 'sold-out', 'admission'];

// The harness end to end, in a second per round: no speed is asserted, only that every
// path was measured on both stacks, the results were written, every purchase of the run
// reconciles and the run left nothing behind.
describe('npm run bench, a very short run', () => {
  let dir: string | undefined;
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('when the bench runs for a second per round, then every path has a rate and a ratio to its reference, the results file is written and nothing is lost', async () => {
    dir = await mkdtemp(join(tmpdir(), 'stampede-bench-test-'));
    const { results, file } = await runBench({
      durationS: 1,
      connections: 4,
      rounds: 2,
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
      'admission-open',
      'spike-queued',
      'spike-queued-open',
      'spike-sync',
      'spike-sync-open',
    ]);
    for (const p of results.paths) {
      expect(p.rate, p.key).toBeGreaterThan(0);
      expect(p.ok, p.key).toBeGreaterThan(0);
      // Reported for every path; a short, slow round (the sync spike) can round to 0.00 cores.
      expect(p.generatorCpu, p.key).toBeGreaterThanOrEqual(0);
    }
    // Every compared path: two rounds on each stack, a ratio per round and their median.
    expect(results.reference.map((p) => p.key)).toEqual(COMPARED);
    for (const key of COMPARED) {
      const p = results.paths.find((x) => x.key === key)!;
      const ref = results.reference.find((x) => x.key === key)!;
      expect(p.rounds, key).toHaveLength(2);
      expect(ref.rounds, key).toHaveLength(2);
      expect(ref.rate, key).toBeGreaterThan(0);
      expect(p.ratios, key).toHaveLength(2);
      expect(p.ratio, key).toBeGreaterThan(0);
      // The reference answered what the path means, with nothing else mixed in.
      expect(Object.keys(ref.statuses), key).toEqual(ref.expected.map(String));
    }
    expect(results.paths.find((p) => p.key === 'sold-out')!.statuses['409']).toBeGreaterThan(0);
    expect(results.paths.find((p) => p.key === 'spike-sync')!.statuses['201']).toBeGreaterThan(0);
    for (const d of [results.drain, results.referenceDrain]) {
      expect(d.rounds).toHaveLength(2);
      expect(d.complete).toBe(true);
      expect(d.rate).toBeGreaterThan(0);
    }
    expect(results.drain.ratio).toBeGreaterThan(0);
    expect(results.reconciliation.map((r) => [r.phase, r.lost, r.oversold, r.duplicated])).toEqual([
      ['sold-out', 0, 0, 0],
      ['admission + drain', 0, 0, 0],
      ['spike, queued', 0, 0, 0],
      ['spike, sync', 0, 0, 0],
      ['reference admission + drain', 0, 0, 0],
    ]);
    expect(results.reconciliation.every((r) => r.pass && r.accepted > 0)).toBe(true);
    expect(results.targets.filter((t) => t.issue === 14)).toHaveLength(6);

    const written = JSON.parse(await readFile(file, 'utf8')) as BenchResults;
    expect(written.paths).toHaveLength(results.paths.length);
    expect(written.reference).toHaveLength(COMPARED.length);
    const table = formatTable(results);
    for (const p of results.paths) expect(table).toContain(p.label);
    expect(table).toContain('drain');

    const docs = await writeBenchDocs(results, dir);
    for (const f of docs) expect(existsSync(f)).toBe(true);
    const png = await readFile(docs[1]!);
    expect(docs[1]).toMatch(/benchmarks\.png$/);
    expect(png.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
    expect(png.length).toBeGreaterThan(10_000);
    expect(await readFile(docs[0]!, 'utf8')).toContain('Stampede ÷ reference');

    // The reference's tables and keys went with it.
    const config = loadConfig();
    const names = results.settings.names.reference;
    const sql = createSql(config, { max: 1 });
    const redis = new Redis(config.REDIS_URL);
    try {
      expect(await sql`select 1 from information_schema.schemata where schema_name = ${names.schema}`).toHaveLength(0);
      expect(await redis.keys(`${names.redisKeyPrefix}*`)).toEqual([]);
    } finally {
      await sql.end({ timeout: 5 });
      redis.disconnect();
    }
  }, 180_000);
});
