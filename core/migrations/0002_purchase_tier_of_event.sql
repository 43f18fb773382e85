-- A purchase's tier must be a tier of the purchase's event: one composite foreign key
-- says so, where two separate keys (event, tier) allowed a tier of another event. It is
-- also half the work per inserted row: the worker inserts a few hundred purchases per
-- transaction and each foreign key is a trigger call per row.

alter table tiers add constraint tiers_id_event unique (id, event_id);

alter table purchases
  drop constraint purchases_event_id_fkey,
  drop constraint purchases_tier_id_fkey,
  add constraint purchases_tier_of_event foreign key (tier_id, event_id)
    references tiers (id, event_id) on delete cascade;
