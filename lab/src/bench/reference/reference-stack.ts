import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { brokerNames, deleteTopology } from '@stampede/core/broker';
import { type Config, loadConfig } from '@stampede/core/config';
import type { Sql } from '@stampede/core/db';
import { deleteKeysByPrefix, redisKeys } from '@stampede/core/redis';
import amqplib from 'amqplib';
import { Redis } from 'ioredis';
import { freePortRun, freeTcpPort } from '../../local-lab/free-port.js';
import { probeHttp } from '../../local-lab/health.js';
import { REPO_ROOT } from '../../local-lab/lab-options.js';
import { findNginxBinary, nginxArgs, renderNginxConfig } from '../../local-lab/nginx-config.js';
import { ServerProcess } from '../../servers/service-process.js';
import { HOT_TIER_CAPACITY } from '../bench-events.js';
import type { ReconcileFigures } from '../bench-results.js';
import { type PurchaseRows, purchaseRows } from '../drain.js';

export const REFERENCE_REPLICAS = ['ref-1', 'ref-2', 'ref-3'] as const;

/** A tier of the reference's own tables, under an event id of its own. */
export interface ReferenceTier {
  eventId: string;
  tierId: string;
}

/** The benchmark's minimal reference, running: three replicas behind nginx, and its drain on demand. */
export interface ReferenceStack {
  /** http://127.0.0.1:<its nginx port> */
  base: string;
  config: Config;
  /** The Postgres schema of its tables (`tiers` and `purchases`, shaped as Stampede's). */
  schema: string;
  /** A hot tier (never sells out) for admission, and a sold-out one. */
  admission: ReferenceTier;
  soldOut: ReferenceTier;
  startDrain(): Promise<void>;
  stopDrain(): Promise<void>;
  /** Its purchases table, read for the drain's timing. */
  rows: PurchaseRows;
  /** Its accepted purchase ids against its table: none lost, no oversell. */
  check(phase: string, tier: ReferenceTier, acceptedIds: string[]): Promise<ReconcileFigures>;
  /** Restarts one replica under the CPU profiler (see BenchLab.profileReplica). */
  profileReplica(outDir: string): Promise<{ start(): void; finish(): Promise<string | undefined> }>;
  /** Pid of each running process, by role: ref-1..3, nginx, drain. */
  pids(): Record<string, number>;
  close(): Promise<void>;
}

export interface ReferenceOptions {
  sql: Sql;
  /** The lab's config: the same servers (URLs) and settings; names are the reference's own. */
  labConfig: Config;
  tag: string;
  rateLimit: number;
  /** The cached read: the event id, and the JSON Stampede answers for it (stored as the reference's cached value). */
  reads: { eventId: string; body: string };
}

const entry = (name: string) => join(REPO_ROOT, 'lab/dist/bench/reference', `${name}.js`);

/**
 * Starts the reference on the same Postgres, Redis and RabbitMQ as the lab, under names of
 * its own (key prefix, queues, a schema), behind an nginx rendered from the same template
 * with the same settings. Everything it made is removed by `close`.
 */
