import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  API_REPLICAS,
  type ComponentName,
  componentPort,
  isWorker,
  labComponents,
  REPO_ROOT,
  type ResolvedLabOptions,
} from './lab-options.js';
import { labPaths } from './lab-state.js';
import { findNginxBinary, type NginxTemplateVars, nginxArgs, renderNginxConfig } from './nginx-config.js';
import type { SpawnSpec } from './processes.js';

/** Where a component listens and how the lab asks whether it is up. */
export interface ComponentTarget {
  port: number;
  healthUrl: string;
  /** Which HTTP statuses mean "up". */
  accept: (status: number) => boolean;
}

/** How the lab runs one component. */
export interface ComponentPlan extends ComponentTarget {
  spawn: SpawnSpec;
}

/** The environment every component gets: the caller's, the lab's remembered one, then its own. */
function environment(options: ResolvedLabOptions, own: Record<string, string>): NodeJS.ProcessEnv {
  return { ...process.env, ...options.env, LOG_PRETTY: 'false', ...own };
}

function nodeEntry(workspace: 'api' | 'worker'): string {
  const entry = join(REPO_ROOT, workspace, 'dist/main.js');
  if (!existsSync(entry)) throw new Error(`${entry} is missing: build first (npm run build)`);
  return entry;
}

/** Names of the log files of a component, for `lab logs`. */
export function componentLogs(dir: string, name: ComponentName): string[] {
  const paths = labPaths(dir);
  if (name !== 'nginx') return [paths.log(name)];
  return [paths.log('nginx'), paths.log('nginx-error'), paths.log('nginx-access')];
}

/** The template's variables for this lab: the three replicas, logs under `<dir>/logs`. */
export function nginxVars(options: ResolvedLabOptions): NginxTemplateVars {
  const paths = labPaths(options.dir);
  return {
    listenPort: options.nginxPort,
    upstreams: API_REPLICAS.map((r) => `127.0.0.1:${options.apiPorts[r]}`),
    accessLog: paths.log('nginx-access'),
    errorLog: paths.log('nginx-error'),
    pidFile: join(paths.nginxDir, 'nginx.pid'),
    tempDir: join(paths.nginxDir, 'temp'),
    ...(options.rateLimitPerSecond !== undefined ? { rateLimitPerSecond: options.rateLimitPerSecond } : {}),
    ...(options.rateLimitBurst !== undefined ? { rateLimitBurst: options.rateLimitBurst } : {}),
    ...(options.edgeCache ? { edgeCache: true } : {}),
  };
}

/** Renders the shared nginx template into `<dir>/nginx/nginx.conf`; returns its path. */
async function writeNginxConfig(options: ResolvedLabOptions): Promise<string> {
  const vars = nginxVars(options);
  await mkdir(vars.tempDir, { recursive: true });
  const file = join(labPaths(options.dir).nginxDir, 'nginx.conf');
  await writeFile(file, renderNginxConfig(vars));
  return file;
}

/**
 * Fails before anything starts when a piece is missing (a workspace not built, no nginx)
 * or a port is taken, instead of half a lab and a cleanup.
 */
export async function preflight(
  options: ResolvedLabOptions,
  portIsFree: (port: number) => Promise<boolean>,
): Promise<void> {
  const ports = labComponents(options).map((name) => ({ name, port: componentPort(options, name) }));
  const taken = [];
  for (const p of ports) if (!(await portIsFree(p.port))) taken.push(`${p.port} (${p.name})`);
  if (taken.length > 0)
    throw new Error(
      `port${taken.length > 1 ? 's' : ''} ${taken.join(', ')} already in use; choose others with --port, --api-base-port, --worker-port`,
    );
  nodeEntry('api');
  nodeEntry('worker');
  findNginxBinary();
}

/** The port and health probe of a component of this lab. */
export function componentTarget(options: ResolvedLabOptions, name: ComponentName): ComponentTarget {
  const port = componentPort(options, name);
  // nginx answers its own health location, so it is up even while every replica is down.
  const path = name === 'nginx' ? '/nginx-health' : '/health/live';
  return { port, healthUrl: `http://127.0.0.1:${port}${path}`, accept: (s) => s === 200 };
}

/**
 * The lanes a worker of several is the first subscriber of (`WORKER_LANE_SHARE`, i/W:
 * worker-1 is 0/W), so the lab's workers share the decision lanes out; one worker, none.
 */
function laneShare(options: ResolvedLabOptions, name: string): Record<string, string> {
  const match = /^worker-(\d+)$/.exec(name);
  const workers = options.workers ?? 1;
  if (!match || workers <= 1) return {};
  return { WORKER_LANE_SHARE: `${Number(match[1]) - 1}/${workers}` };
}

/**
 * The plan of one component. For nginx this renders the config first, so a `start nginx`
 * always runs the config of this lab's ports.
 */
export async function planComponent(options: ResolvedLabOptions, name: ComponentName): Promise<ComponentPlan> {
  const target = componentTarget(options, name);
  if (name === 'nginx') {
    const conf = await writeNginxConfig(options);
    const args = nginxArgs({
      prefixDir: `${labPaths(options.dir).nginxDir}/`,
      configFile: conf,
      errorLog: nginxVars(options).errorLog,
    });
    return { ...target, spawn: { command: findNginxBinary(), args, env: environment(options, {}) } };
  }
  const worker = isWorker(name);
  const own: Record<string, string> = worker
    ? { INSTANCE_NAME: name, WORKER_METRICS_PORT: String(target.port), ...laneShare(options, name) }
    : { INSTANCE_NAME: name, PORT: String(target.port), HOST: '127.0.0.1' };
  const entry = nodeEntry(worker ? 'worker' : 'api');
  return { ...target, spawn: { command: process.execPath, args: [entry], env: environment(options, own) } };
}
