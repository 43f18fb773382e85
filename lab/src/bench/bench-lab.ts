import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { brokerNames, deleteTopology } from '@stampede/core/broker';
import { type Config, loadConfig } from '@stampede/core/config';
import { deleteKeysByPrefix } from '@stampede/core/redis';
import amqplib from 'amqplib';
import { freePortRun, freeTcpPort } from '../local-lab/free-port.js';
import { type Progress, restartComponent, startComponent, startLab, stopComponent, stopLab } from '../local-lab/lab.js';
import { API_REPLICAS, type ComponentName, REPO_ROOT } from '../local-lab/lab-options.js';
import { type LabState, readRunRecord, updateLabState } from '../local-lab/lab-state.js';

/**
 * nginx's purchase rate limit for the benchmark: far above anything one machine sends,
 * so the edge limit (20/s per address by default, and every benchmark request comes from
 * 127.0.0.1) never caps a measurement. The limit_req lookup itself still runs.
 */
export const BENCH_RATE_LIMIT = 1_000_000;

/** A lab of the benchmark's own: temp dir, free ports, its own Redis prefix and queues. */
export interface BenchLab {
  dir: string;
  /** http://127.0.0.1:<nginx port> */
  base: string;
  config: Config;
  state: LabState;
  /** Restarts the three replicas in this purchase mode (queued, or the sync baseline). */
  setPurchaseMode(mode: Config['PURCHASE_MODE']): Promise<void>;
  stopWorker(): Promise<void>;
  startWorker(): Promise<void>;
  /**
   * Restarts one replica with the CPU profiler preloaded (profile-preload.ts): `start`
   * begins profiling, `finish` restarts it without, which writes the profile, and gives its path.
   */
  profileReplica(
    name: (typeof API_REPLICAS)[number],
    outDir: string,
  ): Promise<{ start(): void; finish(): Promise<string | undefined> }>;
  /** Pid of each running component (for CPU accounting). */
  pids(): Promise<Partial<Record<ComponentName, number>>>;
  close(): Promise<void>;
}

/**
 * Starts a private lab for one benchmark run, next to whatever else runs on the machine
 * (a developer's lab on 8080, tests): nothing it names is shared with them.
 */
export async function startBenchLab(
  options: { onProgress?: Progress; env?: Record<string, string>; edgeCache?: boolean } = {},
): Promise<BenchLab> {
  const tag = randomUUID().slice(0, 8);
  const env = {
    REDIS_KEY_PREFIX: `bench:${tag}:`,
    AMQP_PREFIX: `bench.${tag}`,
    PURCHASE_MODE: 'queued',
    ...options.env,
  };
  const config = loadConfig({ ...process.env, ...env });
  // Readable by nginx's workers, which run as nobody when the benchmark runs as root.
  const dir = await mkdtemp(join(tmpdir(), 'stampede-bench-'));
  await chmod(dir, 0o755);
  const nginxPort = await freeTcpPort();
  const close = () => cleanUp(dir, config);
  const progress = options.onProgress ? { onProgress: options.onProgress } : {};
  try {
    const state = await startLab({
      dir,
      nginxPort,
      apiBasePort: await freePortRun(API_REPLICAS.length),
      workerPort: await freeTcpPort(),
      rateLimitPerSecond: BENCH_RATE_LIMIT,
      rateLimitBurst: BENCH_RATE_LIMIT,
      edgeCache: options.edgeCache ?? false,
      env,
      healthTimeoutMs: 60_000,
      ...progress,
    });
    return {
      dir,
      base: `http://127.0.0.1:${nginxPort}`,
      config,
      state,
      close,
      async setPurchaseMode(mode) {
        await updateLabState(dir, (s) => {
          s.options.env.PURCHASE_MODE = mode;
        });
        await Promise.all(API_REPLICAS.map((r) => restartComponent(dir, r, { healthTimeoutMs: 60_000 })));
      },
      stopWorker: () => stopComponent(dir, 'worker'),
      startWorker: async () => {
        await startComponent(dir, 'worker', { healthTimeoutMs: 60_000 });
      },
      async profileReplica(name, outDir) {
        await mkdir(outDir, { recursive: true });
        // The lab's env is lab-wide, so it is set only for this one restart.
        const preload = pathToFileURL(join(REPO_ROOT, 'lab/dist/bench/profile-preload.js')).href;
        await updateLabState(dir, (s) => {
          Object.assign(s.options.env, { NODE_OPTIONS: `--import=${preload}`, STAMPEDE_CPU_PROFILE_DIR: outDir });
        });
        try {
          await restartComponent(dir, name, { healthTimeoutMs: 60_000 });
        } finally {
          await updateLabState(dir, (s) => {
            delete s.options.env.NODE_OPTIONS;
            delete s.options.env.STAMPEDE_CPU_PROFILE_DIR;
          });
        }
        const pid = (await readRunRecord(dir, name))?.pid;
        return {
          start: () => {
            if (pid) process.kill(pid, 'SIGUSR2');
          },
          async finish() {
            await restartComponent(dir, name, { healthTimeoutMs: 60_000 });
            const file = join(outDir, `${pid}.cpuprofile`);
            return existsSync(file) ? file : undefined;
          },
        };
      },
      async pids() {
        const out: Partial<Record<ComponentName, number>> = {};
        for (const name of ['nginx', ...API_REPLICAS, 'worker'] as const) {
          const r = await readRunRecord(dir, name);
          if (r?.pid && !r.exit) out[name] = r.pid;
        }
        return out;
      },
    };
  } catch (err) {
    await close();
    throw err;
  }
}

/** Stops the lab and removes its queues, its Redis keys (its prefix only) and its files. */
async function cleanUp(dir: string, config: Config): Promise<void> {
  await stopLab(dir).catch(() => undefined);
  const conn = await amqplib.connect(config.AMQP_URL).catch(() => undefined);
  if (conn) {
    const ch = await conn.createChannel();
    await deleteTopology(ch, brokerNames(config.AMQP_PREFIX, config.AMQP_LANES)).catch(() => undefined);
    await conn.close().catch(() => undefined);
  }
  await deleteKeysByPrefix(config.REDIS_URL, config.REDIS_KEY_PREFIX).catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
}
