import { randomUUID } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Config } from '@stampede/core/config';
import { deleteKeysByPrefix } from '@stampede/core/redis';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { freePortRun } from '../../src/local-lab/free-port.js';
import { startLab, stopLab } from '../../src/local-lab/lab.js';
import type { LabState } from '../../src/local-lab/lab-state.js';
import { deleteTestTopology } from '../../testing/broker.js';
import { testConfig } from '../../testing/fixtures.js';
import { freePort } from '../../testing/processes.js';
import { launchChromium } from './chromium.js';

/** A lab of the test's own: temp dir, free ports, its own Redis prefix and queue names. */
export interface PrivateLab {
  dir: string;
  config: Config;
  base: string;
  state: LabState;
  close(): Promise<void>;
}

/** Starts a private lab; `close` tears it down and removes its queues, keys and files. */
export async function startPrivateLab(
  options: { rateLimitPerSecond?: number; rateLimitBurst?: number; env?: Record<string, string> } = {},
): Promise<PrivateLab> {
  const { env: extraEnv, ...limits } = options;
  const config = testConfig();
  // Readable by nginx's workers, which run as nobody when the tests run as root.
  const dir = await mkdtemp(join(tmpdir(), 'stampede-lab-'));
  await chmod(dir, 0o755);
  const nginxPort = await freePort();
  const close = async () => {
    await stopLab(dir);
    await deleteTestTopology(config.AMQP_PREFIX);
    await deleteKeysByPrefix(config.REDIS_URL, config.REDIS_KEY_PREFIX).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const state = await startLab({
      dir,
      nginxPort,
      apiBasePort: await freePortRun(3),
      workerPort: await freePort(),
      ...limits,
      env: {
        REDIS_KEY_PREFIX: config.REDIS_KEY_PREFIX,
        AMQP_PREFIX: config.AMQP_PREFIX,
        LOG_LEVEL: 'info',
        ...extraEnv,
      },
      healthTimeoutMs: 60_000,
    });
    return { dir, config, base: `http://127.0.0.1:${nginxPort}`, state, close };
  } catch (err) {
    await close();
    throw err;
  }
}

export type PrivateLabOptions = Parameters<typeof startPrivateLab>[0];

/** A private lab and a Chromium, as a browser test drives them. */
export interface BrowserLab {
  lab: PrivateLab;
  browser: Browser;
}

/** Starts a private lab and launches Chromium; `close` closes both (the browser first). */
export async function startBrowserLab(
  options: PrivateLabOptions = {},
): Promise<BrowserLab & { close(): Promise<void> }> {
  const lab = await startPrivateLab(options);
  try {
    const browser = await launchChromium();
    return {
      lab,
      browser,
      async close() {
        await browser.close();
        await lab.close();
      },
    };
  } catch (err) {
    await lab.close();
    throw err;
  }
}

/** One browser lab for a test file: started before its tests, closed after them. */
export function useBrowserLab(options: PrivateLabOptions = {}): BrowserLab {
  const t = {} as BrowserLab & { close?: () => Promise<void> };
  beforeAll(async () => {
    Object.assign(t, await startBrowserLab(options));
  }, 180_000);
  afterAll(async () => {
    await t.close?.();
  }, 60_000);
  return t;
}

/** Runs `count` calls of `task`, at most `concurrency` at a time; results in order. */
export async function pool<T>(count: number, concurrency: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const results: T[] = new Array(count);
  let next = 0;
  const runners = Array.from({ length: concurrency }, async () => {
    while (next < count) {
      const i = next++;
      results[i] = await task(i);
    }
  });
  await Promise.all(runners);
  return results;
}

/** A purchase through nginx with a fresh Idempotency-Key and a buyer of its own. */
export async function buy(base: string, eventId: string, tierId: string, quantity = 1) {
  const res = await fetch(`${base}/events/${eventId}/purchases`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': randomUUID() },
    body: JSON.stringify({ tierId, quantity, buyerId: `buyer-${randomUUID().slice(0, 12)}` }),
  });
  const body = (await res.json()) as { purchaseId?: string; status?: string; code?: string };
  return { status: res.status, body };
}
