import type { Sql } from '../db/sql.js';

/** The knobs an admin sets, as Postgres keeps them (the line itself is in Redis). */
export interface StoredRoom {
  enabled: boolean;
  releasePerMinute: number;
  maxInside: number;
}

/** Writes the knobs of an event's room; false when there is no such event. */
export async function saveRoom(sql: Sql, eventId: string, r: StoredRoom): Promise<boolean> {
  const rows = await sql`insert into waiting_rooms (event_id, enabled, release_per_minute, max_inside)
    select id, ${r.enabled}, ${r.releasePerMinute}, ${r.maxInside} from events where id = ${eventId}
    on conflict (event_id) do update set enabled = excluded.enabled,
      release_per_minute = excluded.release_per_minute, max_inside = excluded.max_inside, updated_at = now()
    returning event_id`;
  return rows.length > 0;
}

/** The knobs of an event's room, undefined when it never had one. */
export async function loadRoom(sql: Sql, eventId: string): Promise<StoredRoom | undefined> {
  const [row] = await sql<{ enabled: boolean; release_per_minute: number; max_inside: number }[]>`
    select enabled, release_per_minute, max_inside from waiting_rooms where event_id = ${eventId}`;
  return row
    ? { enabled: row.enabled, releasePerMinute: row.release_per_minute, maxInside: row.max_inside }
    : undefined;
}
