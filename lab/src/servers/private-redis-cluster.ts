import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freeTcpPort } from '../local-lab/free-port.js';
import { redisAnswers } from './private-redis.js';
import { ServerProcess, serviceDir } from './service-process.js';

const run = promisify(execFile);

/** Every hash slot of a Redis Cluster. */
export const CLUSTER_SLOTS = 16_384;

/** A Redis Cluster of the run's own; `close` kills every node and removes their files. */
export interface PrivateRedisCluster {
  /** `127.0.0.1:port` of every node, masters and replicas: REDIS_CLUSTER_NODES. */
  nodes: string[];
  /** The ports of the nodes that are masters now (not marked failed). */
  masters(): Promise<number[]>;
  /** The port of the live master serving the hash slot of `key`; undefined while none does. */
  masterOf(key: string): Promise<number | undefined>;
  /** Slots served by masters that are running and not marked failed: 16384 once a failover is over. */
  slotsServed(): Promise<number>;
  /** True when the node is running and says cluster_state:ok. */
  stateOk(port: number): Promise<boolean>;
  /** True when the node is running, every other node sees it connected, not failed, in the role it sees itself in, and, as a replica, it is in sync. */
  joined(port: number): Promise<boolean>;
  /** The running nodes' ports. */
  live(): number[];
  /** SIGKILL one node, as in a crash. */
  kill(port: number): Promise<void>;
  /** Starts a killed node again on its port with its nodes.conf: it rejoins the cluster by itself. */
  start(port: number): Promise<void>;
  /** Resolves once every slot is served (cluster_state:ok on every live node) and every live replica is in sync. */
  healthy(): Promise<void>;
  close(): Promise<void>;
}

async function redisCli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run('redis-cli', ['-p', String(port), ...args]);
  return stdout;
}

/** One line of CLUSTER NODES: `id ip:port@bus flags master ping pong epoch link slot…`. */
interface NodeLine {
  port: number;
  flags: string[];
  connected: boolean;
  slots: [number, number][];
}

/** Marked failed, or suspected (`fail?`) by the node asked. */
const failed = (n: NodeLine) => n.flags.some((f) => f.startsWith('fail'));

function parseNodes(out: string): NodeLine[] {
  return out
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => {
      const f = l.trim().split(' ');
      const slots = f
        .slice(8)
        .filter((s) => !s.startsWith('['))
        .map((s) => {
          const [a, b] = s.split('-').map(Number);
          return [a!, b ?? a!] as [number, number];
        });
      return {
        port: Number(f[1]!.split('@')[0]!.split(':')[1]),
        flags: f[2]!.split(','),
        connected: f[7] === 'connected',
        slots,
      };
    });
}