export async function startReferenceStack(o: ReferenceOptions): Promise<ReferenceStack> {
  for (const name of ['reference-main', 'reference-drain'])
    if (!existsSync(entry(name))) throw new Error(`${entry(name)} is missing: build first (npm run build)`);
  const schema = `bench_ref_${o.tag}`;
  const env: Record<string, string> = {
    REDIS_KEY_PREFIX: `benchref:${o.tag}:`,
    AMQP_PREFIX: `benchref.${o.tag}`,
    REFERENCE_SCHEMA: schema,
  };
  const config = loadConfig(
    { ...process.env, ...env },
    { REDIS_URL: o.labConfig.REDIS_URL, AMQP_URL: o.labConfig.AMQP_URL, DATABASE_URL: o.labConfig.DATABASE_URL },
  );
  const shared = {
    ...process.env,
    ...env,
    REDIS_URL: config.REDIS_URL,
    AMQP_URL: config.AMQP_URL,
    DATABASE_URL: config.DATABASE_URL,
  };
  const dir = await mkdtemp(join(tmpdir(), 'stampede-bench-ref-'));
  await chmod(dir, 0o755);
  const admission = { eventId: randomUUID(), tierId: randomUUID() };
  const soldOut = { eventId: randomUUID(), tierId: randomUUID() };
  const { sql } = o;

  const ports = await freePortRun(REFERENCE_REPLICAS.length);
  const replicaSpec = (i: number, extra: Record<string, string> = {}) =>
    new ServerProcess({
      name: REFERENCE_REPLICAS[i]!,
      command: process.execPath,
      args: [entry('reference-main')],
      env: { ...shared, INSTANCE_NAME: REFERENCE_REPLICAS[i]!, PORT: String(ports + i), HOST: '127.0.0.1', ...extra },
      logFile: join(dir, `${REFERENCE_REPLICAS[i]}.log`),
    });
  const replicaReady = (i: number) => async () => (await probeHttp(`http://127.0.0.1:${ports + i}/health/live`)).ok;
  const replicas = REFERENCE_REPLICAS.map((_, i) => replicaSpec(i));
  const drain = new ServerProcess({
    name: 'reference drain',
    command: process.execPath,
    args: [entry('reference-drain')],
    env: { ...shared, INSTANCE_NAME: 'ref-drain' },
    logFile: join(dir, 'drain.log'),
  });

  const nginxPort = await freeTcpPort();
  const nginxDir = join(dir, 'nginx');
  await mkdir(join(nginxDir, 'temp'), { recursive: true });
  const errorLog = join(dir, 'nginx-error.log');
  const configFile = join(nginxDir, 'nginx.conf');
  await writeFile(
    configFile,
    renderNginxConfig({
      listenPort: nginxPort,
      upstreams: REFERENCE_REPLICAS.map((_, i) => `127.0.0.1:${ports + i}`),
      accessLog: join(dir, 'nginx-access.log'),
      errorLog,
      pidFile: join(nginxDir, 'nginx.pid'),
      tempDir: join(nginxDir, 'temp'),
      rateLimitPerSecond: o.rateLimit,
      rateLimitBurst: o.rateLimit,
    }),
  );
  const nginx = new ServerProcess({
    name: 'reference nginx',
    command: findNginxBinary(),
    args: nginxArgs({ prefixDir: `${nginxDir}/`, configFile, errorLog }),
    logFile: join(dir, 'nginx.log'),
  });

  const redis = new Redis(config.REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  redis.on('error', () => {});
  const keys = redisKeys(config.REDIS_KEY_PREFIX);
  const names = brokerNames(config.AMQP_PREFIX);

  const close = async () => {
    await nginx.stop();
    await Promise.all(replicas.map((r) => r.stop()));
    await drain.stop();
    redis.disconnect();
    await sql`drop schema if exists ${sql(schema)} cascade`.catch(() => undefined);
    await deleteKeysByPrefix(config.REDIS_URL, config.REDIS_KEY_PREFIX).catch(() => undefined);
    const conn = await amqplib.connect(config.AMQP_URL).catch(() => undefined);
    if (conn) {
      const ch = await conn.createChannel();
      await deleteTopology(ch, names).catch(() => undefined);
      await conn.close().catch(() => undefined);
    }
    await rm(dir, { recursive: true, force: true });
  };

  try {
    // Tables of the same shape as Stampede's (columns, defaults, checks, indexes, the
    // composite foreign key from a purchase to its tier), in a schema of the run's own.
    await sql.begin(async (tx) => {
      await tx`create schema ${tx(schema)}`;
      await tx`create table ${tx(`${schema}.tiers`)} (like tiers including all)`;
      await tx`create table ${tx(`${schema}.purchases`)} (like purchases including all)`;
      await tx`alter table ${tx(`${schema}.purchases`)} add foreign key (tier_id, event_id)
        references ${tx(`${schema}.tiers`)} (id, event_id) on delete cascade`;
      for (const [t, capacity, name] of [
        [admission, HOT_TIER_CAPACITY, 'Admission'],
        [soldOut, 2, 'Sold out'],
      ] as const)
        await tx`insert into ${tx(`${schema}.tiers`)} (id, event_id, name, price_cents, capacity, sold)
          values (${t.tierId}, ${t.eventId}, ${name}, 5000, ${capacity}, ${t === soldOut ? capacity : 0})`;
    });
    await redis.connect();
    await redis
      .multi()
      .set(keys.stock(admission.eventId, admission.tierId), HOT_TIER_CAPACITY)
      .set(keys.stock(soldOut.eventId, soldOut.tierId), 0)
      .set(keys.availability(o.reads.eventId), o.reads.body)
      .exec();
    await Promise.all(replicas.map((r, i) => r.start(replicaReady(i))));
    await nginx.start(async () => (await probeHttp(`http://127.0.0.1:${nginxPort}/nginx-health`)).ok);
  } catch (err) {
    await close();
    throw err;
  }

  const drainReady = async () => {
    const conn = await amqplib.connect(config.AMQP_URL);
    try {
      const ch = await conn.createChannel();
      return (await ch.checkQueue(names.queue)).consumerCount > 0;
    } finally {
      await conn.close().catch(() => undefined);
    }
  };
  const table = `${schema}.purchases`;
  return {
    base: `http://127.0.0.1:${nginxPort}`,
    config,
    schema,
    admission,
    soldOut,
    startDrain: () => drain.start(drainReady),
    stopDrain: () => drain.stop(),
    rows: purchaseRows(sql, table),
    async check(phase, tier, acceptedIds) {
      const [row] = await sql<{ found: number; rows: number; sold: number; capacity: number }[]>`
        select (select count(*)::int from ${sql(table)} where id = any(${acceptedIds}::uuid[])) as found,
               (select count(*)::int from ${sql(table)} where tier_id = ${tier.tierId}) as rows,
               sold, capacity from ${sql(`${schema}.tiers`)} where id = ${tier.tierId}`;
      const lost = acceptedIds.length - row!.found;
      const oversold = Math.max(0, row!.sold - row!.capacity);
      const failures = [...(lost ? [`lost=${lost}`] : []), ...(oversold ? [`oversold=${oversold}`] : [])];
      return {
        phase,
        eventId: tier.eventId,
        accepted: acceptedIds.length,
        confirmed: row!.rows,
        rejected: 0,
        oversold,
        lost,
        duplicated: 0,
        undersold: null,
        pass: failures.length === 0,
        failures,
      };
    },
    async profileReplica(outDir) {
      await mkdir(outDir, { recursive: true });
      const preload = pathToFileURL(join(REPO_ROOT, 'lab/dist/bench/profile-preload.js')).href;
      await replicas[0]!.stop();
      replicas[0] = replicaSpec(0, { NODE_OPTIONS: `--import=${preload}`, STAMPEDE_CPU_PROFILE_DIR: outDir });
      await replicas[0].start(replicaReady(0));
      const pid = replicas[0].pid;
      return {
        start: () => {
          if (pid) process.kill(pid, 'SIGUSR2');
        },
        async finish() {
          await replicas[0]!.stop();
          replicas[0] = replicaSpec(0);
          await replicas[0].start(replicaReady(0));
          const file = join(outDir, `${pid}.cpuprofile`);
          return existsSync(file) ? file : undefined;
        },
      };
    },
    pids() {
      const out: Record<string, number> = {};
      replicas.forEach((r, i) => {
        if (r.pid) out[REFERENCE_REPLICAS[i]!] = r.pid;
      });
      if (nginx.pid) out.nginx = nginx.pid;
      if (drain.pid) out.drain = drain.pid;
      return out;
    },
    close,
  };
}
