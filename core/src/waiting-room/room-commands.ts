import type { Redis } from 'ioredis';
import { JOIN, POLL } from './room-scripts.js';

/** The room's scripts as commands of a client (see room-scripts.ts for their keys and args). */
export interface RoomCommands {
  stampedeRoomJoin(...args: (string | number)[]): Promise<string[]>;
  stampedeRoomPoll(...args: (string | number)[]): Promise<(string | number)[]>;
}

const defined = new WeakSet<Redis>();

/**
 * Registers the room's scripts on a client once. As with the gate's (gate-commands.ts), a
 * client with auto-pipelining must have them before its first command, or a pipeline opened
 * earlier in the same turn fails the call and ioredis then throws out of its own callback,
 * killing the process: createRedis calls this at once.
 */
export function defineRoomCommands(redis: Redis): RoomCommands {
  if (!defined.has(redis)) {
    redis.defineCommand('stampedeRoomJoin', { numberOfKeys: 3, lua: JOIN });
    redis.defineCommand('stampedeRoomPoll', { numberOfKeys: 5, lua: POLL });
    defined.add(redis);
  }
  return redis as unknown as RoomCommands;
}
