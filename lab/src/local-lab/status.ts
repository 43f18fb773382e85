import { brokerNames, connectFirst } from '@stampede/core/broker';
import { brokerUrls, type Config, loadConfig } from '@stampede/core/config';
import { createSql } from '@stampede/core/db';
import { queryAvailability } from '@stampede/core/events';
import type amqplib from 'amqplib';
import { DEMO_EVENT_ID } from '../seed.js';
import { componentTarget } from './components.js';
import { probeHttp } from './health.js';
import { describeExit } from './lab.js';
import { type ComponentName, labComponents, resolveLabDir } from './lab-options.js';
import { type LabState, type RunRecord, readRunRecord, requireLabState } from './lab-state.js';
import { componentRunning, isAlive, watcherRunning } from './processes.js';

/**
 * up: alive and healthy; unhealthy: alive, not answering; died: gone while the lab wanted
 * it running; never-started: the lab never got to start it (an `up` that was interrupted
 * or is still starting).
 */
export type ComponentCondition = 'up' | 'unhealthy' | 'stopped' | 'killed' | 'died' | 'never-started';

export interface ComponentStatus {
  name: ComponentName;
  condition: ComponentCondition;
  /** What the terminal shows: `up`, `DIED (exit code 1)`, `killed (SIGKILL)`, … */
  label: string;
  pid?: number;
  port: number;
}

export interface QueueDepth {
  queue: string;
  /** Messages ready for delivery (not counting those a consumer holds unacked). */
  messages?: number;
  consumers?: number;
  error?: string;
}

export interface TicketsLeft {
  eventId: string;
  tiers?: { name: string; capacity: number; remaining: number }[];
  error?: string;
}

/**
 * True when no component is unwell: each is up, or was stopped or killed on purpose
 * (`lab stop`, `lab kill`). A component that died on its own, is not answering, or was
 * never started is what `lab status` exits 1 for, so scripts can check a lab with it.
 */
export function labIsWell(status: Pick<LabStatus, 'components'>): boolean {
  return status.components.every((c) => c.condition === 'up' || c.condition === 'stopped' || c.condition === 'killed');
}

export interface LabStatus {
  dir: string;
  nginxPort: number;
  components: ComponentStatus[];
  queues: QueueDepth[];
  tickets: TicketsLeft;
}

/** A run record as read once, with whether its component was running at that read. */
export interface SettledRecord {
  record: RunRecord | undefined;
  alive: boolean;
}

/**
 * The run record, once it tells the whole story: a component that has just died has a
 * watcher still writing its exit, so that is waited for (briefly) rather than reported
 * as "exit not recorded". Up to 5 s: on a machine busy with a spike (or a test suite)
 * the watcher once took longer than 2 s to be scheduled and write it.
 *
 * The watcher writes the exit and only then leaves, so a record read before the watcher
 * was seen gone may predate the exit: it is read once more after, and that read is final.
 * `alive` is judged once, with the record, so the caller never sees a record read while
 * the component lived paired with a liveness checked after it died.
 */
export async function settledRecord(
  dir: string,
  name: ComponentName,
  read: typeof readRunRecord = readRunRecord,
): Promise<SettledRecord> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const record = await read(dir, name);
    if (!record || record.exit) return { record, alive: false };
    if (componentRunning(record)) return { record, alive: true };
    if (!watcherRunning(record)) return { record: await read(dir, name), alive: false };
    if (Date.now() > deadline) return { record, alive: false };
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function componentStatus(state: LabState, name: ComponentName): Promise<ComponentStatus> {
  const target = componentTarget(state.options, name);
  const { record, alive } = await settledRecord(state.options.dir, name);
  const desired = state.desired[name];
  // The pid is shown while it runs, and after a death (to find it in the logs); not once stopped.
  const showPid = record?.pid && (alive || desired === 'running');
  const base = { name, port: target.port, ...(showPid ? { pid: record.pid } : {}) };
  if (alive) {
    const probe = await probeHttp(target.healthUrl, { accept: target.accept });
    return probe.ok
      ? { ...base, condition: 'up', label: 'up' }
      : { ...base, condition: 'unhealthy', label: `unhealthy (${probe.error ?? `HTTP ${probe.status}`})` };
  }
  // Not running: the difference between a stop the lab asked for and a death on its own.
  if (desired === 'running') {
    const how = record?.exit ? describeExit(record.exit) : 'exit not recorded';
    return { ...base, condition: 'died', label: `DIED (${how})` };
  }
  if (desired === 'killed') return { ...base, condition: 'killed', label: 'killed (SIGKILL by the lab)' };
  if (desired === undefined) {
    const label = isAlive(state.startingPid)
      ? 'not started yet (`up` is starting)'
      : 'never started (`up` did not finish)';
    return { ...base, condition: 'never-started', label };
  }
  return { ...base, condition: 'stopped', label: 'stopped' };
}

