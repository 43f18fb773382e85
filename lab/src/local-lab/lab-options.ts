import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { configSchema } from '@stampede/core/config';

/** The repository root, found from both lab/src/local-lab (tests) and lab/dist/local-lab (built). */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export const API_REPLICAS = ['api-1', 'api-2', 'api-3'] as const;
/** The components of a lab with one worker (the default). */
export const COMPONENTS = ['worker', ...API_REPLICAS, 'nginx'] as const;
/** A lab with one worker calls it `worker`; with N, they are `worker-1` … `worker-N`. */
export type WorkerName = 'worker' | `worker-${number}`;
export type ComponentName = WorkerName | (typeof API_REPLICAS)[number] | 'nginx';

export const MAX_WORKERS = 16;

export const isWorker = (name: string): name is WorkerName => /^worker(-\d+)?$/.test(name);

/** The names of a lab's workers. */
export function workerNames(count = 1): WorkerName[] {
  if (count <= 1) return ['worker'];
  return Array.from({ length: count }, (_, i) => `worker-${i + 1}` as const);
}

/** Every component of a lab, workers first. */
export function labComponents(options: Pick<ResolvedLabOptions, 'workers'>): ComponentName[] {
  return [...workerNames(options.workers), ...API_REPLICAS, 'nginx'];
}

/**
 * The components a user-typed name stands for in this lab: `worker` is every worker (so
 * `stop worker` stops the draining, however many there are), `worker-1` of a one-worker
 * lab is its `worker`; anything else names itself, or is refused with the valid names.
 */
export function resolveTargets(options: Pick<ResolvedLabOptions, 'workers'>, name: ComponentName): ComponentName[] {
  const workers = workerNames(options.workers);
  if (name === 'worker') return workers;
  if (name === 'worker-1' && workers[0] === 'worker') return ['worker'];
  if (labComponents(options).includes(name)) return [name];
  throw new Error(`this lab has no ${name}; its components: ${labComponents(options).join(', ')}`);
}

/** Narrows a user-typed name to a component, or throws a message listing the valid ones. */
export function parseComponent(name: string | undefined): ComponentName {
  if (name && ((COMPONENTS as readonly string[]).includes(name) || isWorker(name))) return name as ComponentName;
  throw new Error(
    `unknown component ${name ? `"${name}"` : '(none given)'}; expected one of: ${COMPONENTS.join(', ')}, worker-<n>`,
  );
}

/** What `startLab` accepts; every field has a default that matches the Docker topology. */
export interface LabOptions {
  /** State, logs and rendered nginx config live here (default `.lab/`). */
  dir?: string;
  /** nginx's port, the lab's front door (default 8080). */
  nginxPort?: number;
  /** api-1 listens on this port, api-2 on the next, api-3 on the one after (default 3001). */
  apiBasePort?: number;
  /** The worker's /health and /metrics port (default WORKER_METRICS_PORT or 9100); worker-2 the next, … */
  workerPort?: number;
  /** How many workers decide purchases (default 1). */
  workers?: number;
  /** Each worker's port, when they cannot be consecutive (a throwaway lab's free ports). */
  workerPorts?: number[];
  /** Edge rate limit of POST purchases per client address (nginx), and its burst. */
  rateLimitPerSecond?: number;
  rateLimitBurst?: number;
  /** nginx's 1 s micro-cache of availability reads (off by default). */
  edgeCache?: boolean;
  /** Environment for every component, over the caller's own (prefixes, URLs, tunables). */
  env?: Record<string, string>;
  /** Empty the demo event before the run (`migrate --seed --reset`). */
  resetDemo?: boolean;
  /** How long to wait for each component to become healthy. */
  healthTimeoutMs?: number;
}

/** The options of a running lab, as stored in its state file. */
export interface ResolvedLabOptions {
  dir: string;
  nginxPort: number;
  apiPorts: Record<(typeof API_REPLICAS)[number], number>;
  workerPort: number;
  /** Absent in a lab with one worker (and in state files written before there could be more). */
  workers?: number;
  workerPorts?: number[];
  rateLimitPerSecond?: number;
  rateLimitBurst?: number;
  edgeCache?: boolean;
  env: Record<string, string>;
}

/** Per-component keys: the lab sets these itself, so they are not remembered from the caller. */
const PER_COMPONENT_KEYS = new Set(['PORT', 'HOST', 'INSTANCE_NAME', 'WORKER_METRICS_PORT', 'LOG_PRETTY']);

/**
 * The environment the lab remembers for all its components: every Stampede setting the
 * caller had in its environment, then `options.env`. A later `start worker` from another
 * terminal uses the same prefixes and URLs as `up` did, whatever that terminal's env.
 */
export function labEnvironment(
  callerEnv: NodeJS.ProcessEnv,
  extra: Record<string, string> = {},
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of Object.keys(configSchema.shape)) {
    const value = callerEnv[key];
    if (value !== undefined && !PER_COMPONENT_KEYS.has(key)) env[key] = value;
  }
  return { ...env, ...extra };
}

/** Fills in the defaults; the directory becomes absolute so any terminal finds the same lab. */
export function resolveLabOptions(options: LabOptions, callerEnv: NodeJS.ProcessEnv = process.env): ResolvedLabOptions {
  const base = options.apiBasePort ?? 3001;
  const env = labEnvironment(callerEnv, options.env);
  const workers = options.workers ?? 1;
  if (!Number.isInteger(workers) || workers < 1 || workers > MAX_WORKERS)
    throw new Error(`workers must be a whole number from 1 to ${MAX_WORKERS}, not ${workers}`);
  const workerPort =
    options.workerPorts?.[0] ??
    options.workerPort ??
    Number(options.env?.WORKER_METRICS_PORT ?? callerEnv.WORKER_METRICS_PORT ?? 9100);
  return {
    dir: resolveLabDir(options.dir),
    nginxPort: options.nginxPort ?? 8080,
    apiPorts: { 'api-1': base, 'api-2': base + 1, 'api-3': base + 2 },
    workerPort,
    ...(workers > 1
      ? { workers, workerPorts: options.workerPorts ?? Array.from({ length: workers }, (_, i) => workerPort + i) }
      : {}),
    ...(options.rateLimitPerSecond !== undefined ? { rateLimitPerSecond: options.rateLimitPerSecond } : {}),
    ...(options.rateLimitBurst !== undefined ? { rateLimitBurst: options.rateLimitBurst } : {}),
    ...(options.edgeCache ? { edgeCache: true } : {}),
    env,
  };
}

export function resolveLabDir(dir: string | undefined): string {
  return resolve(dir ?? '.lab');
}

/** The port a component listens on in this lab. */
export function componentPort(options: ResolvedLabOptions, name: ComponentName): number {
  if (name === 'nginx') return options.nginxPort;
  if (name === 'worker') return options.workerPort;
  if (isWorker(name)) {
    const n = Number(name.slice('worker-'.length));
    return options.workerPorts?.[n - 1] ?? options.workerPort + n - 1;
  }
  return options.apiPorts[name];
}
