import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, runNodeScript, testConfig } from '@stampede/lab/testing';
import { beforeAll, describe, expect, it } from 'vitest';

/**
 * porsager/postgres#1208 for real, in a process of its own: a transaction's backend is
 * terminated while a query of it runs; unpatched, postgres.js then throws from a timer.
 */
async function runTransactionWhoseBackendDies(guarded: boolean) {
  const script = `
    import postgres from 'postgres';
    import { handleProcessLifecycle } from '@stampede/core/lifecycle';
    import { createLogger } from '@stampede/core/logger';
    const log = createLogger({ LOG_LEVEL: 'info', LOG_PRETTY: false, INSTANCE_NAME: 'guard-test' }, 'test');
    if (${guarded}) handleProcessLifecycle(log, { timeoutMs: 5_000 });
    const url = ${JSON.stringify(testConfig().DATABASE_URL)};
    const sql = postgres(url, { max: 2, onnotice() {} });
    const killer = postgres(url, { max: 1 });
    let pid = null;
    const tx = sql.begin(async (t) => {
      [{ pid }] = await t\`select pg_backend_pid() as pid\`;
      await t\`select pg_sleep(3)\`;
    });
    // Handled at once: the close can arrive before the killer's answer, and a rejection
    // nobody handles yet would end the process (an unhandled rejection, not the bug).
    const outcome = tx.then(() => 'committed', (e) => e.code);
    while (pid === null) await new Promise((r) => setTimeout(r, 20));
    await killer\`select pg_terminate_backend(\${pid})\`;
    console.log(JSON.stringify({ event: 'tx', outcome: await outcome }));
    await new Promise((r) => setTimeout(r, 300));
    const [{ ok }] = await sql\`select 1 as ok\`;
    console.log(JSON.stringify({ event: 'after', ok }));
    await sql.end({ timeout: 1 }); await killer.end();
    process.exit(0);`;
  const run = runNodeScript(script, { dir: 'core/dist', name: `crash-guard-probe-${guarded ? 'on' : 'off'}` });
  return { status: await run.exited, stderr: run.stderr(), logs: run.logs };
}

describe('porsager/postgres#1208, patched (patches/postgres+3.4.9.patch)', () => {
  beforeAll(() => {
    execFileSync('npx', ['tsc', '-b', 'core'], { cwd: REPO_ROOT, stdio: 'pipe' });
  }, 120_000);

  it("when a transaction's backend dies, then the transaction fails CONNECTION_CLOSED, nothing is thrown from a timer, and the same pool works after", async () => {
    const run = await runTransactionWhoseBackendDies(false);
    // Unpatched, postgres.js 3.4.9 throws `TypeError: Cannot read properties of null
    // (reading 'write')` from nextWrite here and the process exits 1.
    expect(run.stderr).not.toMatch(/TypeError|nextWrite/);
    expect(run.status, run.stderr).toBe(0);
    const out = run.logs;
    expect(out.find((l) => l.event === 'tx')?.outcome).toBe('CONNECTION_CLOSED');
    expect(out.find((l) => l.event === 'after')?.ok).toBe(1);
  });

  it("when a transaction's backend dies under the crash guard, then the guard has nothing to catch: no fatal line, exit 0", async () => {
    const run = await runTransactionWhoseBackendDies(true);
    expect(run.status, run.stderr).toBe(0);
    const out = run.logs;
    expect(out.find((l) => l.event === 'tx')?.outcome).toBe('CONNECTION_CLOSED');
    expect(out.some((l) => l.event === 'process.crashed')).toBe(false);
    expect(out.find((l) => l.event === 'after')?.ok).toBe(1);
  });

  it('when node_modules is installed, then the patch is applied to every build of postgres.js', () => {
    for (const build of ['src', 'cjs/src', 'cf/src']) {
      const source = readFileSync(join(REPO_ROOT, 'node_modules', 'postgres', build, 'connection.js'), 'utf8');
      expect(source, build).toMatch(/function nextWrite\(fn\) \{\s*if \(!socket\) \{/);
    }
  });
});
