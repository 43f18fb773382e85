import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type Closeable, closeOnce } from '@stampede/core/lifecycle';
import { redisAnswers } from '../src/servers/private-redis.js';
import { waitFor } from './fixtures.js';
import { freePort } from './processes.js';

const run = promisify(execFile);

/** A Redis Cluster of the test's own; `close` kills every node and removes their files. */
export interface TestRedisCluster extends Closeable {
  /** `127.0.0.1:port` of every node, masters and replicas: REDIS_CLUSTER_NODES. */
  nodes: string[];
  /** The ports of the nodes that are masters now. */
  masters(): Promise<number[]>;
  /** SIGKILL one node, as in a crash. */
  kill(port: number): Promise<void>;
  /** Resolves once every slot is served (cluster_state:ok on every live node) and every live replica is in sync. */
  healthy(): Promise<void>;
}

async function redisCli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run('redis-cli', ['-p', String(port), ...args]);
  return stdout;
}

/**
 * `masters` × (1 + `replicasEach`) redis-server nodes with --cluster-enabled on free ports
 * of 127.0.0.1, each with its own dir, joined by `redis-cli --cluster create`. The bus port is
 * chosen free too (--cluster-port), as port + 10000 may be taken or past 65535.
 * Short node timeout, so a killed master's replica takes over within seconds.
 */
export async function startRedisCluster(
  options: { masters?: number; replicasEach?: number } = {},
): Promise<TestRedisCluster> {
  const masters = options.masters ?? 3;
  const replicasEach = options.replicasEach ?? 1;
  const count = masters * (1 + replicasEach);
  const dir = await mkdtemp(join(tmpdir(), 'stampede-redis-cluster-'));
  const children = new Map<number, ChildProcess>();
  const ports: number[] = [];
  const close = closeOnce(async () => {
    await Promise.all([...children.keys()].map((p) => kill(p)));
    await rm(dir, { recursive: true, force: true });
  });
  async function kill(port: number): Promise<void> {
    const c = children.get(port);
    children.delete(port);
    if (!c || c.exitCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGKILL');
    await exited;
  }
  process.once('exit', () => {
    for (const c of children.values()) c.kill('SIGKILL');
  });
  try {
    const taken = new Set<number>();
    const pick = async () => {
      for (;;) {
        const p = await freePort();
        if (!taken.has(p)) return taken.add(p) && p;
      }
    };
    for (let i = 0; i < count; i += 1) {
      const port = await pick();
      const busPort = await pick();
      ports.push(port);
      const args = ['--port', String(port), '--cluster-port', String(busPort), '--bind', '127.0.0.1'];
      args.push('--cluster-enabled', 'yes', '--cluster-config-file', join(dir, `nodes-${port}.conf`));
      args.push('--cluster-node-timeout', '1000', '--save', '', '--appendonly', 'no', '--dir', dir);
      // Replicas sync at once (no 5 s wait for more replicas): a replica not yet synced cannot take over.
      args.push('--repl-diskless-sync-delay', '0', '--logfile', join(dir, `redis-${port}.log`));
      children.set(port, spawn('redis-server', args, { stdio: 'ignore' }));
    }
    for (const p of ports) await waitFor(() => redisAnswers(`redis://127.0.0.1:${p}`), { what: `redis node ${p}` });
    const nodes = ports.map((p) => `127.0.0.1:${p}`);
    await run('redis-cli', [
      '--cluster',
      'create',
      ...nodes,
      '--cluster-replicas',
      String(replicasEach),
      '--cluster-yes',
    ]);
    const live = () => ports.filter((p) => children.has(p));
    const handle: TestRedisCluster = {
      nodes,
      async masters() {
        const out = await redisCli(live()[0]!, 'cluster', 'nodes');
        return out
          .split('\n')
          .filter((l) => /\bmaster\b/.test(l) && !/\bfail\b/.test(l))
          .map((l) => Number(l.split(' ')[1]!.split(':')[1]!.split('@')[0]));
      },
      kill,
      async healthy() {
        await waitFor(
          async () => {
            // A killed master counts until the others mark it failed: wait for its replica to replace it.
            const liveMasters = (await handle.masters()).filter((p) => children.has(p));
            if (liveMasters.length !== masters) return false;
            for (const p of live()) {
              if (!(await redisCli(p, 'cluster', 'info')).includes('cluster_state:ok')) return false;
              const replication = await redisCli(p, 'info', 'replication');
              if (replication.includes('role:slave') && !replication.includes('master_link_status:up')) return false;
            }
            return true;
          },
          { what: 'redis cluster state ok', timeoutMs: 30_000, intervalMs: 200 },
        );
      },
      close,
    };
    await handle.healthy();
    return handle;
  } catch (err) {
    await close();
    throw err;
  }
}
