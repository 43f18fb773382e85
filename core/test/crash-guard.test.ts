import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { testConfig } from '@stampede/lab/testing';
import { beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * porsager/postgres#1208 for real, in a process of its own: a transaction's backend is
 * terminated while a query of it runs; unpatched, postgres.js then throws from a timer.
 */
function runTransactionWhoseBackendDies(guarded: boolean) {
  const script = `
    import postgres from 'postgres';
    import { createLogger } from './logger.js';
    import { installCrashGuard } from './lifecycle/crash-guard.js';
    if (${guarded}) installCrashGuard(createLogger({ LOG_LEVEL: 'info', LOG_PRETTY: false, INSTANCE_NAME: 'guard-test' }, 'test'));
    const url = ${JSON.stringify(testConfig().DATABASE_URL)};
    const sql = postgres(url, { max: 2, onnotice() {} });
    const killer = postgres(url, { max: 1 });
    let pid = null;
    const tx = sql.begin(async (t) => {
      [{ pid }] = await t\`select pg_backend_pid() as pid\`;
      await t\`select pg_sleep(3)\`;
    });
    while (pid === null) await new Promise((r) => setTimeout(r, 20));
    await killer\`select pg_terminate_backend(\${pid})\`;
    console.log(JSON.stringify({ event: 'tx', outcome: await tx.then(() => 'committed', (e) => e.code) }));
    await new Promise((r) => setTimeout(r, 300));
    const [{ ok }] = await sql\`select 1 as ok\`;
    console.log(JSON.stringify({ event: 'after', ok }));
    await sql.end({ timeout: 1 }); await killer.end();
    process.exit(0);`;
  // A module file under the repo, so `postgres` and core/dist resolve as in the services.
  const file = join(ROOT, 'core', 'dist', `crash-guard-probe-${process.pid}-${guarded ? 'on' : 'off'}.mjs`);
  writeFileSync(file, script);
  try {
    return spawnSync(process.execPath, [file], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
  } finally {
    rmSync(file, { force: true });
  }
}

const lines = (out: string) =>
  out
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('porsager/postgres#1208, patched (patches/postgres+3.4.9.patch)', () => {
  beforeAll(() => {
    execFileSync('npx', ['tsc', '-b', 'core'], { cwd: ROOT, stdio: 'pipe' });
  }, 120_000);

  it("when a transaction's backend dies, then the transaction fails CONNECTION_CLOSED, nothing is thrown from a timer, and the same pool works after", () => {
    const run = runTransactionWhoseBackendDies(false);
    // Unpatched, postgres.js 3.4.9 throws `TypeError: Cannot read properties of null
    // (reading 'write')` from nextWrite here and the process exits 1.
    expect(run.stderr).not.toMatch(/TypeError|nextWrite/);
    expect(run.status, run.stderr).toBe(0);
    const out = lines(run.stdout);
    expect(out.find((l) => l.event === 'tx')?.outcome).toBe('CONNECTION_CLOSED');
    expect(out.find((l) => l.event === 'after')?.ok).toBe(1);
  });

  it("when a transaction's backend dies under the crash guard, then the guard has nothing to catch: no fatal line, exit 0", () => {
    const run = runTransactionWhoseBackendDies(true);
    expect(run.status, run.stderr).toBe(0);
    const out = lines(run.stdout);
    expect(out.find((l) => l.event === 'tx')?.outcome).toBe('CONNECTION_CLOSED');
    expect(out.some((l) => l.event === 'process.crashed')).toBe(false);
    expect(out.find((l) => l.event === 'after')?.ok).toBe(1);
  });

  it('when node_modules is installed, then the patch is applied to every build of postgres.js', () => {
    for (const build of ['src', 'cjs/src', 'cf/src']) {
      const source = readFileSync(join(ROOT, 'node_modules', 'postgres', build, 'connection.js'), 'utf8');
      expect(source, build).toMatch(/function nextWrite\(fn\) \{\s*if \(!socket\) \{/);
    }
  });
});
