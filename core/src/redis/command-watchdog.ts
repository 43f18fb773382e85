import type { Cluster, Redis } from 'ioredis';

/** What a waiting command is to the watchdog (ioredis' Command; its typings say only Respondable). */
interface Command {
  isSettled: boolean;
  reject(err: Error): void;
}

/** The commands a connection has written and waits on the replies of, oldest first (ioredis' own queue). */
const waiting = (redis: Redis) =>
  redis.commandQueue as unknown as {
    length: number;
    peekAt(i: number): { command: Command } | undefined;
    peekBack(): { command: Command } | undefined;
  };

/** A command that was the newest one waiting on a connection at `at` (ms, performance.now()). */
interface Mark {
  at: number;
  command: Command;
}

export interface CommandWatchdog {
  stop(): void;
}

/** The message ioredis' own commandTimeout rejects with: the same error for callers and logs. */
export const COMMAND_TIMED_OUT = 'Command timed out';

/**
 * Fails the commands a connection has waited on for about `timeoutMs`, as ioredis' own
 * `commandTimeout` does (each is rejected with "Command timed out"; the connection stays,
 * and a late reply is matched and dropped), with one timer per client instead of one per
 * command: ioredis arms a timer for every command and deletes its field on the reply,
 * which leaves every command object slow to use; on the sold-out path that was a twentieth
 * of a replica's CPU.
 *
 * Every tick (a fifth of the timeout) notes the newest command waiting on each connection.
 * When a note is `timeoutMs - tick` old and its command still has no answer, it and every
 * command before it (replies come in order) have waited that long at least: all are failed.
 * A command thus waits between `timeoutMs - tick` and `timeoutMs + tick` for its answer.
 */
export function watchCommands(client: Redis | Cluster, timeoutMs: number): CommandWatchdog {
  const tick = Math.max(5, Math.floor(timeoutMs / 5));
  const marks = new WeakMap<Redis, Mark[]>();
  const connections = (): Redis[] =>
    (client as Redis).isCluster ? (client as Cluster).nodes('all') : [client as Redis];

  /** Fails `last` and the commands before it; none when `last` has left the queue (a newer command never waited that long). */
  const failUpTo = (redis: Redis, last: Command) => {
    const queue = waiting(redis);
    let end = 0;
    while (end < queue.length && queue.peekAt(end)!.command !== last) end += 1;
    if (end === queue.length) return;
    for (let i = 0; i <= end; i += 1) {
      const command = queue.peekAt(i)!.command;
      if (!command.isSettled) command.reject(new Error(COMMAND_TIMED_OUT));
    }
  };

  const check = () => {
    const now = performance.now();
    for (const redis of connections()) {
      let noted = marks.get(redis);
      if (noted === undefined) marks.set(redis, (noted = []));
      while (noted.length > 0 && now - noted[0]!.at >= timeoutMs - tick) {
        const { command } = noted.shift()!;
        if (!command.isSettled) failUpTo(redis, command);
      }
      const newest = waiting(redis).peekBack()?.command;
      if (newest !== undefined && !newest.isSettled && noted.at(-1)?.command !== newest)
        noted.push({ at: now, command: newest });
    }
  };

  const timer = setInterval(check, tick);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
