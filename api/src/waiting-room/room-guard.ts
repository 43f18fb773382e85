import { AppError } from '@stampede/core/errors';
import type { Logger } from '@stampede/core/logger';
import type { RoomTokens, WaitingRoom } from '@stampede/core/waiting-room';

/** How long a replica trusts what it last read of a room's on/off (admin changes reach the others within it). */
const STATE_TTL_MS = 1_000;

/**
 * The purchase side of the room: while an event's room is on, a purchase needs a pass for
 * that event, and the buyer is the pass's subject, whatever buyerId the body names.
 * Whether the room is on is read from Redis at most once a second per event per replica;
 * with Redis unreachable the last value read stands (and a room never read counts as off:
 * the gate is skipped too then, and Postgres alone holds the line against overselling).
 */
export function createRoomGuard(deps: { room: WaitingRoom; tokens: RoomTokens; log: Logger }) {
  const known = new Map<string, { on: boolean; at: number }>();

  async function isOn(eventId: string): Promise<boolean> {
    const entry = known.get(eventId);
    if (entry && Date.now() - entry.at < STATE_TTL_MS) return entry.on;
    try {
      const on = await deps.room.isOn(eventId);
      if (known.size > 10_000) known.clear();
      known.set(eventId, { on, at: Date.now() });
      return on;
    } catch (err) {
      deps.log.warn({ event: 'room.state_unavailable', eventId, err: (err as Error).message }, 'room state unread');
      return entry?.on ?? false;
    }
  }

  return {
    isOn,
    /** Drops what this replica knows of a room (its admin just changed it). */
    forget: (eventId: string) => known.delete(eventId),

    /**
     * The buyer a purchase is counted against: undefined while the room is off (the body's
     * buyerId stands), the pass's subject while it is on; throws 401/403 without a good pass.
     */
    async buyerOf(eventId: string, authorization: string | undefined): Promise<string | undefined> {
      if (!(await isOn(eventId))) return undefined;
      const match = authorization ? /^Bearer\s+(\S+)$/i.exec(authorization) : null;
      if (!match)
        throw new AppError(
          'pass_required',
          'Join the waiting room and send its pass as Authorization: Bearer <pass>.',
          {
            headers: { 'WWW-Authenticate': 'Bearer realm="stampede-waiting-room"' },
            extensions: { waitingRoom: `/events/${eventId}/waiting-room` },
          },
        );
      const pass = await deps.tokens.verifyPass(match[1]!, eventId);
      return `room:${pass.subject}`;
    },
  };
}

export type RoomGuard = ReturnType<typeof createRoomGuard>;
