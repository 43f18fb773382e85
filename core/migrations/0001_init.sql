-- Events, their ticket tiers and the purchases decided against them.
-- Postgres is the source of truth: the CHECK on tiers.sold makes oversell impossible
-- whatever Redis or the API believe.

create table events (
  id             uuid primary key,
  name           text not null check (length(name) between 1 and 200),
  venue          text not null default '',
  starts_at      timestamptz not null,
  sale_opens_at  timestamptz not null default now(),
  sale_closes_at timestamptz,
  created_at     timestamptz not null default now(),
  constraint sale_window_ordered check (sale_closes_at is null or sale_closes_at > sale_opens_at)
);

create table tiers (
  id          uuid primary key,
  event_id    uuid not null references events (id) on delete cascade,
  name        text not null check (length(name) between 1 and 100),
  price_cents integer not null check (price_cents >= 0),
  capacity    integer not null check (capacity > 0),
  sold        integer not null default 0,
  constraint sold_within_capacity check (sold >= 0 and sold <= capacity),
  unique (event_id, name)
);
create index tiers_event on tiers (event_id);

create table purchases (
  id              uuid primary key,
  idempotency_key text not null,
  event_id        uuid not null references events (id) on delete cascade,
  tier_id         uuid not null references tiers (id) on delete cascade,
  buyer_id        text not null,
  quantity        integer not null check (quantity > 0),
  status          text not null check (status in ('confirmed', 'rejected')),
  reason          text,
  request_id      text,
  accepted_at     timestamptz,
  decided_at      timestamptz not null default now(),
  constraint idempotency_key_unique unique (idempotency_key),
  constraint rejected_has_reason check ((status = 'rejected') = (reason is not null))
);
create index purchases_event_buyer on purchases (event_id, buyer_id) where status = 'confirmed';
create index purchases_tier on purchases (tier_id);
