import type { BackplanePublisher, BackplaneSubscriber } from '@stampede/core/backplane';
import type { Sql } from '@stampede/core/db';
import { AppError } from '@stampede/core/errors';
import { type Logger, throttledWarning } from '@stampede/core/logger';
import { loadRoom, type RoomTokens, type StoredRoom, saveRoom, type WaitingRoom } from '@stampede/core/waiting-room';
import { createBoundedMap } from '../domain/bounded-map.js';
import type { Catalog } from '../domain/catalog.js';

/** How long a replica trusts what it last read of a room's on/off without the backplane (admin changes reach the others within it). */
const STATE_TTL_MS = 1_000;
/**
 * With the backplane up an admin change arrives as a message, so Redis is read again only
 * this often: a safety net for a message lost (a replica that was resubscribing forgets all).
 */
const FOLLOWED_TTL_MS = 30_000;
/** With Redis away every purchase fails to read the room: one `room.state_unavailable` line per this, per replica. */
const UNAVAILABLE_LOG_EVERY_MS = 10_000;

/**
 * Control of the room: the admin's knobs (Postgres first, then Redis), and the purchase
 * side: while an event's room is on, a purchase needs a pass for that event, and the
 * buyer is the pass's subject, whatever buyerId the body names.
 * Whether the room is on is read from Redis at most once a second per event per replica.
 * A room Redis does not know (it restarted empty) is put back from Postgres, so a Redis
 * restart does not open the doors. With Redis unreachable the last value read stands
 * (and a room never read counts as off: the gate is skipped then too, and Postgres alone
 * holds the line against overselling).
 */
/** Who buys with a pass: the buyer the limit counts, and the pass's subject in the room. */
export interface RoomBuyer {
  buyerId: string;
  subject: string;
}

export function createRoomGuard(deps: {
  room: WaitingRoom;
  tokens: RoomTokens;
  sql: Sql;
  catalog: Catalog;
  log: Logger;
  /** After a restore, how long nobody is released: every buyer still polling takes their place back first. */
  heartbeatMs: number;
  /** Admin changes heard from the other replicas, and told to them. */
  backplane?: { subscriber: BackplaneSubscriber; publisher: BackplanePublisher };
}) {
  // Keyed by event ids clients send: bounded like every per-replica cache.
  const known = createBoundedMap<{ on: boolean; at: number }>(10_000);
  const bp = deps.backplane;
  bp?.subscriber.on('room_changed', (m) => known.set(m.eventId, { on: m.enabled, at: Date.now() }));
  // Resubscribed: changes may have been missed meanwhile.
  bp?.subscriber.onSubscribed(() => known.clear());
  const unavailable = throttledWarning(deps.log, UNAVAILABLE_LOG_EVERY_MS);
  const trustMs = () => (bp?.subscriber.state() === 'up' ? FOLLOWED_TTL_MS : STATE_TTL_MS);

  /** Writes the knobs into Redis with the sale's opening; false when the event is gone. */
  async function apply(eventId: string, r: StoredRoom, holdUntilMs?: number): Promise<boolean> {
    const event = await deps.catalog.event(eventId);
    if (!event) return false;
    await deps.room.configure(eventId, { ...r, opensAtMs: event.saleOpensAt.getTime(), holdUntilMs });
    return true;
  }

  async function read(eventId: string): Promise<boolean> {
    const state = await deps.room.onState(eventId);
    if (state !== 'missing') return state === 'on';
    const stored = await loadRoom(deps.sql, eventId);
    if (!stored || !(await apply(eventId, stored, Date.now() + deps.heartbeatMs))) return false;
    deps.log.warn({ event: 'room.restored', eventId, enabled: stored.enabled }, 'waiting room put back from Postgres');
    return stored.enabled;
  }

  async function isOn(eventId: string, fresh = false): Promise<boolean> {
    const entry = known.get(eventId);
    if (!fresh && entry && Date.now() - entry.at < trustMs()) return entry.on;
    try {
      const on = await read(eventId);
      known.set(eventId, { on, at: Date.now() });
      unavailable.settle();
      return on;
    } catch (err) {
      unavailable.warn({ event: 'room.state_unavailable', eventId, err: (err as Error).message }, 'room state unread');
      return entry?.on ?? false;
    }
  }

  return {
    isOn,

    /** The admin's change: Postgres (what survives a Redis restart), then Redis; false when no such event. */
    async configure(eventId: string, r: StoredRoom): Promise<boolean> {
      if (!(await saveRoom(deps.sql, eventId, r))) return false;
      if (!(await apply(eventId, r))) return false;
      known.delete(eventId);
      // Best effort: a replica that misses it reads Redis within FOLLOWED_TTL_MS anyway.
      await bp?.publisher.publish({ kind: 'room_changed', eventId, enabled: r.enabled });
      return true;
    },

    /**
     * The buyer a purchase is counted against: undefined while the room is off (the body's
     * buyerId stands), the pass's subject while it is on; throws 401/403 without a good pass.
     */
    async buyerOf(eventId: string, authorization: string | undefined): Promise<RoomBuyer | undefined> {
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
      return { buyerId: `room:${pass.subject}`, subject: pass.subject };
    },

    /**
     * A purchase with this buyer's pass was accepted: the next buyer may come in. Best
     * effort: if Redis cannot be told, the slot frees when the pass expires.
     */
    async spent(eventId: string, buyer: RoomBuyer): Promise<void> {
      try {
        await deps.room.spent(eventId, buyer.subject);
      } catch (err) {
        deps.log.warn({ event: 'room.spent_unrecorded', eventId, err: (err as Error).message }, 'slot frees at expiry');
      }
    },
  };
}

export type RoomGuard = ReturnType<typeof createRoomGuard>;
