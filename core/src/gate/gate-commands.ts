import type { Redis } from 'ioredis';
import { ADMIT, BUCKET_STATE, MOVE_IN, MOVE_OUT, PRIME, RECONCILE, SETTLE_MANY, UNDO } from './gate-scripts.js';

/** The gate's scripts as commands of a client (see gate-scripts.ts for their keys and args). */
export interface GateCommands {
  stampedeAdmit(...args: (string | number)[]): Promise<[string, string, number]>;
  stampedeMoveOut(stock: string, n: number): Promise<number>;
  stampedeMoveIn(stock: string, n: number): Promise<number>;
  stampedeUndo(...args: (string | number)[]): Promise<number>;
  stampedeSettleMany(numberOfKeys: number, ...args: (string | number)[]): Promise<number>;
  stampedePrime(...args: (string | number)[]): Promise<number>;
  stampedeReconcile(...args: (string | number)[]): Promise<[number, number, number, number]>;
  stampedeBucketState(stock: string, held: string): Promise<[number, number]>;
}

const defined = new WeakSet<Redis>();

/**
 * Registers the gate scripts on a client once; ioredis then calls them by SHA. A client
 * with auto-pipelining must have them before its first command: a pipeline opened
 * earlier in the same event-loop turn would not know a command defined later
 * (ioredis#1931), so createRedis calls this at once; other clients get it on first use.
 */
export function defineGateCommands(redis: Redis): GateCommands {
  if (!defined.has(redis)) {
    redis.defineCommand('stampedeAdmit', { numberOfKeys: 5, lua: ADMIT });
    redis.defineCommand('stampedeMoveOut', { numberOfKeys: 1, lua: MOVE_OUT });
    redis.defineCommand('stampedeMoveIn', { numberOfKeys: 1, lua: MOVE_IN });
    redis.defineCommand('stampedeUndo', { numberOfKeys: 5, lua: UNDO });
    // Key count varies with the batch: passed first on each call.
    redis.defineCommand('stampedeSettleMany', { lua: SETTLE_MANY });
    redis.defineCommand('stampedePrime', { numberOfKeys: 2, lua: PRIME });
    redis.defineCommand('stampedeReconcile', { numberOfKeys: 2, lua: RECONCILE });
    redis.defineCommand('stampedeBucketState', { numberOfKeys: 2, lua: BUCKET_STATE });
    defined.add(redis);
  }
  return redis as unknown as GateCommands;
}
