import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import postgres from 'postgres';
import { freeTcpPort } from '../local-lab/free-port.js';
import { type PrivateService, ServerProcess, serviceAccount, serviceDir, startService } from './service-process.js';

const run = promisify(execFile);

/** The newest installed server's bin directory (Debian: /usr/lib/postgresql/<major>/bin), or PG_BIN. */
export function postgresBinDir(): string {
  const fromEnv = process.env.PG_BIN;
  if (fromEnv && existsSync(join(fromEnv, 'initdb'))) return fromEnv;
  const root = '/usr/lib/postgresql';
  const majors = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, 'bin/initdb'))) : [];
  const newest = majors.sort((a, b) => Number(b) - Number(a))[0];
  if (!newest) throw new Error('no PostgreSQL server binaries found (looked in /usr/lib/postgresql/*/bin; set PG_BIN)');
  return join(root, newest, 'bin');
}

async function postgresAnswers(url: string): Promise<boolean> {
  const sql = postgres(url, { max: 1, connect_timeout: 1, onnotice: () => undefined });
  try {
    await sql`select 1`;
    return true;
  } catch {
    return false;
  } finally {
    await sql.end({ timeout: 1 });
  }
}

/**
 * A PostgreSQL cluster of its own: initdb in a temp dir (trust auth, no fsync: it is
 * thrown away), the server on a free port of 127.0.0.1, run as the `postgres` account
 * when we are root. `stop` is a fast shutdown (SIGINT: sessions cut, as a restart does),
 * `kill` a crash; both keep the data, so `start` brings the same database back.
 * Its URL names the `postgres` database; the lab migrates it like any other.
 */
export async function startPrivatePostgres(): Promise<PrivateService> {
  const bin = postgresBinDir();
  const account = await serviceAccount('postgres');
  const dir = await serviceDir('postgres', account);
  const data = join(dir, 'data');
  const port = await freeTcpPort();
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const ids = account ? { uid: account.uid, gid: account.gid } : {};
  await run(join(bin, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-sync'], {
    ...ids,
    cwd: dir,
  });
  const server = new ServerProcess({
    name: 'postgres',
    command: join(bin, 'postgres'),
    account,
    cwd: dir,
    logFile: join(dir, 'postgres.log'),
    args: [
      '-D',
      data,
      '-p',
      String(port),
      '-k',
      dir,
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'fsync=off',
      '-c',
      'max_connections=200',
    ],
  });
  return startService({
    name: 'postgres',
    port,
    url,
    dir,
    server,
    ready: () => postgresAnswers(url),
    startTimeoutMs: 30_000,
    stopSignal: 'SIGINT',
  });
}
