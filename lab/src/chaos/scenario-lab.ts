import { randomUUID } from 'node:crypto';
import { chmod, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brokerNames, connectFirst, deleteTopology } from '@stampede/core/broker';
import { brokerUrls, type Config, loadConfig } from '@stampede/core/config';
import { deleteKeysByPrefix } from '@stampede/core/redis';
import { freePortRun, freeTcpPort } from '../local-lab/free-port.js';
import { type Progress, startLab, stopLab } from '../local-lab/lab.js';
import { type API_REPLICAS, resolveLabDir } from '../local-lab/lab-options.js';
import { type LabState, requireLabState } from '../local-lab/lab-state.js';
import { startPrivatePostgres } from '../servers/private-postgres.js';
import { startPrivateRabbitmq } from '../servers/private-rabbitmq.js';
import { type PrivateRabbitCluster, startPrivateRabbitCluster } from '../servers/private-rabbitmq-cluster.js';
import { startPrivateRedisServer } from '../servers/private-redis.js';
import { type PrivateRedisCluster, startPrivateRedisCluster } from '../servers/private-redis-cluster.js';
import type { PrivateService } from '../servers/service-process.js';

/**
 * Servers a lab may run of its own; `rabbitmq-cluster` is three RabbitMQ nodes joined in one
 * cluster, `redis-cluster` a Redis Cluster of three masters with a replica each.
 */
export type ServiceName = 'redis' | 'postgres' | 'rabbitmq' | 'rabbitmq-cluster' | 'redis-cluster';
export type ClusterName = 'rabbitmq-cluster' | 'redis-cluster';
export type PrivateServices = Partial<Record<Exclude<ServiceName, ClusterName>, PrivateService>> & {
  'rabbitmq-cluster'?: PrivateRabbitCluster;
  'redis-cluster'?: PrivateRedisCluster;
};

/** The lab's own server of this name, for a scenario that must kill it; throws `missing` when the lab shares it. */
export function privateService<N extends keyof PrivateServices>(
  t: LabTarget,
  name: N,
  missing: string,
): NonNullable<PrivateServices[N]> {
  const service = t.services[name];
  if (!service) throw new Error(missing);
  return service as NonNullable<PrivateServices[N]>;
}

/** A running lab as a scenario sees it: its state, its settings, the servers it owns. */
export interface LabTarget {
  dir: string;
  state: LabState;
  /** The settings its components run with (URLs, prefixes, admin token). */
  config: Config;
  /** nginx, the front door. */
  base: string;
  /** Servers of the lab's own, which a scenario may really kill; absent ones are shared. */
  services: PrivateServices;
}

/** Reads the lab running in `dir` (its components already up). */
export async function attachLab(dirOption: string | undefined, services: PrivateServices = {}): Promise<LabTarget> {
  const dir = resolveLabDir(dirOption);
  const state = await requireLabState(dir);
  const config = loadConfig({ ...process.env, ...state.options.env });
  return { dir, state, config, base: `http://127.0.0.1:${state.options.nginxPort}`, services };
}

/** The port of one component of the target. */
export function portOf(target: LabTarget, name: (typeof API_REPLICAS)[number]): number {
  return target.state.options.apiPorts[name];
}

export interface ScenarioLabOptions {
  /** Servers to run privately, so a scenario can kill the real process. */
  services: ServiceName[];
  /** Default: a temp dir, removed by `close`. */
  dir?: string;
  /** More environment for every component (e.g. WORKER_BATCH_SIZE). */
  env?: Record<string, string>;
  /** How many workers (default 1). */
  workers?: number;
  onProgress?: Progress;
}

export interface ScenarioLab {
  target: LabTarget;
  /** Stops the lab and its servers, and removes its queues, keys and files. */
  close(): Promise<void>;
}

/**
 * A throwaway lab for a chaos run or a test: free ports, unique Redis and AMQP
 * prefixes, the chaos API on (with a random token), a high edge rate limit (the run's
 * own load must not be refused by nginx), and private servers for the services named
 * — those the scenario will stop. The others are the machine's shared services.
 */
