import { execFileSync, spawn } from 'node:child_process';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { createLogger, lazyChild, redactUrl, throttledWarning } from '@stampede/core/logger';
import { describe, expect, it, vi } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const config = { LOG_LEVEL: 'info', LOG_PRETTY: false, INSTANCE_NAME: 'logger-test' } as const;

/** A logger writing into an array of parsed lines. */
function capture() {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString('utf8').split('\n').filter(Boolean)) lines.push(JSON.parse(l));
      done();
    },
  });
  return { log: createLogger(config, 'test', sink), lines, raw: () => JSON.stringify(lines) };
}

describe('logger', () => {
  it('when a lazy child logs nothing, then no child is made; when it logs, then one child carries its bindings on every line', () => {
    const { log, lines } = capture();
    const child = vi.spyOn(log, 'child');
    lazyChild(log, { requestId: 'r-quiet' });
    expect(child).not.toHaveBeenCalled();
    const l = lazyChild(log, { requestId: 'r-1' });
    l.info({ event: 'a' }, 'first');
    l.warn({ event: 'b' }, 'second');
    l.error('third');
    expect(child).toHaveBeenCalledTimes(1);
    expect(lines.map((x) => [x.requestId, x.level, x.msg])).toEqual([
      ['r-1', 'info', 'first'],
      ['r-1', 'warn', 'second'],
      ['r-1', 'error', 'third'],
    ]);
  });

  it('when a line carries a token, a password, an authorization header or the config, then their values never reach the output', () => {
    const { log, lines, raw } = capture();
    log.info(
      {
        token: 'tok-secret-1',
        password: 'pw-secret-2',
        authorization: 'Bearer auth-secret-3',
        headers: { authorization: 'Bearer auth-secret-4' },
        config: {
          ADMIN_TOKEN: 'admin-secret-5',
          DATABASE_URL: 'postgres://u:db-secret-6@h/db',
          AMQP_URL: 'amqp://u:mq-secret-7@h',
          REDIS_URL: 'redis://:rd-secret-8@h',
          LOG_LEVEL: 'info',
        },
        purchaseId: 'p-1',
      },
      'with secrets',
    );
    expect(lines).toHaveLength(1);
    expect(raw()).not.toMatch(/secret-\d/);
    expect(lines[0]).toMatchObject({
      token: '[redacted]',
      password: '[redacted]',
      authorization: '[redacted]',
      purchaseId: 'p-1',
      component: 'test',
      instance: 'logger-test',
      level: 'info',
    });
    expect((lines[0]!.config as Record<string, unknown>).LOG_LEVEL).toBe('info');
  });

  it('when a connection URL is logged through redactUrl, then its password is masked and the rest kept', () => {
    expect(redactUrl('postgres://stampede:hunter2@db:5432/test')).toBe('postgres://stampede:***@db:5432/test');
    expect(redactUrl('redis://127.0.0.1:6379')).toBe('redis://127.0.0.1:6379');
    expect(redactUrl('not a url')).toBe('[unparseable url]');
  });

  it('when a process logs a burst and exits at once, then every line reaches stdout (the asynchronous stream is flushed at exit)', () => {
    // The compiled logger, in its own process, writing to a pipe as in a container.
    const script = `
      import { createLogger } from './core/dist/logger.js';
      const log = createLogger({ LOG_LEVEL: 'info', LOG_PRETTY: false, INSTANCE_NAME: 'burst' }, 'test');
      for (let i = 0; i < 5000; i++) log.info({ event: 'burst', i }, 'line ' + i);
      process.exit(0);`;
    execFileSync('npx', ['tsc', '-b', 'core'], { cwd: ROOT, stdio: 'pipe' });
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: ROOT,
      maxBuffer: 64 * 1024 * 1024,
    }).toString('utf8');
    const seen = out
      .split('\n')
      .filter(Boolean)
      .map((l) => (JSON.parse(l) as { i: number }).i);
    expect(seen).toHaveLength(5000);
    expect(seen[4999]).toBe(4999);
  });

  it('when a process logs one line and goes quiet, then the line reaches stdout within moments, not at exit', async () => {
    const script = `
      import { createLogger } from './core/dist/logger.js';
      const log = createLogger({ LOG_LEVEL: 'info', LOG_PRETTY: false, INSTANCE_NAME: 'quiet' }, 'test');
      log.info({ event: 'alone' }, 'one line');
      setTimeout(() => {}, 5000);`;
    execFileSync('npx', ['tsc', '-b', 'core'], { cwd: ROOT, stdio: 'pipe' });
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT });
    try {
      const started = Date.now();
      const line = await new Promise<string>((resolve, reject) => {
        child.stdout.once('data', (d: Buffer) => resolve(d.toString('utf8')));
        child.once('exit', () => reject(new Error('exited before writing')));
      });
      expect(JSON.parse(line)).toMatchObject({ event: 'alone', msg: 'one line' });
      // Held at most FLUSH_EVERY_MS (50 ms) after the process is up: well before its 5 s are over.
      expect(Date.now() - started).toBeLessThan(3_000);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('when a throttled warning repeats within its interval, then one line is written per interval and the next carries the count held back', async () => {
    const { log, lines } = capture();
    const w = throttledWarning(log, 10_000);
    for (let i = 0; i < 5; i++) w.warn({ event: 'x.unavailable', n: i }, 'down', 1_000 + i);
    w.warn({ event: 'x.unavailable', n: 5 }, 'down', 11_000);
    w.warn({ event: 'x.unavailable', n: 6 }, 'down', 11_001);
    w.settle();
    w.settle();
    log.flush();
    await new Promise((r) => setImmediate(r));
    expect(lines.map((l) => [l.n, l.suppressed, l.settled])).toEqual([
      [0, undefined, undefined],
      [5, 4, undefined],
      [6, 1, true],
    ]);
  });
});
