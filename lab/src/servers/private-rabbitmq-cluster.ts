import { randomBytes, randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { freeTcpPort } from '../local-lab/free-port.js';
import { type PrivateRabbitNode, startPrivateRabbitmq } from './private-rabbitmq.js';
import { ServerProcess, serviceDir } from './service-process.js';

/** A RabbitMQ cluster of the run's own; `close` kills every node and its epmd and removes their files. */
export interface PrivateRabbitCluster {
  nodes: PrivateRabbitNode[];
  /** Every node's AMQP URL, in node order: what AMQP_URLS holds. */
  urls: string[];
  /** The cluster's members that are running now, as the first node that answers reports them. */
  runningNodes(): Promise<string[]>;
  /** A quorum queue's members, its leader and the members online, as the cluster reports them. */
  quorumQueue(queue: string): Promise<{ members: string[]; leader: string; online: string[] }>;
  close(): Promise<void>;
}

/** True once something accepts a TCP connection on the port. */
function tcpAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

/** `rabbitmqctl` on the first node that answers (a test may have killed any of them). */
async function anyCtl(nodes: PrivateRabbitNode[], ...args: string[]): Promise<string> {
  let last: unknown;
  for (const n of nodes) {
    try {
      return await n.ctl(...args);
    } catch (err) {
      last = err;
    }
  }
  throw last;
}

/**
 * `size` RabbitMQ nodes on one machine (three by default), each with its own node name,
 * AMQP and distribution ports and data directory, sharing one Erlang cookie, joined into
 * one cluster with `rabbitmqctl join_cluster`. They register with an epmd of the
 * cluster's own on a free port (ERL_EPMD_PORT), so the machine's epmd, which the shared
 * broker uses, is never touched, and `close` leaves no epmd or beam behind. The nodes
 * boot at once; on 2 busy cores that takes 20-60 s, the joins another 10-20 s.
 */
export async function startPrivateRabbitCluster(size = 3): Promise<PrivateRabbitCluster> {
  const epmdDir = await serviceDir('epmd', undefined);
  const epmdPort = await freeTcpPort();
  const epmd = new ServerProcess({
    name: 'epmd',
    command: 'epmd',
    args: ['-port', String(epmdPort), '-address', '127.0.0.1'],
    logFile: join(epmdDir, 'epmd.log'),
  });
  const nodes: PrivateRabbitNode[] = [];
  const close = async () => {
    await Promise.all(nodes.map((n) => n.close()));
    await epmd.stop('SIGKILL');
    await rm(epmdDir, { recursive: true, force: true });
  };
  try {
    await epmd.start(() => tcpAnswers(epmdPort), 30_000);
    const cookie = randomBytes(15).toString('hex').toUpperCase();
    const tag = randomUUID().slice(0, 8);
    const started = await Promise.allSettled(
      Array.from({ length: size }, (_, i) =>
        startPrivateRabbitmq({ node: `stampede-${tag}-${i + 1}@localhost`, cookie, epmdPort }),
      ),
    );
    for (const s of started) if (s.status === 'fulfilled') nodes.push(s.value);
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
    const [first, ...others] = nodes;
    for (const n of others) {
      await n.ctl('stop_app');
      await n.ctl('join_cluster', first!.node);
      await n.ctl('start_app');
      await n.ctl('await_startup');
    }
    const cluster: PrivateRabbitCluster = {
      nodes,
      urls: nodes.map((n) => n.url),
      async runningNodes() {
        const status = JSON.parse(await anyCtl(nodes, 'cluster_status', '--formatter', 'json')) as {
          running_nodes: string[];
        };
        return status.running_nodes.sort();
      },
      async quorumQueue(queue) {
        const rows = JSON.parse(
          await anyCtl(nodes, 'list_queues', 'name', 'members', 'leader', 'online', '--formatter', 'json'),
        ) as { name: string; members: string[]; leader: string; online: string[] }[];
        const row = rows.find((r) => r.name === queue);
        if (!row) throw new Error(`no queue ${queue} on the cluster`);
        return { members: [...row.members].sort(), leader: row.leader, online: [...row.online].sort() };
      },
      close,
    };
    const running = await cluster.runningNodes();
    if (running.length !== size) throw new Error(`cluster formed with ${running.join(', ')}, not ${size} nodes`);
    return cluster;
  } catch (err) {
    await close();
    throw err;
  }
}
