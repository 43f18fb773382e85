-- A hot tier's stock split into buckets, so that batches of different buckets of one tier
-- are decided in parallel instead of queueing on the tier row's lock.
--
-- tiers.buckets = 1 (every tier before this migration): the tier row counts `sold`, as
-- before, and the tier has no bucket rows. tiers.buckets = K > 1: K rows in tier_buckets
-- whose capacities sum to the tier's capacity and whose `sold` sum is the tier's sold;
-- tiers.sold is not moved. Either way the CHECK on the row that counts makes oversell
-- impossible, and tier_stock reads one figure per tier.

alter table tiers add column buckets smallint not null default 1
  constraint buckets_in_range check (buckets between 1 and 64);

create table tier_buckets (
  tier_id  uuid not null references tiers (id) on delete cascade,
  bucket   smallint not null check (bucket >= 0),
  capacity integer not null check (capacity >= 0),
  sold     integer not null default 0,
  primary key (tier_id, bucket),
  constraint bucket_sold_within_capacity check (sold >= 0 and sold <= capacity)
);

-- The bucket whose stock a purchase took (0 for a tier that is not split).
alter table purchases add column bucket smallint not null default 0;

-- One tier's capacity and sold, whichever rows count them.
create view tier_stock as
  select t.id as tier_id, t.event_id, t.capacity,
         case when t.buckets = 1 then t.sold
              else coalesce((select sum(b.sold)::int from tier_buckets b where b.tier_id = t.id), 0) end as sold
  from tiers t;