/** Ready messages and consumers of the purchase queues (shared and lanes) and their DLQ (passive checks: nothing is declared). */
export async function queueDepths(
  config: Pick<Config, 'AMQP_URL' | 'AMQP_URLS' | 'AMQP_PREFIX' | 'AMQP_LANES'>,
): Promise<QueueDepth[]> {
  const names = brokerNames(config.AMQP_PREFIX, config.AMQP_LANES);
  const queues = [...names.queues, names.deadLetterQueue];
  let conn: amqplib.ChannelModel;
  try {
    conn = await connectFirst(brokerUrls(config), { timeout: 2_000 });
  } catch (err) {
    return queues.map((queue) => ({ queue, error: `broker unreachable (${(err as Error).message})` }));
  }
  conn.on('error', () => undefined);
  try {
    return await Promise.all(
      queues.map(async (queue): Promise<QueueDepth> => {
        // A passive check of a missing queue closes its channel: one channel per queue.
        const ch = await conn.createChannel();
        ch.on('error', () => undefined);
        try {
          const q = await ch.checkQueue(queue);
          await ch.close();
          return { queue, messages: q.messageCount, consumers: q.consumerCount };
        } catch (err) {
          return {
            queue,
            error: /NOT_FOUND/.test((err as Error).message) ? 'not declared yet' : (err as Error).message,
          };
        }
      }),
    );
  } finally {
    await conn.close().catch(() => undefined);
  }
}

/** Tickets left per tier of an event, as Postgres counts them. */
export async function ticketsLeft(config: Config, eventId: string): Promise<TicketsLeft> {
  const sql = createSql(config, { max: 1, applicationName: 'stampede-lab-status' });
  try {
    const availability = await queryAvailability(sql, eventId);
    if (!availability) return { eventId, error: 'no such event (run: npm run migrate -- --seed)' };
    return {
      eventId,
      tiers: availability.tiers.map((t) => ({ name: t.name, capacity: t.capacity, remaining: t.remaining })),
    };
  } catch (err) {
    return { eventId, error: `postgres unreachable (${(err as Error).message})` };
  } finally {
    await sql.end({ timeout: 1 });
  }
}

/** Each component of the lab in `dir`: pid alive, health probe, or how it ended. */
export async function componentStatuses(dirOption?: string): Promise<ComponentStatus[]> {
  const state = await requireLabState(resolveLabDir(dirOption));
  return Promise.all(labComponents(state.options).map((name) => componentStatus(state, name)));
}

/**
 * Everything `lab status` shows, as data: each component (pid alive + health probe),
 * queue depths, tickets left of the demo event (or `eventId`).
 */
export async function labStatus(dirOption?: string, options: { eventId?: string } = {}): Promise<LabStatus> {
  const dir = resolveLabDir(dirOption);
  const state = await requireLabState(dir);
  const config = loadConfig({ ...process.env, ...state.options.env });
  const [components, queues, tickets] = await Promise.all([
    Promise.all(labComponents(state.options).map((name) => componentStatus(state, name))),
    queueDepths(config),
    ticketsLeft(config, options.eventId ?? DEMO_EVENT_ID),
  ]);
  return { dir, nginxPort: state.options.nginxPort, components, queues, tickets };
}
