import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chown, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import amqplib from 'amqplib';
import { freeTcpPort } from '../local-lab/free-port.js';
import {
  type PrivateService,
  ServerProcess,
  serviceAccount,
  serviceDir,
  startService,
  within,
} from './service-process.js';

/** The server script itself, not Debian's /usr/sbin wrapper (which su's and detaches from us). */
const SERVER =
  ['/usr/lib/rabbitmq/bin/rabbitmq-server', '/usr/sbin/rabbitmq-server'].find((p) => existsSync(p)) ??
  'rabbitmq-server';

/** Opens and closes a connection; a node still booting may accept one and not answer, hence the bound. */
async function amqpAnswers(url: string): Promise<boolean> {
  const connecting = amqplib.connect(url, { timeout: 1_000 });
  try {
    const conn = await within(connecting, 2_000);
    conn.on('error', () => undefined);
    await within(conn.close(), 2_000);
    return true;
  } catch {
    void connecting
      .then(
        (c) => c.close(),
        () => undefined,
      )
      .catch(() => undefined);
    return false;
  }
}

/**
 * A RabbitMQ node of its own: its own node name, AMQP and distribution ports, data,
 * logs, config and (empty) plugin list in a temp dir, HOME there too so it makes its own
 * Erlang cookie; run as the `rabbitmq` account when we are root. It registers with the
 * machine's epmd like any node. Its data survives `stop`/`kill`, so durable queues and
 * persistent messages come back with `start`. Boot takes about 5 s on 2 cores.
 */
export async function startPrivateRabbitmq(): Promise<PrivateService> {
  const account = await serviceAccount('rabbitmq');
  const dir = await serviceDir('rabbitmq', account);
  const port = await freeTcpPort();
  const distPort = await freeTcpPort();
  const url = `amqp://guest:guest@127.0.0.1:${port}`;
  const node = `stampede-${randomUUID().slice(0, 8)}@localhost`;
  for (const sub of ['mnesia', 'log']) await mkdir(join(dir, sub));
  await writeFile(join(dir, 'rabbitmq.conf'), `listeners.tcp.local = 127.0.0.1:${port}\n`);
  await writeFile(join(dir, 'enabled_plugins'), '[].\n');
  await writeFile(join(dir, 'rabbitmq-env.conf'), '');
  if (account) for (const f of ['mnesia', 'log']) await chown(join(dir, f), account.uid, account.gid);
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    LANG: 'C.UTF-8',
    HOME: dir,
    RABBITMQ_CONF_ENV_FILE: join(dir, 'rabbitmq-env.conf'),
    RABBITMQ_NODENAME: node,
    RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
    RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: join(dir, 'log'),
    RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq.conf'),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
    ERL_EPMD_ADDRESS: '127.0.0.1',
  };
  const server = new ServerProcess({
    name: 'rabbitmq-server',
    command: SERVER,
    args: [],
    env,
    account,
    cwd: dir,
    logFile: join(dir, 'server.log'),
  });
  return startService({
    name: 'rabbitmq',
    port,
    url,
    dir,
    server,
    ready: () => amqpAnswers(url),
    startTimeoutMs: 90_000,
    stopSignal: 'SIGTERM',
    stopTimeoutMs: 30_000,
  });
}
