-- The knobs of an event's waiting room. Redis holds the line and runs without persistence;
-- the knobs live here too, so a Redis that restarts empty does not turn every room off
-- (and let the whole crowd in at once): a replica that finds a room missing in Redis puts
-- it back from this row.
create table waiting_rooms (
  event_id uuid primary key references events (id) on delete cascade,
  enabled boolean not null,
  release_per_minute integer not null check (release_per_minute >= 0),
  max_inside integer not null check (max_inside >= 0),
  updated_at timestamptz not null default now()
);
