import { type ChildProcess, spawn } from 'node:child_process';
import { chown, mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isAlive, signalGroup, waitForExit } from '../local-lab/processes.js';

/** A system account a server must run as (postgres refuses root; rabbitmq's files belong to rabbitmq). */
export interface Account {
  uid: number;
  gid: number;
}

/**
 * The account to run a server as: the named system user when we are root, else
 * ourselves (a developer's own account can run initdb and rabbitmq-server in its own
 * directories). Read from /etc/passwd, which Node has no call for.
 */
export async function serviceAccount(user: string): Promise<Account | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const line = (await readFile('/etc/passwd', 'utf8')).split('\n').find((l) => l.startsWith(`${user}:`));
  if (!line) throw new Error(`running as root, but there is no "${user}" account to run its server as`);
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

/** A fresh temp directory, owned by the account that will write in it. */
export async function serviceDir(tag: string, account: Account | undefined): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `stampede-${tag}-`));
  if (account) await chown(dir, account.uid, account.gid);
  return dir;
}

/** The promise, or a rejection after `ms` (the promise itself is left to settle on its own). */
export function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer in ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export interface ServerSpec {
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  account?: Account;
  cwd?: string;
  /** stdout and stderr are appended here. */
  logFile: string;
}

/**
 * One server process in a process group of its own (so a signal reaches its children:
 * rabbitmq's shell and beam, postgres' backends), logged to a file, and SIGKILLed if this
 * process exits first so no server outlives the run that made it.
 */
export class ServerProcess {
  private child: ChildProcess | undefined;
  private readonly onExit = () => {
    if (this.child?.pid) signalGroup(this.child.pid, 'SIGKILL');
  };

  constructor(private readonly spec: ServerSpec) {}

  get pid(): number | undefined {
    return this.child?.exitCode === null && this.child.signalCode === null ? this.child.pid : undefined;
  }

  /** Spawns it and waits until `ready` says yes; fails early, with its log's tail, when it exits instead. */
  async start(ready: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
    if (this.pid) return;
    const log = await open(this.spec.logFile, 'a');
    try {
      this.child = spawn(this.spec.command, this.spec.args, {
        cwd: this.spec.cwd,
        env: this.spec.env ?? process.env,
        detached: true,
        stdio: ['ignore', log.fd, log.fd],
        ...(this.spec.account ? { uid: this.spec.account.uid, gid: this.spec.account.gid } : {}),
      });
    } finally {
      await log.close();
    }
    this.child.on('error', () => undefined);
    process.once('exit', this.onExit);
    const deadline = Date.now() + timeoutMs;
    while (!(await ready())) {
      if (!this.pid)
        throw new Error(`${this.spec.name} exited while starting; see ${this.spec.logFile}:\n${await this.tail()}`);
      if (Date.now() > deadline)
        throw new Error(`${this.spec.name} not ready after ${timeoutMs} ms; see ${this.spec.logFile}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Sends `signal` to the group and waits for the exit; SIGKILL when it is still there after `timeoutMs`. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 15_000): Promise<void> {
    const pid = this.pid;
    if (!pid) return;
    signalGroup(pid, signal);
    if (!(await waitForExit(pid, timeoutMs))) {
      signalGroup(pid, 'SIGKILL');
      await waitForExit(pid, 5_000);
    }
    // The group's other members (beam under rabbitmq's shell) may outlive the leader by a moment.
    await waitForGroup(pid, 10_000);
    process.off('exit', this.onExit);
    this.child = undefined;
  }

  private async tail(): Promise<string> {
    const text = await readFile(this.spec.logFile, 'utf8').catch(() => '');
    return text.trimEnd().split('\n').slice(-8).join('\n');
  }
}

/** Waits until no process of the group is left (signal 0 to the group fails). */
async function waitForGroup(pgid: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(-pgid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
}

/** A server of the run's own, which a scenario or a test may crash and start again on the same port. */
export interface PrivateService {
  name: string;
  port: number;
  /** What the services put in their *_URL variable. */
  url: string;
  dir: string;
  /** Starts it (again) and waits until it answers. */
  start(): Promise<void>;
  /** A clean stop (the server's own shutdown). */
  stop(): Promise<void>;
  /** SIGKILL to the whole process group, as in a crash. */
  kill(): Promise<void>;
  /** Stops it and removes its files. */
  close(): Promise<void>;
}

export interface ServiceSpec {
  name: string;
  port: number;
  url: string;
  dir: string;
  server: ServerProcess;
  ready: () => Promise<boolean>;
  startTimeoutMs: number;
  /** The signal of a clean stop (postgres: SIGINT, a fast shutdown). */
  stopSignal: NodeJS.Signals;
  stopTimeoutMs?: number;
}

/** Wraps a server process as a PrivateService and starts it; a failed start leaves no process or files. */
export async function startService(spec: ServiceSpec): Promise<PrivateService> {
  const { server } = spec;
  const service: PrivateService = {
    name: spec.name,
    port: spec.port,
    url: spec.url,
    dir: spec.dir,
    start: () => server.start(spec.ready, spec.startTimeoutMs),
    stop: () => server.stop(spec.stopSignal, spec.stopTimeoutMs),
    kill: () => server.stop('SIGKILL'),
    close: async () => {
      await server.stop('SIGKILL');
      await rm(spec.dir, { recursive: true, force: true });
    },
  };
  await service.start().catch(async (err: unknown) => {
    await service.close();
    throw err;
  });
  return service;
}