/** Polls `done` every 200 ms until it is true; throws after `timeoutMs`. */
async function waitUntil(what: string, done: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await done().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * `masters` × (1 + `replicasEach`) redis-server nodes with --cluster-enabled on free ports
 * of 127.0.0.1, each in a process group of its own, logged and configured in one temp dir,
 * joined by `redis-cli --cluster create`. The bus port is chosen free too (--cluster-port),
 * as port + 10000 may be taken or past 65535. Short node timeout, so a killed master's
 * replica takes over within seconds. No persistence: a node started again resyncs from its master.
 */
export async function startPrivateRedisCluster(
  options: { masters?: number; replicasEach?: number } = {},
): Promise<PrivateRedisCluster> {
  const masters = options.masters ?? 3;
  const replicasEach = options.replicasEach ?? 1;
  const count = masters * (1 + replicasEach);
  const dir = await serviceDir('redis-cluster', undefined);
  const servers = new Map<number, ServerProcess>();
  const ready = (port: number) => () => redisAnswers(`redis://127.0.0.1:${port}`);
  const close = async () => {
    await Promise.all([...servers.values()].map((s) => s.stop('SIGKILL')));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const taken = new Set<number>();
    const pick = async () => {
      for (;;) {
        const p = await freeTcpPort();
        if (!taken.has(p)) return taken.add(p) && p;
      }
    };
    for (let i = 0; i < count; i += 1) {
      const port = await pick();
      const args = ['--port', String(port), '--cluster-port', String(await pick()), '--bind', '127.0.0.1'];
      args.push('--cluster-enabled', 'yes', '--cluster-config-file', join(dir, `nodes-${port}.conf`));
      args.push('--cluster-node-timeout', '1000', '--save', '', '--appendonly', 'no', '--dir', dir);
      // Replicas sync at once (no 5 s wait for more replicas): a replica not yet synced cannot take over.
      args.push('--repl-diskless-sync-delay', '0');
      servers.set(
        port,
        new ServerProcess({
          name: `redis-server ${port}`,
          command: 'redis-server',
          args,
          logFile: join(dir, `redis-${port}.log`),
        }),
      );
    }
    await Promise.all([...servers].map(([port, s]) => s.start(ready(port), 15_000)));
    const ports = [...servers.keys()];
    const nodes = ports.map((p) => `127.0.0.1:${p}`);
    await run('redis-cli', [
      '--cluster',
      'create',
      ...nodes,
      '--cluster-replicas',
      String(replicasEach),
      '--cluster-yes',
    ]);
    const live = () => ports.filter((p) => servers.get(p)!.pid !== undefined);
    /** CLUSTER NODES as the first running node that answers sees it. */
    const view = async (): Promise<NodeLine[]> => {
      let last: unknown = new Error('no node of the cluster is running');
      for (const p of live()) {
        try {
          return parseNodes(await redisCli(p, 'cluster', 'nodes'));
        } catch (err) {
          last = err;
        }
      }
      throw last;
    };
    const liveMasters = async () => {
      const running = new Set(live());
      return (await view()).filter((n) => n.flags.includes('master') && !failed(n) && running.has(n.port));
    };
    const handle: PrivateRedisCluster = {
      nodes,
      live,
      async masters() {
        return (await view()).filter((n) => n.flags.includes('master') && !failed(n)).map((n) => n.port);
      },
      async masterOf(key) {
        const slot = Number((await redisCli(live()[0]!, 'cluster', 'keyslot', key)).trim());
        return (await liveMasters()).find((m) => m.slots.some(([a, b]) => slot >= a && slot <= b))?.port;
      },
      async slotsServed() {
        let n = 0;
        for (const m of await liveMasters()) for (const [a, b] of m.slots) n += b - a + 1;
        return n;
      },
      async stateOk(port) {
        if (!live().includes(port)) return false;
        return (await redisCli(port, 'cluster', 'info')).includes('cluster_state:ok');
      },
      async joined(port) {
        if (!live().includes(port) || !(await handle.stateOk(port))) return false;
        // Started again, a node first believes its old nodes.conf (a master of its old slots):
        // it has rejoined once every other node sees it as it sees itself, role and slots alike.
        const own = parseNodes(await redisCli(port, 'cluster', 'nodes')).find((n) => n.flags.includes('myself'));
        if (!own) return false;
        const role = (n: NodeLine) => `${n.flags.includes('master') ? 'master' : 'replica'} ${JSON.stringify(n.slots)}`;
        for (const p of live().filter((q) => q !== port)) {
          const seen = parseNodes(await redisCli(p, 'cluster', 'nodes')).find((n) => n.port === port);
          if (!seen?.connected || failed(seen) || role(seen) !== role(own)) return false;
        }
        const replication = await redisCli(port, 'info', 'replication');
        return !replication.includes('role:slave') || replication.includes('master_link_status:up');
      },
      kill: (port) => servers.get(port)!.stop('SIGKILL'),
      start: (port) => servers.get(port)!.start(ready(port), 15_000),
      async healthy() {
        await waitUntil(
          'redis cluster state ok',
          async () => {
            // A killed master counts until the others mark it failed: wait for its replica to replace it.
            if ((await liveMasters()).length !== masters) return false;
            for (const p of live()) {
              if (!(await handle.stateOk(p))) return false;
              const replication = await redisCli(p, 'info', 'replication');
              if (replication.includes('role:slave') && !replication.includes('master_link_status:up')) return false;
            }
            return true;
          },
          30_000,
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
