import { execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import { subscribeBackplane } from '@stampede/core/backplane';
import { createSql } from '@stampede/core/db';
import { closeOnce, closeServer } from '@stampede/core/lifecycle';
import { createRedis } from '@stampede/core/redis';
import { REPO_ROOT, runNodeScript, testConfig, testLogger, waitFor } from '@stampede/lab/testing';
import { beforeAll, describe, expect, it } from 'vitest';

/**
 * A process of its own with the real lifecycle: each step logs itself, then does what
 * the test says; `trigger` is what happens once the runbook is set (a crash, nothing).
 */
function lifecycleProcess(o: { steps: Record<string, string>; trigger?: string; timeoutMs?: number }) {
  const steps = Object.entries(o.steps)
    .map(
      ([name, body]) =>
        `{ name: '${name}', run: async () => { log.info({ event: 'step', name: '${name}' }); ${body} } }`,
    )
    .join(',\n');
  return runNodeScript(
    `
    import { handleProcessLifecycle } from '@stampede/core/lifecycle';
    import { createLogger } from '@stampede/core/logger';
    const log = createLogger({ LOG_LEVEL: 'info', LOG_PRETTY: false, INSTANCE_NAME: 'lifecycle-test' }, 'test');
    const lifecycle = handleProcessLifecycle(log, { timeoutMs: ${o.timeoutMs ?? 5_000} });
    lifecycle.closeWith([${steps}]);
    // What a server would do: keep the process alive until it is told to stop.
    const alive = setInterval(() => {}, 1_000);
    log.info({ event: 'ready' });
    ${o.trigger ?? ''}`,
    { dir: 'core/dist', name: 'lifecycle-probe' },
  );
}

const stepsRun = (logs: { event?: string; name?: unknown }[]) =>
  logs.filter((l) => l.event === 'step').map((l) => l.name);

describe('the process lifecycle', () => {
  beforeAll(() => {
    execFileSync('npx', ['tsc', '-b', 'core'], { cwd: REPO_ROOT, stdio: 'pipe' });
  }, 120_000);

  it('when SIGTERM arrives, then every step runs in order, each after the one before, and the process exits 0', async () => {
    const p = lifecycleProcess({
      steps: {
        'stop-intake': 'await new Promise((r) => setTimeout(r, 100));',
        drain: "clearInterval(alive); throw new Error('drain failed');",
        'close-clients': '',
      },
    });
    await p.waitForLog((l) => l.event === 'ready', 'ready');
    expect(await p.kill('SIGTERM'), p.stderr()).toBe(0);
    expect(stepsRun(p.logs)).toEqual(['stop-intake', 'drain', 'close-clients']);
    expect(p.logs.find((l) => l.event === 'shutdown.step_failed')).toMatchObject({ step: 'drain', level: 'warn' });
    expect(p.logs.find((l) => l.event === 'shutdown.done')).toMatchObject({ reason: 'SIGTERM' });
  });

  it('when an exception is uncaught, then it is logged as fatal, the same steps run, and the process exits 1', async () => {
    const p = lifecycleProcess({
      steps: { 'stop-intake': '', 'close-clients': 'clearInterval(alive);' },
      trigger: "setTimeout(() => { throw new Error('boom'); }, 50);",
    });
    expect(await p.exited, p.stderr()).toBe(1);
    const crashed = p.logs.find((l) => l.event === 'process.crashed');
    expect(crashed).toMatchObject({ level: 'fatal', origin: 'uncaughtException', err: { message: 'boom' } });
    expect(stepsRun(p.logs)).toEqual(['stop-intake', 'close-clients']);
    // By time, not by line order: at exit the line in flight may reach the pipe after the rest.
    const firstStep = p.logs.find((l) => l.event === 'step')!;
    expect(Date.parse(crashed!.time)).toBeLessThanOrEqual(Date.parse(firstStep.time));
    expect(p.logs.some((l) => l.event === 'shutdown.done')).toBe(true);
  });

  it('when a promise rejection is unhandled, then the steps run and the process exits 1', async () => {
    const p = lifecycleProcess({
      steps: { 'close-clients': 'clearInterval(alive);' },
      trigger: "void Promise.reject(new Error('nobody listened'));",
    });
    expect(await p.exited, p.stderr()).toBe(1);
    expect(p.logs.find((l) => l.event === 'process.crashed')).toMatchObject({ origin: 'unhandledRejection' });
    expect(stepsRun(p.logs)).toEqual(['close-clients']);
  });

  it('when a step hangs, then the forced-exit timer ends the process with 1 after the timeout, and no later step runs', async () => {
    const p = lifecycleProcess({
      steps: { 'stop-intake': '', 'hung-drain': 'await new Promise(() => {});', 'close-clients': '' },
      timeoutMs: 600,
    });
    await p.waitForLog((l) => l.event === 'ready', 'ready');
    const started = Date.now();
    expect(await p.kill('SIGTERM'), p.stderr()).toBe(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(550);
    expect(stepsRun(p.logs)).toEqual(['stop-intake', 'hung-drain']);
    expect(p.logs.find((l) => l.event === 'shutdown.forced')).toMatchObject({ level: 'error', timeoutMs: 600 });
    expect(p.logs.some((l) => l.event === 'shutdown.done')).toBe(false);
  });

  it('when a second signal arrives during the shutdown, then the process exits 1 at once', async () => {
    const p = lifecycleProcess({ steps: { 'slow-drain': 'await new Promise((r) => setTimeout(r, 10_000));' } });
    await p.waitForLog((l) => l.event === 'ready', 'ready');
    p.signal('SIGTERM');
    await p.waitForLog((l) => l.event === 'step', 'the first step');
    expect(await p.kill('SIGINT'), p.stderr()).toBe(1);
    expect(p.logs.find((l) => l.event === 'shutdown.second_signal')).toMatchObject({ signal: 'SIGINT' });
  });
});

describe('close()', () => {
  it('when a close is called twice, then it runs once and both calls get the same promise', async () => {
    let runs = 0;
    const close = closeOnce(async () => {
      runs += 1;
      await new Promise((r) => setTimeout(r, 20));
    });
    const first = close();
    const second = close();
    expect(second).toBe(first);
    await Promise.all([first, second]);
    expect(close()).toBe(first);
    expect(runs).toBe(1);
  });

  it('when a Redis client, a Postgres pool, a backplane subscriber and an HTTP server are closed twice, then the second call is the first one and nothing fails', async () => {
    const config = testConfig();
    const log = testLogger(config);
    const redis = createRedis(config, log);
    const sql = createSql(config, { max: 1, closeTimeoutS: 1 });
    const sub = subscribeBackplane(config, log);
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const closeHttp = closeServer(server);
    await waitFor(() => redis.status === 'ready', { what: 'redis' });
    await sub.ready();
    expect((await sql`select 1 as one`)[0]).toEqual({ one: 1 });

    for (const c of [redis, sql, sub, { close: closeHttp }]) {
      const first = c.close();
      expect(c.close()).toBe(first);
      await first;
      await expect(c.close()).resolves.toBeUndefined();
    }
    expect(redis.status).toBe('end');
    expect(sub.state()).toBe('down');
    expect(server.listening).toBe(false);
    await expect(sql`select 1`).rejects.toMatchObject({ code: 'CONNECTION_ENDED' });
  });
});
