import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freeTcpPort } from '../local-lab/free-port.js';
import { type PrivateService, ServerProcess, serviceDir, startService } from './service-process.js';

/** Answers PING? One short-lived connection, no retries. */
export async function redisAnswers(url: string): Promise<boolean> {
  const probe = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 500,
  });
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    return (await probe.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}

/**
 * A redis-server of its own on a free port, without persistence: after a kill it comes
 * back empty, as a real Redis without a volume does (the gate must rebuild from Postgres).
 * `moreArgs` come last, so they override (e.g. `--appendonly yes` to measure what it costs).
 */
export async function startPrivateRedisServer(moreArgs: string[] = []): Promise<PrivateService> {
  const port = await freeTcpPort();
  const dir = await serviceDir('redis', undefined);
  const url = `redis://127.0.0.1:${port}`;
  const server = new ServerProcess({
    name: 'redis-server',
    command: 'redis-server',
    logFile: join(dir, 'redis.log'),
    args: [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
      ...moreArgs,
    ],
  });
  return startService({
    name: 'redis',
    port,
    url,
    dir,
    server,
    ready: () => redisAnswers(url),
    startTimeoutMs: 15_000,
    stopSignal: 'SIGTERM',
  });
}
