import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Closeable, closeOnce } from '@stampede/core/lifecycle';
import { Redis } from 'ioredis';
import { freeTcpPort } from '../src/local-lab/free-port.js';
import { waitFor } from './fixtures.js';

/** A TCP port nobody listens on right now (the lab's own helper). */
export const freePort = freeTcpPort;

/** A private redis-server that a test can kill and start again on the same port; `close` kills it and removes its files. */
export interface PrivateRedis extends Closeable {
  port: number;
  url: string;
  start(): Promise<void>;
  /** SIGKILL: the server is gone at once, as in a crash. */
  kill(): Promise<void>;
  /** SIGSTOP: a hung server, its connections open and nothing answered, until `resume` (SIGCONT). */
  pause(): void;
  resume(): void;
}

/** Starts a redis-server of the test's own on a free port, with no persistence. */
export async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'stampede-redis-'));
  let child: ChildProcess | undefined;
  const url = `redis://127.0.0.1:${port}`;
  const handle: Omit<PrivateRedis, 'close'> = {
    port,
    url,
    async start() {
      child = spawn(
        'redis-server',
        ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
        { stdio: 'ignore' },
      );
      await waitFor(
        async () => {
          const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
          probe.on('error', () => {});
          try {
            await probe.connect();
            return (await probe.ping()) === 'PONG';
          } finally {
            probe.disconnect();
          }
        },
        { what: `redis-server on ${port}` },
      );
    },
    async kill() {
      const c = child;
      if (!c || c.exitCode !== null) return;
      const exited = new Promise((r) => c.once('exit', r));
      c.kill('SIGKILL');
      await exited;
      child = undefined;
    },
    pause: () => child?.kill('SIGSTOP'),
    resume: () => child?.kill('SIGCONT'),
  };
  await handle.start();
  const close = closeOnce(async () => {
    handle.resume();
    await handle.kill();
    await rm(dir, { recursive: true, force: true });
  });
  process.once('exit', () => child?.kill('SIGKILL'));
  return Object.assign(handle, { close });
}
