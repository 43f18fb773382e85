import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createGate } from '@stampede/core/gate';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestEvent, testSql } from '../testing/fixtures.js';
import { insertPurchase, openLab, type ReconcileLab } from './reconcile-support.js';

/** The built command, as `npm run reconcile` runs it (npm test builds before testing). */
const CLI = fileURLToPath(new URL('../dist/cli/reconcile.js', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

const sql = testSql();
afterAll(() => sql.end({ timeout: 1 }));

function runCli(lab: ReconcileLab, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = {
    ...process.env,
    REDIS_KEY_PREFIX: lab.config.REDIS_KEY_PREFIX,
    AMQP_PREFIX: lab.config.AMQP_PREFIX,
    LOG_LEVEL: 'silent',
  };
  return new Promise((resolve) => {
    execFile('node', [CLI, ...args], { env, timeout: 20_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

describe('npm run reconcile, as a real process', () => {
  let lab: ReconcileLab;
  let dir: string;
  beforeAll(() => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npx tsc -b first`);
  });
  beforeEach(async () => {
    lab = await openLab(sql);
    dir = await mkdtemp(join(tmpdir(), 'stampede-reconcile-'));
  });
  afterEach(async () => {
    await lab.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('when every accepted id is decided, then it prints the figures and VERDICT: PASS and exits 0', async () => {
    const event = await createTestEvent(sql, [10]);
    const id = await insertPurchase(sql, event, 0, { quantity: 2 });
    await createGate(lab.redis, lab.keys).prime(event.tiers[0]!, 8);
    const file = join(dir, 'accepted.txt');
    await writeFile(file, `# ids from a k6 run\n\n${id}\n`);

    const { code, stdout } = await runCli(lab, ['--event', event.id, '--accepted', file, '--wait', '2']);

    expect(stdout).toMatch(/^ {2}lost {10}0$/m);
    expect(stdout).toMatch(/^ {2}accepted {6}1$/m);
    expect(stdout.trimEnd().split('\n').at(-1)).toBe('VERDICT: PASS');
    expect(code).toBe(0);
  });

  it('when an accepted id has no row, then the verdict names lost=1 and the exit code is not 0', async () => {
    const event = await createTestEvent(sql, [10]);
    const decided = await insertPurchase(sql, event, 0);
    const file = join(dir, 'accepted.txt');
    await writeFile(file, `${decided}\n${randomUUID()}\n`);

    const text = await runCli(lab, ['--event', event.id, '--accepted', file, '--wait', '0.3']);
    expect(text.stdout).toContain('VERDICT: FAIL (lost=1)');
    expect(text.code).toBe(1);

    const json = await runCli(lab, ['--event', event.id, '--accepted', file, '--wait', '0.3', '--json']);
    expect(JSON.parse(json.stdout)).toMatchObject({
      lost: 1,
      accepted: 2,
      confirmed: 1,
      verdict: { pass: false, failures: ['lost=1'] },
    });
    expect(json.code).toBe(1);
  });

  it('when run as the docs say for a script, `npm run --silent reconcile -- --json`, then stdout is one JSON document', async () => {
    const event = await createTestEvent(sql, [10]);
    const env = { ...process.env, REDIS_KEY_PREFIX: lab.config.REDIS_KEY_PREFIX, AMQP_PREFIX: lab.config.AMQP_PREFIX };
    const stdout = await new Promise<string>((resolve, reject) =>
      execFile(
        'npm',
        ['run', '--silent', 'reconcile', '--', '--event', event.id, '--wait', '0', '--json'],
        { cwd: ROOT, env, timeout: 30_000 },
        (err, out) => (err ? reject(err) : resolve(out)),
      ),
    );
    expect(JSON.parse(stdout)).toMatchObject({ verdict: { pass: true } });
  });

  it('when no accepted-ids file is given, then lost is "not measured" and the run still passes', async () => {
    const event = await createTestEvent(sql, [10]);
    const { code, stdout } = await runCli(lab, ['--event', event.id, '--wait', '0']);
    expect(stdout).toContain('lost          not measured (no accepted-ids file)');
    expect(code).toBe(0);
  });

  it('when the accepted-ids file holds something that is not an id, then it stops with a message naming the line', async () => {
    const event = await createTestEvent(sql, [10]);
    const file = join(dir, 'accepted.txt');
    await writeFile(file, 'hello\n');
    const { code, stderr } = await runCli(lab, ['--event', event.id, '--accepted', file]);
    expect(stderr).toContain(`reconcile failed: ${file}:1: not a purchase id: hello`);
    expect(code).toBe(1);
  });
});
