import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
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

const run = promisify(execFile);

/** The scripts themselves, not Debian's /usr/sbin wrappers (which su and detach from us). */
const rabbitBin = (name: string) =>
  [`/usr/lib/rabbitmq/bin/${name}`, `/usr/sbin/${name}`].find((p) => existsSync(p)) ?? name;
const SERVER = rabbitBin('rabbitmq-server');
export const RABBITMQCTL = rabbitBin('rabbitmqctl');

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

/** A node of a private cluster: the cookie its members share and the epmd they register with. */
export interface RabbitNodeOptions {
  /** The node name (`name@localhost`); default a unique one. */
  node?: string;
  /** The Erlang cookie, written to the node's HOME; default: the node makes its own. */
  cookie?: string;
  /** An epmd of the caller's (ERL_EPMD_PORT); default the machine's, on 4369. */
  epmdPort?: number;
}

/** A private node, with what `rabbitmqctl` needs to reach it. */
export interface PrivateRabbitNode extends PrivateService {
  node: string;
  /** Runs `rabbitmqctl -n <node> …args` as the node's account, with its cookie and epmd; resolves to stdout. */
  ctl(...args: string[]): Promise<string>;
}

/**
 * A RabbitMQ node of its own: its own node name, AMQP and distribution ports, data,
 * logs, config and (empty) plugin list in a temp dir, HOME there too so it makes its own
 * Erlang cookie (or holds the one given); run as the `rabbitmq` account when we are root.
 * It registers with the machine's epmd like any node, or with the epmd given. Its data
 * survives `stop`/`kill`, so durable queues and persistent messages come back with
 * `start`. Boot takes about 5 s on 2 cores.
 */
export async function startPrivateRabbitmq(options: RabbitNodeOptions = {}): Promise<PrivateRabbitNode> {
  const account = await serviceAccount('rabbitmq');
  const dir = await serviceDir('rabbitmq', account);
  const port = await freeTcpPort();
  const distPort = await freeTcpPort();
  const url = `amqp://guest:guest@127.0.0.1:${port}`;
  const node = options.node ?? `stampede-${randomUUID().slice(0, 8)}@localhost`;
  for (const sub of ['mnesia', 'log']) await mkdir(join(dir, sub));
  await writeFile(join(dir, 'rabbitmq.conf'), `listeners.tcp.local = 127.0.0.1:${port}\n`);
  await writeFile(join(dir, 'enabled_plugins'), '[].\n');
  await writeFile(join(dir, 'rabbitmq-env.conf'), '');
  if (options.cookie) {
    // Erlang refuses a cookie file others can read.
    await writeFile(join(dir, '.erlang.cookie'), options.cookie);
    await chmod(join(dir, '.erlang.cookie'), 0o400);
  }
  const owned = ['mnesia', 'log', ...(options.cookie ? ['.erlang.cookie'] : [])];
  if (account) for (const f of owned) await chown(join(dir, f), account.uid, account.gid);
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
    ...(options.epmdPort ? { ERL_EPMD_PORT: String(options.epmdPort) } : {}),
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
  const ctl = async (...args: string[]) => {
    const { stdout } = await run(RABBITMQCTL, ['-q', '-n', node, ...args], {
      env,
      cwd: dir,
      timeout: 120_000,
      ...(account ? { uid: account.uid, gid: account.gid } : {}),
    });
    return stdout;
  };
  const service = await startService({
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
  return { ...service, node, ctl };
}