export async function startScenarioLab(options: ScenarioLabOptions): Promise<ScenarioLab> {
  const tag = randomUUID().slice(0, 8);
  const ownDir = options.dir === undefined;
  const dir = options.dir ? resolveLabDir(options.dir) : await mkdtemp(join(tmpdir(), 'stampede-chaos-'));
  await mkdir(dir, { recursive: true });
  // Readable by nginx's workers, which run as nobody when this runs as root.
  await chmod(dir, 0o755);
  const services: PrivateServices = {};
  const env: Record<string, string> = {
    REDIS_KEY_PREFIX: `chaos:${tag}:`,
    AMQP_PREFIX: `chaos.${tag}`,
    CHAOS_ENABLED: 'true',
    ADMIN_TOKEN: `chaos-${randomUUID()}`,
    LOG_LEVEL: 'info',
    ...options.env,
  };
  let _state: LabState | undefined;
  const close = async () => {
    await stopLab(dir).catch(() => undefined);
    const config = loadConfig({ ...process.env, ...env });
    if (!services.rabbitmq && !services['rabbitmq-cluster']) await deleteQueues(config);
    if (!services.redis && !services['redis-cluster']) await deleteLabKeys(config).catch(() => undefined);
    await Promise.all(Object.values(services).map((s) => s.close()));
    if (ownDir) await rm(dir, { recursive: true, force: true });
  };
  try {
    const starters = {
      redis: startPrivateRedisServer,
      postgres: startPrivatePostgres,
      rabbitmq: () => startPrivateRabbitmq(),
    };
    await Promise.all(
      options.services.map(async (name) => {
        if (name === 'rabbitmq-cluster') {
          const cluster = await startPrivateRabbitCluster();
          services[name] = cluster;
          options.onProgress?.(`private ${name} up  ${cluster.urls.join(' ')}`);
          return;
        }
        if (name === 'redis-cluster') {
          const cluster = await startPrivateRedisCluster({ masters: 3, replicasEach: 1 });
          services[name] = cluster;
          options.onProgress?.(`private ${name} up  ${cluster.nodes.join(' ')}`);
          return;
        }
        const service = await starters[name]();
        services[name] = service;
        options.onProgress?.(`private ${name.padEnd(8)} up  ${service.url}  (files in ${service.dir})`);
      }),
    );
    if (services.redis) env.REDIS_URL = services.redis.url;
    if (services.postgres) env.DATABASE_URL = services.postgres.url;
    if (services.rabbitmq) env.AMQP_URL = services.rabbitmq.url;
    const cluster = services['rabbitmq-cluster'];
    if (cluster) {
      // AMQP_URL too, so that nothing falls back to the machine's broker.
      env.AMQP_URL = cluster.urls[0]!;
      env.AMQP_URLS = cluster.urls.join(',');
    }
    const redisCluster = services['redis-cluster'];
    if (redisCluster) {
      env.REDIS_CLUSTER_NODES = redisCluster.nodes.join(',');
      // REDIS_URL too (a node of the cluster, which answers a plain client with MOVED), so
      // that nothing reading REDIS_URL alone writes into the machine's Redis.
      env.REDIS_URL = `redis://${redisCluster.nodes[0]!}`;
    }
    _state = await startLab({
      dir,
      nginxPort: await freeTcpPort(),
      apiBasePort: await freePortRun(3),
      workerPort: await freePortRun(options.workers ?? 1),
      workers: options.workers ?? 1,
      rateLimitPerSecond: 100_000,
      rateLimitBurst: 100_000,
      env,
      healthTimeoutMs: 60_000,
      onProgress: options.onProgress,
    });
  } catch (err) {
    await close();
    throw err;
  }
  return { target: await attachLab(dir, services), close };
}

/** Deletes the run's queues on a shared broker (its unique prefix only). */
async function deleteQueues(config: Config): Promise<void> {
  try {
    const conn = await connectFirst(brokerUrls(config), { timeout: 3_000 });
    conn.on('error', () => undefined);
    try {
      await deleteTopology(await conn.createChannel(), brokerNames(config.AMQP_PREFIX));
    } finally {
      await conn.close().catch(() => undefined);
    }
  } catch {
    // best effort: the names are unique to this run
  }
}

/** Deletes every key under the lab's prefix (never another lab's); returns how many. */
export function deleteLabKeys(config: Pick<Config, 'REDIS_URL' | 'REDIS_KEY_PREFIX'>): Promise<number> {
  return deleteKeysByPrefix(config.REDIS_URL, config.REDIS_KEY_PREFIX);
}
