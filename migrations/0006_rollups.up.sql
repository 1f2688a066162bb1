-- Roll-ups (issue 6): for any node, figures over its live subtree, exact
-- and fresh, without a row that concurrent writers share.
--
-- Mechanism (docs/ROLLUPS.md has the measurements behind it):
--  * every write to a table that changes a figure appends one or two rows
--    to private.rollup_deltas (triggers below): the row's contribution to
--    its own node's figures, before (negated) and after. Writers only ever
--    insert: nobody updates a counter;
--  * private.rollup_fold moves committed deltas, in one transaction, into
--    private.rollup_own (each node's own rows) and private.rollup_subtree
--    (each live node's live subtree: the delta is added to its node and
--    every ancestor), under a per-organization try-lock and `for update
--    skip locked`: folds never wait for writers nor writers for folds, and
--    only the folder ever updates a total; `showtree serve` folds in the
--    background;
--  * a move, soft delete or restore of a subtree moves the subtree's total
--    between its old and new ancestors in the same transaction (after
--    waiting for a running fold), so the totals always describe the
--    committed tree;
--  * a roll-up reads the node's own total, its children's subtree totals
--    and the deltas not folded yet (read-your-writes): a few dozen rows
--    whatever the subtree's size;
--  * clock-dependent figures (overdue tasks, assets assigned now) are
--    counted when reading, from partial indexes, at the transaction's now().
--
-- Counts live in the row of currency 'XXX' (ISO 4217: "no currency
-- involved"); money in the row of its currency. Money is never summed
-- across currencies. Figures that depend on the clock are stored by the
-- week (Monday, UTC) of the instant that matters: open tasks by the week
-- they are due in, asset assignments by the weeks they start and end in.
-- At reading, weeks before the current one are summed from the store and
-- the current week is counted from the base tables up to now(): a few
-- rows, where counting every overdue task of an organization would mean
-- joining thousands of them to their nodes.

-- ------------------------------------------------------------- the store
-- Appended by the triggers, deleted by the fold: never updated. The id is
-- gen_random_uuid() (a C function, no shared counter: a sequence would be
-- one more thing every writer touches).
create table private.rollup_deltas (
  org_id uuid not null,
  node_id uuid not null,
  id uuid not null default gen_random_uuid(),
  currency char(3) not null,
  -- '-infinity' for every figure but the dated ones (see the file's
  -- head): open tasks by due week, assignments by start and end week
  week date not null default '-infinity',
  tasks_draft bigint not null default 0,
  tasks_planning bigint not null default 0,
  tasks_active bigint not null default 0,
  tasks_review bigint not null default 0,
  tasks_completed bigint not null default 0,
  tasks_cancelled bigint not null default 0,
  tasks_archived bigint not null default 0,
  schedule_items bigint not null default 0,
  schedule_conflicts bigint not null default 0,
  crew_headcount bigint not null default 0,
  budget_planned_minor bigint not null default 0,
  invoiced_draft_minor bigint not null default 0,
  invoiced_active_minor bigint not null default 0,
  invoiced_review_minor bigint not null default 0,
  invoiced_completed_minor bigint not null default 0,
  invoiced_cancelled_minor bigint not null default 0,
  invoiced_archived_minor bigint not null default 0,
  crew_cost_minor bigint not null default 0,
  tasks_open_due bigint not null default 0,
  assets_started bigint not null default 0,
  assets_ended bigint not null default 0,
  created_at timestamptz not null default now(),
  -- (org_id, node_id) leads: a roll-up reads the pending deltas of its nodes
  constraint rollup_deltas_pkey primary key (org_id, node_id, id)
);
comment on table private.rollup_deltas is
  'append-only: written by the roll-up triggers, folded into rollup_own and rollup_subtree and deleted by private.rollup_fold';

-- The folded figures of each node's own rows, live or not (what a restore
-- brings back).
create table private.rollup_own (
  org_id uuid not null,
  node_id uuid not null,
  currency char(3) not null,
  week date not null default '-infinity',
  tasks_draft bigint not null default 0,
  tasks_planning bigint not null default 0,
  tasks_active bigint not null default 0,
  tasks_review bigint not null default 0,
  tasks_completed bigint not null default 0,
  tasks_cancelled bigint not null default 0,
  tasks_archived bigint not null default 0,
  schedule_items bigint not null default 0,
  schedule_conflicts bigint not null default 0,
  crew_headcount bigint not null default 0,
  budget_planned_minor bigint not null default 0,
  invoiced_draft_minor bigint not null default 0,
  invoiced_active_minor bigint not null default 0,
  invoiced_review_minor bigint not null default 0,
  invoiced_completed_minor bigint not null default 0,
  invoiced_cancelled_minor bigint not null default 0,
  invoiced_archived_minor bigint not null default 0,
  crew_cost_minor bigint not null default 0,
  tasks_open_due bigint not null default 0,
  assets_started bigint not null default 0,
  assets_ended bigint not null default 0,
  created_at timestamptz not null default now(),
  constraint rollup_own_pkey primary key (org_id, node_id, currency, week),
  constraint rollup_own_node_fkey foreign key (org_id, node_id)
    references showtree.nodes (org_id, id) on delete cascade
);
comment on table private.rollup_own is
  'changed only by the owner''s roll-up functions: no policy lets the service write it';

-- The folded figures of each live node's live subtree, itself included
-- (no row for a deleted node).
create table private.rollup_subtree (
  org_id uuid not null,
  node_id uuid not null,
  currency char(3) not null,
  week date not null default '-infinity',
  tasks_draft bigint not null default 0,
  tasks_planning bigint not null default 0,
  tasks_active bigint not null default 0,
  tasks_review bigint not null default 0,
  tasks_completed bigint not null default 0,
  tasks_cancelled bigint not null default 0,
  tasks_archived bigint not null default 0,
  schedule_items bigint not null default 0,
  schedule_conflicts bigint not null default 0,
  crew_headcount bigint not null default 0,
  budget_planned_minor bigint not null default 0,
  invoiced_draft_minor bigint not null default 0,
  invoiced_active_minor bigint not null default 0,
  invoiced_review_minor bigint not null default 0,
  invoiced_completed_minor bigint not null default 0,
  invoiced_cancelled_minor bigint not null default 0,
  invoiced_archived_minor bigint not null default 0,
  crew_cost_minor bigint not null default 0,
  tasks_open_due bigint not null default 0,
  assets_started bigint not null default 0,
  assets_ended bigint not null default 0,
  created_at timestamptz not null default now(),
  constraint rollup_subtree_pkey primary key (org_id, node_id, currency, week),
  constraint rollup_subtree_node_fkey foreign key (org_id, node_id)
    references showtree.nodes (org_id, id) on delete cascade
);
comment on table private.rollup_subtree is
  'changed only by the owner''s roll-up functions: no policy lets the service write it';

-- Nobody but the owner's functions touches these tables.
do $migration$
declare
  t text;
begin
  foreach t in array array['rollup_deltas', 'rollup_own', 'rollup_subtree'] loop
    execute format('alter table private.%I enable row level security', t);
    execute format('alter table private.%I force row level security', t);
    execute format('create policy %I on private.%I as restrictive to public using (false) with check (false)',
                   t || '_direct_denied', t);
  end loop;
end
$migration$;

-- ----------------------------------------------------- what rows count
-- The week (its Monday, UTC) an instant falls in: the key of dated figures.
create function private.rollup_week(p_at timestamptz) returns date
language sql immutable parallel safe
as $$ select date_trunc('week', p_at at time zone 'UTC')::date $$;

-- A crew assignment's cost in its currency's minor units: flat as is, by
-- the hour for the time between call and wrap (rounded half away from
-- zero), by the day for every started 24 hours; null when the times it
-- needs are missing.
create function private.crew_cost_minor(
  p_rate bigint, p_unit showtree.rate_unit, p_call timestamptz, p_wrap timestamptz)
returns bigint
language sql immutable parallel safe
as $$
  select case p_unit
    when 'flat' then p_rate
    when 'hour' then round(p_rate * extract(epoch from p_wrap - p_call) / 3600)::bigint
    when 'day' then (p_rate * ceil(extract(epoch from p_wrap - p_call) / 86400))::bigint
  end
$$;

-- Tasks: one per status, while live; and one by due week while open.
create function private.rollup_tasks() returns trigger
language plpgsql security definer
set search_path = ''
as $$
begin
  if tg_op <> 'INSERT' and old.deleted_at is null then
    insert into private.rollup_deltas (org_id, node_id, currency, tasks_draft, tasks_planning,
      tasks_active, tasks_review, tasks_completed, tasks_cancelled, tasks_archived)
    values (old.org_id, old.node_id, 'XXX', -(old.status = 'draft')::int, -(old.status = 'planning')::int,
      -(old.status = 'active')::int, -(old.status = 'review')::int, -(old.status = 'completed')::int,
      -(old.status = 'cancelled')::int, -(old.status = 'archived')::int);
    if old.due_at is not null and old.status in ('draft', 'planning', 'active', 'review') then
      insert into private.rollup_deltas (org_id, node_id, currency, week, tasks_open_due)
      values (old.org_id, old.node_id, 'XXX', private.rollup_week(old.due_at), -1);
    end if;
  end if;
  if tg_op <> 'DELETE' and new.deleted_at is null then
    insert into private.rollup_deltas (org_id, node_id, currency, tasks_draft, tasks_planning,
      tasks_active, tasks_review, tasks_completed, tasks_cancelled, tasks_archived)
    values (new.org_id, new.node_id, 'XXX', (new.status = 'draft')::int, (new.status = 'planning')::int,
      (new.status = 'active')::int, (new.status = 'review')::int, (new.status = 'completed')::int,
      (new.status = 'cancelled')::int, (new.status = 'archived')::int);
    if new.due_at is not null and new.status in ('draft', 'planning', 'active', 'review') then
      insert into private.rollup_deltas (org_id, node_id, currency, week, tasks_open_due)
      values (new.org_id, new.node_id, 'XXX', private.rollup_week(new.due_at), 1);
    end if;
  end if;
  return null;
end
$$;
create trigger tasks_rollup_insert after insert on showtree.tasks
  for each row when (new.deleted_at is null) execute function private.rollup_tasks();
create trigger tasks_rollup_update after update on showtree.tasks
  for each row when (old.node_id is distinct from new.node_id or old.status is distinct from new.status
                     or old.due_at is distinct from new.due_at
                     or (old.deleted_at is null) <> (new.deleted_at is null))
  execute function private.rollup_tasks();
create trigger tasks_rollup_delete after delete on showtree.tasks
  for each row when (old.deleted_at is null) execute function private.rollup_tasks();

-- Budget lines: the planned amount, while live.
create function private.rollup_budget_lines() returns trigger
language plpgsql security definer
set search_path = ''
as $$
begin
  if tg_op <> 'INSERT' and old.deleted_at is null then
    insert into private.rollup_deltas (org_id, node_id, currency, budget_planned_minor)
    values (old.org_id, old.node_id, old.currency, -old.amount_minor);
  end if;
  if tg_op <> 'DELETE' and new.deleted_at is null then
    insert into private.rollup_deltas (org_id, node_id, currency, budget_planned_minor)
    values (new.org_id, new.node_id, new.currency, new.amount_minor);
  end if;
  return null;
end
$$;
create trigger budget_lines_rollup_insert after insert on showtree.budget_lines
  for each row when (new.deleted_at is null) execute function private.rollup_budget_lines();
create trigger budget_lines_rollup_update after update on showtree.budget_lines
  for each row when (old.node_id is distinct from new.node_id or old.currency is distinct from new.currency
                     or old.amount_minor is distinct from new.amount_minor
                     or (old.deleted_at is null) <> (new.deleted_at is null))
  execute function private.rollup_budget_lines();
create trigger budget_lines_rollup_delete after delete on showtree.budget_lines
  for each row when (old.deleted_at is null) execute function private.rollup_budget_lines();

-- One invoiced amount in the column of its invoice's status.
create function private.rollup_invoiced(
  p_org_id uuid, p_node_id uuid, p_currency char(3), p_status showtree.entity_status, p_amount bigint)
returns void
language sql
set search_path = ''
as $$
  insert into private.rollup_deltas (org_id, node_id, currency, invoiced_draft_minor,
    invoiced_active_minor, invoiced_review_minor, invoiced_completed_minor,
    invoiced_cancelled_minor, invoiced_archived_minor)
  select p_org_id, p_node_id, p_currency,
    case when p_status = 'draft' then p_amount else 0 end,
    case when p_status = 'active' then p_amount else 0 end,
    case when p_status = 'review' then p_amount else 0 end,
    case when p_status = 'completed' then p_amount else 0 end,
    case when p_status = 'cancelled' then p_amount else 0 end,
    case when p_status = 'archived' then p_amount else 0 end
   where p_amount <> 0
$$;

-- Invoices: the total of their live lines, at their node, in their
-- currency and status, while live. A new invoice has no lines (nothing to
-- add); a change of node, currency, status or liveness moves the whole
-- total. Lines written concurrently lock the invoice for share first
-- (rollup_invoice_lines), so this total and theirs never miss each other.
-- Deleting runs before the row goes, while its lines are still there.
create function private.rollup_invoices() returns trigger
language plpgsql security definer
set search_path = ''
as $$
declare
  total bigint;
begin
  select coalesce(sum(round(l.quantity * l.unit_amount_minor)), 0)::bigint into total
    from showtree.invoice_lines l
   where l.org_id = old.org_id and l.invoice_id = old.id and l.deleted_at is null;
  if old.deleted_at is null then
    perform private.rollup_invoiced(old.org_id, old.node_id, old.currency, old.status, -total);
  end if;
  if tg_op = 'UPDATE' and new.deleted_at is null then
    perform private.rollup_invoiced(new.org_id, new.node_id, new.currency, new.status, total);
  end if;
  if tg_op = 'DELETE' then
    return old;
  end if;
  return null;
end
$$;
create trigger invoices_rollup_update after update on showtree.invoices
  for each row when (old.node_id is distinct from new.node_id or old.currency is distinct from new.currency
                     or old.status is distinct from new.status
                     or (old.deleted_at is null) <> (new.deleted_at is null))
  execute function private.rollup_invoices();
create trigger invoices_rollup_delete before delete on showtree.invoices
  for each row execute function private.rollup_invoices();

-- Invoice lines: their amount, on their invoice's node, currency and
-- status, while both are live. The invoice is read `for share`: a
-- concurrent change of its status (or node, currency) waits for this
-- transaction or this one for it, so each sees the other's result. A line
-- whose invoice is gone (deleted in this transaction) counts for nothing:
-- the invoice's delete took its total away.
create function private.rollup_invoice_lines() returns trigger
language plpgsql security definer
set search_path = ''
as $$
declare
  inv record;
begin
  if tg_op <> 'INSERT' and old.deleted_at is null then
    select i.node_id, i.currency, i.status, i.deleted_at into inv
      from showtree.invoices i
     where i.org_id = old.org_id and i.id = old.invoice_id
       for share;
    if found and inv.deleted_at is null then
      perform private.rollup_invoiced(old.org_id, inv.node_id, inv.currency, inv.status,
                                      -round(old.quantity * old.unit_amount_minor)::bigint);
    end if;
  end if;
  if tg_op <> 'DELETE' and new.deleted_at is null then
    select i.node_id, i.currency, i.status, i.deleted_at into inv
      from showtree.invoices i
     where i.org_id = new.org_id and i.id = new.invoice_id
       for share;
    if found and inv.deleted_at is null then
      perform private.rollup_invoiced(new.org_id, inv.node_id, inv.currency, inv.status,
                                      round(new.quantity * new.unit_amount_minor)::bigint);
    end if;
  end if;
  return null;
end
$$;
create trigger invoice_lines_rollup_insert after insert on showtree.invoice_lines
  for each row when (new.deleted_at is null) execute function private.rollup_invoice_lines();
create trigger invoice_lines_rollup_update after update on showtree.invoice_lines
  for each row when (old.invoice_id is distinct from new.invoice_id or old.quantity is distinct from new.quantity
                     or old.unit_amount_minor is distinct from new.unit_amount_minor
                     or (old.deleted_at is null) <> (new.deleted_at is null))
  execute function private.rollup_invoice_lines();
create trigger invoice_lines_rollup_delete after delete on showtree.invoice_lines
  for each row when (old.deleted_at is null) execute function private.rollup_invoice_lines();

-- Crew assignments: one head and the cost, while live and not cancelled.
create function private.rollup_crew_assignments() returns trigger
language plpgsql security definer
set search_path = ''
as $$
declare
  cost bigint;
begin
  if tg_op <> 'INSERT' and old.deleted_at is null and old.status <> 'cancelled' then
    insert into private.rollup_deltas (org_id, node_id, currency, crew_headcount)
    values (old.org_id, old.node_id, 'XXX', -1);
    cost := private.crew_cost_minor(old.rate_amount_minor, old.rate_unit, old.call_at, old.wrap_at);
    if cost <> 0 then
      insert into private.rollup_deltas (org_id, node_id, currency, crew_cost_minor)
      values (old.org_id, old.node_id, old.currency, -cost);
    end if;
  end if;
  if tg_op <> 'DELETE' and new.deleted_at is null and new.status <> 'cancelled' then
    insert into private.rollup_deltas (org_id, node_id, currency, crew_headcount)
    values (new.org_id, new.node_id, 'XXX', 1);
    cost := private.crew_cost_minor(new.rate_amount_minor, new.rate_unit, new.call_at, new.wrap_at);
    if cost <> 0 then
      insert into private.rollup_deltas (org_id, node_id, currency, crew_cost_minor)
      values (new.org_id, new.node_id, new.currency, cost);
    end if;
  end if;
  return null;
end
$$;
create trigger crew_assignments_rollup_insert after insert on showtree.crew_assignments
  for each row when (new.deleted_at is null and new.status <> 'cancelled')
  execute function private.rollup_crew_assignments();
create trigger crew_assignments_rollup_update after update on showtree.crew_assignments
  for each row when (old.node_id is distinct from new.node_id or old.status is distinct from new.status
                     or (old.deleted_at is null) <> (new.deleted_at is null)
                     or (old.rate_amount_minor, old.currency, old.rate_unit, old.call_at, old.wrap_at)
                        is distinct from (new.rate_amount_minor, new.currency, new.rate_unit, new.call_at, new.wrap_at))
  execute function private.rollup_crew_assignments();
create trigger crew_assignments_rollup_delete after delete on showtree.crew_assignments
  for each row when (old.deleted_at is null and old.status <> 'cancelled')
  execute function private.rollup_crew_assignments();

-- Schedule items: one item while live, and the pairs of live items that
-- overlap in one location of one node (what the items' `conflicts` list).
-- The pairs an item is in are counted against the other items under the
-- transaction lock of each (node, location) it leaves or enters (the lock
-- schedule_items_check_overlap takes, in a fixed order), so two writers of
-- one location count each other exactly once; other locations never wait.
-- Before the row is written: a statement writing several items then counts
-- each pair once (its trigger sees the rows written before it, not after).
create function private.rollup_schedule_items() returns trigger
language plpgsql security definer
set search_path = ''
as $$
declare
  k_old bigint;
  k_new bigint;
  pairs bigint;
begin
  if tg_op <> 'INSERT' and old.deleted_at is null then
    k_old := pg_catalog.hashtextextended(old.org_id::text || old.node_id::text || old.location, 6);
  end if;
  if tg_op <> 'DELETE' and new.deleted_at is null then
    k_new := pg_catalog.hashtextextended(new.org_id::text || new.node_id::text || new.location, 6);
  end if;
  if k_old is not null and k_new is not null and k_old <> k_new then
    perform pg_catalog.pg_advisory_xact_lock(least(k_old, k_new));
    perform pg_catalog.pg_advisory_xact_lock(greatest(k_old, k_new));
  elsif coalesce(k_old, k_new) is not null then
    perform pg_catalog.pg_advisory_xact_lock(coalesce(k_old, k_new));
  end if;
  if k_old is not null then
    select count(*) into pairs
      from showtree.schedule_items s
     where s.org_id = old.org_id and s.node_id = old.node_id and s.location = old.location
       and s.deleted_at is null and s.id <> old.id
       and s.starts_at < old.ends_at and old.starts_at < s.ends_at;
    insert into private.rollup_deltas (org_id, node_id, currency, schedule_items, schedule_conflicts)
    values (old.org_id, old.node_id, 'XXX', -1, -pairs);
  end if;
  if k_new is not null then
    select count(*) into pairs
      from showtree.schedule_items s
     where s.org_id = new.org_id and s.node_id = new.node_id and s.location = new.location
       and s.deleted_at is null and s.id <> new.id
       and s.starts_at < new.ends_at and new.starts_at < s.ends_at;
    insert into private.rollup_deltas (org_id, node_id, currency, schedule_items, schedule_conflicts)
    values (new.org_id, new.node_id, 'XXX', 1, pairs);
  end if;
  if tg_op = 'DELETE' then
    return old;
  end if;
  return new;
end
$$;
create trigger schedule_items_rollup_insert before insert on showtree.schedule_items
  for each row when (new.deleted_at is null) execute function private.rollup_schedule_items();
create trigger schedule_items_rollup_update before update on showtree.schedule_items
  for each row when ((old.node_id, old.location, old.starts_at, old.ends_at)
                        is distinct from (new.node_id, new.location, new.starts_at, new.ends_at)
                     or (old.deleted_at is null) <> (new.deleted_at is null))
  execute function private.rollup_schedule_items();
create trigger schedule_items_rollup_delete before delete on showtree.schedule_items
  for each row when (old.deleted_at is null) execute function private.rollup_schedule_items();

-- Asset assignments: one start in the week it starts and one end in the
-- week it ends, while the assignment and its asset are live (assigned at
-- an instant = started by then minus ended by then). The asset is read
-- `for share`, so a concurrent soft delete or restore of it
-- (rollup_assets) and this count each other exactly once.
create function private.rollup_asset_assignments() returns trigger
language plpgsql security definer
set search_path = ''
as $$
declare
  asset_live boolean;
begin
  if tg_op <> 'INSERT' and old.deleted_at is null then
    select a.deleted_at is null into asset_live
      from showtree.assets a where a.org_id = old.org_id and a.id = old.asset_id for share;
    if asset_live then
      insert into private.rollup_deltas (org_id, node_id, currency, week, assets_started, assets_ended)
      select old.org_id, old.node_id, 'XXX', m.week, -m.started, -m.ended
        from (values (private.rollup_week(old.starts_at), 1, 0),
                     (private.rollup_week(old.ends_at), 0, 1)) m(week, started, ended)
       where m.week is not null;
    end if;
  end if;
  if tg_op <> 'DELETE' and new.deleted_at is null then
    select a.deleted_at is null into asset_live
      from showtree.assets a where a.org_id = new.org_id and a.id = new.asset_id for share;
    if asset_live then
      insert into private.rollup_deltas (org_id, node_id, currency, week, assets_started, assets_ended)
      select new.org_id, new.node_id, 'XXX', m.week, m.started, m.ended
        from (values (private.rollup_week(new.starts_at), 1, 0),
                     (private.rollup_week(new.ends_at), 0, 1)) m(week, started, ended)
       where m.week is not null;
    end if;
  end if;
  return null;
end
$$;
create trigger asset_assignments_rollup_insert after insert on showtree.asset_assignments
  for each row when (new.deleted_at is null) execute function private.rollup_asset_assignments();
create trigger asset_assignments_rollup_update after update on showtree.asset_assignments
  for each row when ((old.node_id, old.asset_id, old.starts_at, old.ends_at)
                        is distinct from (new.node_id, new.asset_id, new.starts_at, new.ends_at)
                     or (old.deleted_at is null) <> (new.deleted_at is null))
  execute function private.rollup_asset_assignments();
create trigger asset_assignments_rollup_delete after delete on showtree.asset_assignments
  for each row when (old.deleted_at is null) execute function private.rollup_asset_assignments();

-- Assets: deleting or restoring one takes its live assignments out of (or
-- back into) the figures.
create function private.rollup_assets() returns trigger
language plpgsql security definer
set search_path = ''
as $$
begin
  insert into private.rollup_deltas (org_id, node_id, currency, week, assets_started, assets_ended)
  select x.org_id, x.node_id, 'XXX', m.week,
         case when new.deleted_at is null then 1 else -1 end * sum(m.started),
         case when new.deleted_at is null then 1 else -1 end * sum(m.ended)
    from showtree.asset_assignments x
   cross join lateral (values (private.rollup_week(x.starts_at), 1, 0),
                              (private.rollup_week(x.ends_at), 0, 1)) m(week, started, ended)
   where x.org_id = new.org_id and x.asset_id = new.id and x.deleted_at is null
     and m.week is not null
   group by x.org_id, x.node_id, m.week;
  return null;
end
$$;
create trigger assets_rollup_update after update on showtree.assets
  for each row when ((old.deleted_at is null) <> (new.deleted_at is null))
  execute function private.rollup_assets();

-- The current week of dated figures, counted when reading.
create index tasks_rollup_due_idx on showtree.tasks (org_id, due_at) include (node_id)
  where deleted_at is null and due_at is not null
    and status in ('draft', 'planning', 'active', 'review');
create index asset_assignments_rollup_starts_idx on showtree.asset_assignments (org_id, starts_at)
  include (node_id, asset_id) where deleted_at is null;
create index asset_assignments_rollup_ends_idx on showtree.asset_assignments (org_id, ends_at)
  include (node_id, asset_id) where deleted_at is null and ends_at is not null;

-- ---------------------------------------------------------------- fold
-- The lock that serializes an organization's folds with the moves, soft
-- deletes and restores of its subtrees (which shift subtree totals).
create function private.rollup_lock_key(p_org_id uuid) returns integer
language sql immutable parallel safe
as $$ select pg_catalog.hashtext(p_org_id::text) $$;

-- Adds `p_sign` times the subtree total of `p_from` to the subtree totals
-- of `p_targets` (a moved, deleted or restored subtree leaving or joining
-- its ancestors); rows that come to zero go.
create function private.rollup_shift(p_org_id uuid, p_from uuid, p_targets uuid[], p_sign integer)
returns void
language plpgsql
set search_path = ''
as $$
begin
  if cardinality(p_targets) = 0 then
    return;
  end if;
  insert into private.rollup_subtree as r (org_id, node_id, currency, week, tasks_draft, tasks_planning, tasks_active, tasks_review, tasks_completed, tasks_cancelled, tasks_archived, schedule_items, schedule_conflicts, crew_headcount, budget_planned_minor, invoiced_draft_minor, invoiced_active_minor, invoiced_review_minor, invoiced_completed_minor, invoiced_cancelled_minor, invoiced_archived_minor, crew_cost_minor, tasks_open_due, assets_started, assets_ended)
  select p_org_id, t.node_id, s.currency, s.week, p_sign * s.tasks_draft, p_sign * s.tasks_planning, p_sign * s.tasks_active, p_sign * s.tasks_review, p_sign * s.tasks_completed, p_sign * s.tasks_cancelled, p_sign * s.tasks_archived, p_sign * s.schedule_items, p_sign * s.schedule_conflicts, p_sign * s.crew_headcount, p_sign * s.budget_planned_minor, p_sign * s.invoiced_draft_minor, p_sign * s.invoiced_active_minor, p_sign * s.invoiced_review_minor, p_sign * s.invoiced_completed_minor, p_sign * s.invoiced_cancelled_minor, p_sign * s.invoiced_archived_minor, p_sign * s.crew_cost_minor, p_sign * s.tasks_open_due, p_sign * s.assets_started, p_sign * s.assets_ended
    from private.rollup_subtree s
   cross join unnest(p_targets) as t(node_id)
   where s.org_id = p_org_id and s.node_id = p_from
   order by t.node_id, s.currency, s.week
  on conflict (org_id, node_id, currency, week) do update set
      tasks_draft = r.tasks_draft + excluded.tasks_draft,
      tasks_planning = r.tasks_planning + excluded.tasks_planning,
      tasks_active = r.tasks_active + excluded.tasks_active,
      tasks_review = r.tasks_review + excluded.tasks_review,
      tasks_completed = r.tasks_completed + excluded.tasks_completed,
      tasks_cancelled = r.tasks_cancelled + excluded.tasks_cancelled,
      tasks_archived = r.tasks_archived + excluded.tasks_archived,
      schedule_items = r.schedule_items + excluded.schedule_items,
      schedule_conflicts = r.schedule_conflicts + excluded.schedule_conflicts,
      crew_headcount = r.crew_headcount + excluded.crew_headcount,
      budget_planned_minor = r.budget_planned_minor + excluded.budget_planned_minor,
      invoiced_draft_minor = r.invoiced_draft_minor + excluded.invoiced_draft_minor,
      invoiced_active_minor = r.invoiced_active_minor + excluded.invoiced_active_minor,
      invoiced_review_minor = r.invoiced_review_minor + excluded.invoiced_review_minor,
      invoiced_completed_minor = r.invoiced_completed_minor + excluded.invoiced_completed_minor,
      invoiced_cancelled_minor = r.invoiced_cancelled_minor + excluded.invoiced_cancelled_minor,
      invoiced_archived_minor = r.invoiced_archived_minor + excluded.invoiced_archived_minor,
      crew_cost_minor = r.crew_cost_minor + excluded.crew_cost_minor,
      tasks_open_due = r.tasks_open_due + excluded.tasks_open_due,
      assets_started = r.assets_started + excluded.assets_started,
      assets_ended = r.assets_ended + excluded.assets_ended;
  delete from private.rollup_subtree z
   where z.org_id = p_org_id and z.node_id = any (p_targets)
     and (z.tasks_draft, z.tasks_planning, z.tasks_active, z.tasks_review, z.tasks_completed, z.tasks_cancelled, z.tasks_archived, z.schedule_items, z.schedule_conflicts, z.crew_headcount, z.budget_planned_minor, z.invoiced_draft_minor, z.invoiced_active_minor, z.invoiced_review_minor, z.invoiced_completed_minor, z.invoiced_cancelled_minor, z.invoiced_archived_minor, z.crew_cost_minor, z.tasks_open_due, z.assets_started, z.assets_ended)
         = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
end
$$;

-- Folds up to `p_limit` committed deltas of one organization into the own
-- and subtree totals, in one transaction; returns how many. Another fold
-- of the organization, or a move, delete or restore in it, in progress:
-- returns 0 at once (the next call takes its turn). Writers are never
-- waited for: uncommitted deltas are invisible, locked ones skipped. A
-- delta of a deleted node goes to its own total only (a restore brings it
-- back); deltas of nodes deleted for good go.
create function private.rollup_fold(p_org_id uuid, p_limit integer) returns integer
language plpgsql security definer
set search_path = ''
as $$
declare
  folded integer;
  touched uuid[];
begin
  if not pg_catalog.pg_try_advisory_xact_lock(1919707244, private.rollup_lock_key(p_org_id)) then
    return 0;
  end if;
  with taken as (
    delete from private.rollup_deltas d
     where d.org_id = p_org_id
       and (d.node_id, d.id) in (
         select x.node_id, x.id from private.rollup_deltas x
          where x.org_id = p_org_id
          limit greatest(p_limit, 1)
            for update skip locked)
    returning d.*
  ), summed as (
    select t.node_id, t.currency, t.week,
           sum(t.tasks_draft)::bigint as tasks_draft,
           sum(t.tasks_planning)::bigint as tasks_planning,
           sum(t.tasks_active)::bigint as tasks_active,
           sum(t.tasks_review)::bigint as tasks_review,
           sum(t.tasks_completed)::bigint as tasks_completed,
           sum(t.tasks_cancelled)::bigint as tasks_cancelled,
           sum(t.tasks_archived)::bigint as tasks_archived,
           sum(t.schedule_items)::bigint as schedule_items,
           sum(t.schedule_conflicts)::bigint as schedule_conflicts,
           sum(t.crew_headcount)::bigint as crew_headcount,
           sum(t.budget_planned_minor)::bigint as budget_planned_minor,
           sum(t.invoiced_draft_minor)::bigint as invoiced_draft_minor,
           sum(t.invoiced_active_minor)::bigint as invoiced_active_minor,
           sum(t.invoiced_review_minor)::bigint as invoiced_review_minor,
           sum(t.invoiced_completed_minor)::bigint as invoiced_completed_minor,
           sum(t.invoiced_cancelled_minor)::bigint as invoiced_cancelled_minor,
           sum(t.invoiced_archived_minor)::bigint as invoiced_archived_minor,
           sum(t.crew_cost_minor)::bigint as crew_cost_minor,
           sum(t.tasks_open_due)::bigint as tasks_open_due,
           sum(t.assets_started)::bigint as assets_started,
           sum(t.assets_ended)::bigint as assets_ended
      from taken t
     group by t.node_id, t.currency, t.week
  ), placed as (
    -- the node's path when it is live (the subtrees it is in), else nothing
    select s.*, n.deleted_at is null as live, n.ancestors || n.id as path
      from summed s
      join showtree.nodes n on n.org_id = p_org_id and n.id = s.node_id
  ), own as (
    insert into private.rollup_own as r (org_id, node_id, currency, week, tasks_draft, tasks_planning, tasks_active, tasks_review, tasks_completed, tasks_cancelled, tasks_archived, schedule_items, schedule_conflicts, crew_headcount, budget_planned_minor, invoiced_draft_minor, invoiced_active_minor, invoiced_review_minor, invoiced_completed_minor, invoiced_cancelled_minor, invoiced_archived_minor, crew_cost_minor, tasks_open_due, assets_started, assets_ended)
    select p_org_id, p.node_id, p.currency, p.week, p.tasks_draft, p.tasks_planning, p.tasks_active, p.tasks_review, p.tasks_completed, p.tasks_cancelled, p.tasks_archived, p.schedule_items, p.schedule_conflicts, p.crew_headcount, p.budget_planned_minor, p.invoiced_draft_minor, p.invoiced_active_minor, p.invoiced_review_minor, p.invoiced_completed_minor, p.invoiced_cancelled_minor, p.invoiced_archived_minor, p.crew_cost_minor, p.tasks_open_due, p.assets_started, p.assets_ended
      from placed p
     -- one order for every writer of these rows: locks are taken alike
     order by p.node_id, p.currency, p.week
    on conflict (org_id, node_id, currency, week) do update set
      tasks_draft = r.tasks_draft + excluded.tasks_draft,
      tasks_planning = r.tasks_planning + excluded.tasks_planning,
      tasks_active = r.tasks_active + excluded.tasks_active,
      tasks_review = r.tasks_review + excluded.tasks_review,
      tasks_completed = r.tasks_completed + excluded.tasks_completed,
      tasks_cancelled = r.tasks_cancelled + excluded.tasks_cancelled,
      tasks_archived = r.tasks_archived + excluded.tasks_archived,
      schedule_items = r.schedule_items + excluded.schedule_items,
      schedule_conflicts = r.schedule_conflicts + excluded.schedule_conflicts,
      crew_headcount = r.crew_headcount + excluded.crew_headcount,
      budget_planned_minor = r.budget_planned_minor + excluded.budget_planned_minor,
      invoiced_draft_minor = r.invoiced_draft_minor + excluded.invoiced_draft_minor,
      invoiced_active_minor = r.invoiced_active_minor + excluded.invoiced_active_minor,
      invoiced_review_minor = r.invoiced_review_minor + excluded.invoiced_review_minor,
      invoiced_completed_minor = r.invoiced_completed_minor + excluded.invoiced_completed_minor,
      invoiced_cancelled_minor = r.invoiced_cancelled_minor + excluded.invoiced_cancelled_minor,
      invoiced_archived_minor = r.invoiced_archived_minor + excluded.invoiced_archived_minor,
      crew_cost_minor = r.crew_cost_minor + excluded.crew_cost_minor,
      tasks_open_due = r.tasks_open_due + excluded.tasks_open_due,
      assets_started = r.assets_started + excluded.assets_started,
      assets_ended = r.assets_ended + excluded.assets_ended
    returning r.node_id
  ), subtree as (
    insert into private.rollup_subtree as r (org_id, node_id, currency, week, tasks_draft, tasks_planning, tasks_active, tasks_review, tasks_completed, tasks_cancelled, tasks_archived, schedule_items, schedule_conflicts, crew_headcount, budget_planned_minor, invoiced_draft_minor, invoiced_active_minor, invoiced_review_minor, invoiced_completed_minor, invoiced_cancelled_minor, invoiced_archived_minor, crew_cost_minor, tasks_open_due, assets_started, assets_ended)
    select p_org_id, a.node_id, p.currency, p.week,
           sum(p.tasks_draft)::bigint as tasks_draft,
           sum(p.tasks_planning)::bigint as tasks_planning,
           sum(p.tasks_active)::bigint as tasks_active,
           sum(p.tasks_review)::bigint as tasks_review,
           sum(p.tasks_completed)::bigint as tasks_completed,
           sum(p.tasks_cancelled)::bigint as tasks_cancelled,
           sum(p.tasks_archived)::bigint as tasks_archived,
           sum(p.schedule_items)::bigint as schedule_items,
           sum(p.schedule_conflicts)::bigint as schedule_conflicts,
           sum(p.crew_headcount)::bigint as crew_headcount,
           sum(p.budget_planned_minor)::bigint as budget_planned_minor,
           sum(p.invoiced_draft_minor)::bigint as invoiced_draft_minor,
           sum(p.invoiced_active_minor)::bigint as invoiced_active_minor,
           sum(p.invoiced_review_minor)::bigint as invoiced_review_minor,
           sum(p.invoiced_completed_minor)::bigint as invoiced_completed_minor,
           sum(p.invoiced_cancelled_minor)::bigint as invoiced_cancelled_minor,
           sum(p.invoiced_archived_minor)::bigint as invoiced_archived_minor,
           sum(p.crew_cost_minor)::bigint as crew_cost_minor,
           sum(p.tasks_open_due)::bigint as tasks_open_due,
           sum(p.assets_started)::bigint as assets_started,
           sum(p.assets_ended)::bigint as assets_ended
      from placed p
     cross join unnest(p.path) as a(node_id)
     where p.live
     group by a.node_id, p.currency, p.week
     order by a.node_id, p.currency, p.week
    on conflict (org_id, node_id, currency, week) do update set
      tasks_draft = r.tasks_draft + excluded.tasks_draft,
      tasks_planning = r.tasks_planning + excluded.tasks_planning,
      tasks_active = r.tasks_active + excluded.tasks_active,
      tasks_review = r.tasks_review + excluded.tasks_review,
      tasks_completed = r.tasks_completed + excluded.tasks_completed,
      tasks_cancelled = r.tasks_cancelled + excluded.tasks_cancelled,
      tasks_archived = r.tasks_archived + excluded.tasks_archived,
      schedule_items = r.schedule_items + excluded.schedule_items,
      schedule_conflicts = r.schedule_conflicts + excluded.schedule_conflicts,
      crew_headcount = r.crew_headcount + excluded.crew_headcount,
      budget_planned_minor = r.budget_planned_minor + excluded.budget_planned_minor,
      invoiced_draft_minor = r.invoiced_draft_minor + excluded.invoiced_draft_minor,
      invoiced_active_minor = r.invoiced_active_minor + excluded.invoiced_active_minor,
      invoiced_review_minor = r.invoiced_review_minor + excluded.invoiced_review_minor,
      invoiced_completed_minor = r.invoiced_completed_minor + excluded.invoiced_completed_minor,
      invoiced_cancelled_minor = r.invoiced_cancelled_minor + excluded.invoiced_cancelled_minor,
      invoiced_archived_minor = r.invoiced_archived_minor + excluded.invoiced_archived_minor,
      crew_cost_minor = r.crew_cost_minor + excluded.crew_cost_minor,
      tasks_open_due = r.tasks_open_due + excluded.tasks_open_due,
      assets_started = r.assets_started + excluded.assets_started,
      assets_ended = r.assets_ended + excluded.assets_ended
    returning r.node_id
  )
  select (select count(*)::integer from taken),
         array(select node_id from own union select node_id from subtree)
    into folded, touched;
  -- rows that came to all zeros (a currency no longer used) go; this
  -- transaction holds their row locks, so they are still zero
  delete from private.rollup_own z
   where z.org_id = p_org_id and z.node_id = any (touched)
     and (z.tasks_draft, z.tasks_planning, z.tasks_active, z.tasks_review, z.tasks_completed, z.tasks_cancelled, z.tasks_archived, z.schedule_items, z.schedule_conflicts, z.crew_headcount, z.budget_planned_minor, z.invoiced_draft_minor, z.invoiced_active_minor, z.invoiced_review_minor, z.invoiced_completed_minor, z.invoiced_cancelled_minor, z.invoiced_archived_minor, z.crew_cost_minor, z.tasks_open_due, z.assets_started, z.assets_ended)
         = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
  delete from private.rollup_subtree z
   where z.org_id = p_org_id and z.node_id = any (touched)
     and (z.tasks_draft, z.tasks_planning, z.tasks_active, z.tasks_review, z.tasks_completed, z.tasks_cancelled, z.tasks_archived, z.schedule_items, z.schedule_conflicts, z.crew_headcount, z.budget_planned_minor, z.invoiced_draft_minor, z.invoiced_active_minor, z.invoiced_review_minor, z.invoiced_completed_minor, z.invoiced_cancelled_minor, z.invoiced_archived_minor, z.crew_cost_minor, z.tasks_open_due, z.assets_started, z.assets_ended)
         = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
  return folded;
end
$$;

-- A move, soft delete or restore of a subtree: its total leaves the old
-- ancestors and joins the new ones; a deleted subtree keeps no subtree
-- totals (its own totals stay, for the restore, which recomputes them).
-- Runs once, for the node the statement changed (the tree's own triggers
-- carry the change to its descendants first), after any running fold of
-- the organization: no fold runs until this transaction ends.
create function private.rollup_nodes_changed() returns trigger
language plpgsql security definer
set search_path = ''
as $$
declare
  lo uuid[] := new.ancestors || new.id;
  hi uuid[] := new.ancestors || new.id || 'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid;
begin
  if pg_catalog.pg_trigger_depth() > 1 then
    return null;
  end if;
  perform pg_catalog.pg_advisory_xact_lock(1919707244, private.rollup_lock_key(new.org_id));
  if old.deleted_at is null then
    perform private.rollup_shift(old.org_id, old.id, old.ancestors, -1);
  end if;
  if new.deleted_at is not null or old.deleted_at is not null then
    delete from private.rollup_subtree s
     using showtree.nodes d
     where s.org_id = new.org_id and d.org_id = new.org_id and d.id = s.node_id
       and (d.ancestors || d.id) >= lo and (d.ancestors || d.id) < hi;
  end if;
  if new.deleted_at is null and old.deleted_at is not null then
    -- restored: every live node of the subtree sums the own totals below it
    insert into private.rollup_subtree (org_id, node_id, currency, week, tasks_draft, tasks_planning, tasks_active, tasks_review, tasks_completed, tasks_cancelled, tasks_archived, schedule_items, schedule_conflicts, crew_headcount, budget_planned_minor, invoiced_draft_minor, invoiced_active_minor, invoiced_review_minor, invoiced_completed_minor, invoiced_cancelled_minor, invoiced_archived_minor, crew_cost_minor, tasks_open_due, assets_started, assets_ended)
    select new.org_id, a.node_id, o.currency, o.week,
           sum(o.tasks_draft)::bigint as tasks_draft,
           sum(o.tasks_planning)::bigint as tasks_planning,
           sum(o.tasks_active)::bigint as tasks_active,
           sum(o.tasks_review)::bigint as tasks_review,
           sum(o.tasks_completed)::bigint as tasks_completed,
           sum(o.tasks_cancelled)::bigint as tasks_cancelled,
           sum(o.tasks_archived)::bigint as tasks_archived,
           sum(o.schedule_items)::bigint as schedule_items,
           sum(o.schedule_conflicts)::bigint as schedule_conflicts,
           sum(o.crew_headcount)::bigint as crew_headcount,
           sum(o.budget_planned_minor)::bigint as budget_planned_minor,
           sum(o.invoiced_draft_minor)::bigint as invoiced_draft_minor,
           sum(o.invoiced_active_minor)::bigint as invoiced_active_minor,
           sum(o.invoiced_review_minor)::bigint as invoiced_review_minor,
           sum(o.invoiced_completed_minor)::bigint as invoiced_completed_minor,
           sum(o.invoiced_cancelled_minor)::bigint as invoiced_cancelled_minor,
           sum(o.invoiced_archived_minor)::bigint as invoiced_archived_minor,
           sum(o.crew_cost_minor)::bigint as crew_cost_minor,
           sum(o.tasks_open_due)::bigint as tasks_open_due,
           sum(o.assets_started)::bigint as assets_started,
           sum(o.assets_ended)::bigint as assets_ended
      from showtree.nodes e
      join private.rollup_own o on o.org_id = e.org_id and o.node_id = e.id
     cross join unnest((e.ancestors || e.id)[cardinality(new.ancestors) + 1:]) as a(node_id)
     where e.org_id = new.org_id and e.deleted_at is null
       and (e.ancestors || e.id) >= lo and (e.ancestors || e.id) < hi
     group by a.node_id, o.currency, o.week;
  end if;
  if new.deleted_at is null then
    perform private.rollup_shift(new.org_id, new.id, new.ancestors, 1);
  end if;
  return null;
end
$$;
create trigger nodes_rollup_changed after update on showtree.nodes
  for each row
  when (old.parent_id is distinct from new.parent_id
        or (old.deleted_at is null) <> (new.deleted_at is null))
  execute function private.rollup_nodes_changed();

-- A live node deleted for good (not through the cascade of its parent,
-- whose own deletion took the whole subtree away): its subtree leaves its
-- ancestors. Its totals go with it (foreign keys).
create function private.rollup_nodes_purged() returns trigger
language plpgsql security definer
set search_path = ''
as $$
begin
  if old.deleted_at is null and old.parent_id is not null
     and exists (select from showtree.nodes p where p.org_id = old.org_id and p.id = old.parent_id) then
    perform pg_catalog.pg_advisory_xact_lock(1919707244, private.rollup_lock_key(old.org_id));
    perform private.rollup_shift(old.org_id, old.id, old.ancestors, -1);
  end if;
  return old;
end
$$;
create trigger nodes_rollup_purged before delete on showtree.nodes
  for each row execute function private.rollup_nodes_purged();

-- Folds every organization with pending deltas, up to `p_limit` deltas in
-- all (the background folder of `showtree serve`).
create function private.rollup_fold_all(p_limit integer) returns integer
language plpgsql security definer
set search_path = ''
as $$
declare
  o uuid;
  total integer := 0;
begin
  -- the organizations with deltas, one index probe each (a loose scan)
  for o in
    with recursive orgs as (
      select (select d.org_id from private.rollup_deltas d order by d.org_id limit 1) as id
      union all
      select (select d.org_id from private.rollup_deltas d where d.org_id > orgs.id
               order by d.org_id limit 1)
        from orgs where orgs.id is not null)
    select orgs.id from orgs where orgs.id is not null
  loop
    total := total + private.rollup_fold(o, p_limit - total);
    exit when total >= p_limit;
  end loop;
  return total;
end
$$;

-- ------------------------------------------------------------ reading
-- The figures of a live node's subtree as stored, with no access applied
-- (the owner's: `showtree report`, tests, and private.rollup below): one
-- row per bucket and currency, where the bucket is the node itself (its
-- own rows) or the child whose subtree the row comes from. The node's own
-- total and its children's subtree totals, plus the deltas not folded yet
-- of the subtree's live nodes; overdue tasks and assets assigned at now()
-- from the weeks before this one, plus this week's from their indexes. Every part is an index lookup or an
-- organization-wide index range whatever the node, so one generic plan
-- serves all (planning this query costs more than running it); no JIT.
create function private.rollup_raw(p_org_id uuid, p_node_id uuid)
returns table (
  bucket uuid, currency char(3),
  tasks_draft bigint, tasks_planning bigint, tasks_active bigint, tasks_review bigint,
  tasks_completed bigint, tasks_cancelled bigint, tasks_archived bigint,
  schedule_items bigint, schedule_conflicts bigint, crew_headcount bigint,
  budget_planned_minor bigint, invoiced_draft_minor bigint, invoiced_active_minor bigint,
  invoiced_review_minor bigint, invoiced_completed_minor bigint, invoiced_cancelled_minor bigint,
  invoiced_archived_minor bigint, crew_cost_minor bigint,
  tasks_overdue bigint, assets_now bigint, pending bigint)
language plpgsql stable security definer
set search_path = ''
set plan_cache_mode = force_generic_plan
set jit = off
as $$
declare
  lo uuid[];
  hi uuid[];
  child integer;
  -- the current week of dated figures (UTC), as a key and as an instant
  this_week date := private.rollup_week(now());
  since timestamptz := this_week::timestamp at time zone 'UTC';
begin
  select n.ancestors || n.id, n.ancestors || n.id || 'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid,
         n.depth + 2
    into lo, hi, child
    from showtree.nodes n
   where n.org_id = p_org_id and n.id = p_node_id and n.deleted_at is null;
  if not found then
    return;
  end if;
  return query
  with stored as (
    select p_node_id as bucket, o.currency, o.week, o.tasks_draft, o.tasks_planning, o.tasks_active, o.tasks_review, o.tasks_completed, o.tasks_cancelled, o.tasks_archived, o.schedule_items, o.schedule_conflicts, o.crew_headcount, o.budget_planned_minor, o.invoiced_draft_minor, o.invoiced_active_minor, o.invoiced_review_minor, o.invoiced_completed_minor, o.invoiced_cancelled_minor, o.invoiced_archived_minor, o.crew_cost_minor, o.tasks_open_due, o.assets_started, o.assets_ended, 0 as pending
      from private.rollup_own o
     where o.org_id = p_org_id and o.node_id = p_node_id
    union all
    select s.node_id, s.currency, s.week, s.tasks_draft, s.tasks_planning, s.tasks_active, s.tasks_review, s.tasks_completed, s.tasks_cancelled, s.tasks_archived, s.schedule_items, s.schedule_conflicts, s.crew_headcount, s.budget_planned_minor, s.invoiced_draft_minor, s.invoiced_active_minor, s.invoiced_review_minor, s.invoiced_completed_minor, s.invoiced_cancelled_minor, s.invoiced_archived_minor, s.crew_cost_minor, s.tasks_open_due, s.assets_started, s.assets_ended, 0
      from showtree.nodes c
      join private.rollup_subtree s on s.org_id = c.org_id and s.node_id = c.id
     where c.org_id = p_org_id and c.parent_id = p_node_id and c.deleted_at is null
    union all
    -- committed deltas not folded yet, of live nodes in the subtree
    select coalesce(n.path[child], p_node_id), d.currency, d.week, d.tasks_draft, d.tasks_planning, d.tasks_active, d.tasks_review, d.tasks_completed, d.tasks_cancelled, d.tasks_archived, d.schedule_items, d.schedule_conflicts, d.crew_headcount, d.budget_planned_minor, d.invoiced_draft_minor, d.invoiced_active_minor, d.invoiced_review_minor, d.invoiced_completed_minor, d.invoiced_cancelled_minor, d.invoiced_archived_minor, d.crew_cost_minor, d.tasks_open_due, d.assets_started, d.assets_ended, 1
      from private.rollup_deltas d
     cross join lateral (
       select x.ancestors || x.id as path from showtree.nodes x
        where x.org_id = p_org_id and x.id = d.node_id and x.deleted_at is null
       offset 0) n
     where d.org_id = p_org_id and n.path >= lo and n.path < hi
  ), summed as (
    -- dated figures of the weeks before this one; the rest as they are
    select s.bucket, s.currency,
           sum(s.tasks_draft)::bigint as tasks_draft,
           sum(s.tasks_planning)::bigint as tasks_planning,
           sum(s.tasks_active)::bigint as tasks_active,
           sum(s.tasks_review)::bigint as tasks_review,
           sum(s.tasks_completed)::bigint as tasks_completed,
           sum(s.tasks_cancelled)::bigint as tasks_cancelled,
           sum(s.tasks_archived)::bigint as tasks_archived,
           sum(s.schedule_items)::bigint as schedule_items,
           sum(s.schedule_conflicts)::bigint as schedule_conflicts,
           sum(s.crew_headcount)::bigint as crew_headcount,
           sum(s.budget_planned_minor)::bigint as budget_planned_minor,
           sum(s.invoiced_draft_minor)::bigint as invoiced_draft_minor,
           sum(s.invoiced_active_minor)::bigint as invoiced_active_minor,
           sum(s.invoiced_review_minor)::bigint as invoiced_review_minor,
           sum(s.invoiced_completed_minor)::bigint as invoiced_completed_minor,
           sum(s.invoiced_cancelled_minor)::bigint as invoiced_cancelled_minor,
           sum(s.invoiced_archived_minor)::bigint as invoiced_archived_minor,
           sum(s.crew_cost_minor)::bigint as crew_cost_minor,
           coalesce(sum(s.tasks_open_due) filter (where s.week < this_week), 0)::bigint as overdue,
           coalesce(sum(s.assets_started - s.assets_ended) filter (where s.week < this_week), 0)::bigint
             as assets,
           sum(s.pending)::bigint as pending
      from stored s
     group by s.bucket, s.currency
  ), recent as (
    -- this week up to now(), from the base tables: open tasks that fell
    -- due, assignments that started or ended
    select t.node_id, 1 as overdue, 0 as assets
      from showtree.tasks t
     where t.org_id = p_org_id and t.deleted_at is null and t.due_at is not null
       and t.status in ('draft', 'planning', 'active', 'review')
       and t.due_at >= since and t.due_at < now()
    union all
    select a.node_id, 0, 1
      from showtree.asset_assignments a
     where a.org_id = p_org_id and a.deleted_at is null
       and a.starts_at >= since and a.starts_at <= now()
       and exists (select from showtree.assets x
                    where x.org_id = a.org_id and x.id = a.asset_id and x.deleted_at is null)
    union all
    select a.node_id, 0, -1
      from showtree.asset_assignments a
     where a.org_id = p_org_id and a.deleted_at is null
       and a.ends_at >= since and a.ends_at <= now()
       and exists (select from showtree.assets x
                    where x.org_id = a.org_id and x.id = a.asset_id and x.deleted_at is null)
  ), clock as (
    -- each of the few rows looks its node up (offset 0 keeps it a lookup:
    -- joined, the generic plan may hash the whole subtree)
    select coalesce(n.path[child], p_node_id) as bucket,
           sum(r.overdue)::bigint as overdue, sum(r.assets)::bigint as assets
      from recent r
     cross join lateral (
       select x.ancestors || x.id as path from showtree.nodes x
        where x.org_id = p_org_id and x.id = r.node_id and x.deleted_at is null
       offset 0) n
     where n.path >= lo and n.path < hi
     group by 1
  ), counts as (
    select s.bucket from summed s where s.currency = 'XXX'
    union
    select c.bucket from clock c
  )
  select s.bucket, s.currency, s.tasks_draft, s.tasks_planning, s.tasks_active, s.tasks_review, s.tasks_completed, s.tasks_cancelled, s.tasks_archived, s.schedule_items, s.schedule_conflicts, s.crew_headcount, s.budget_planned_minor, s.invoiced_draft_minor, s.invoiced_active_minor, s.invoiced_review_minor, s.invoiced_completed_minor, s.invoiced_cancelled_minor, s.invoiced_archived_minor, s.crew_cost_minor,
         0::bigint, 0::bigint, s.pending
    from summed s
   where s.currency <> 'XXX'
  union all
  select k.bucket, 'XXX'::char(3), coalesce(s.tasks_draft, 0), coalesce(s.tasks_planning, 0), coalesce(s.tasks_active, 0), coalesce(s.tasks_review, 0), coalesce(s.tasks_completed, 0), coalesce(s.tasks_cancelled, 0), coalesce(s.tasks_archived, 0), coalesce(s.schedule_items, 0), coalesce(s.schedule_conflicts, 0), coalesce(s.crew_headcount, 0),
         0::bigint, 0::bigint, 0::bigint, 0::bigint, 0::bigint, 0::bigint, 0::bigint, 0::bigint,
         coalesce(s.overdue, 0) + coalesce(c.overdue, 0), coalesce(s.assets, 0) + coalesce(c.assets, 0),
         coalesce(s.pending, 0)
    from counts k
    left join summed s on s.bucket = k.bucket and s.currency = 'XXX'
    left join clock c on c.bucket = k.bucket;
end
$$;

-- ---------------------------------------------------------- fx rates
-- Dated rates to the organization's base currency: `rate` units of the
-- base currency buy one unit of `currency` on `rate_date` (and after, until
-- the next rate). Reference data of the organization, like vendors.
create table showtree.fx_rates (
  org_id uuid not null,
  id uuid not null default private.uuid_generate_v7(),
  -- org-level reference data: owned by the organization's root node
  node_id uuid not null,
  currency char(3) not null,
  rate_date date not null,
  rate numeric(24, 12) not null,
  metadata jsonb not null default '{}',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  deleted_at timestamptz,
  created_by uuid,
  updated_by uuid,
  deleted_by uuid,
  constraint fx_rates_pkey primary key (org_id, id),
  constraint fx_rates_node_fkey foreign key (org_id, node_id)
    references showtree.nodes (org_id, id) on delete cascade,
  constraint fx_rates_created_by_fkey foreign key (created_by)
    references auth.users (id) on delete set null,
  constraint fx_rates_updated_by_fkey foreign key (updated_by)
    references auth.users (id) on delete set null,
  constraint fx_rates_deleted_by_fkey foreign key (deleted_by)
    references auth.users (id) on delete set null,
  constraint fx_rates_node_org_check check (node_id = org_id),
  constraint fx_rates_currency_check check (private.currency_minor_unit(currency) is not null),
  constraint fx_rates_rate_check check (rate > 0),
  constraint fx_rates_metadata_check check (jsonb_typeof(metadata) = 'object')
);
comment on table showtree.fx_rates is
  'rate units of the organization''s base currency per unit of currency, from rate_date on';
-- one live rate per currency and day; the latest on or before a day is
-- one backward step of this index
create unique index fx_rates_currency_date_key on showtree.fx_rates (org_id, currency, rate_date)
  where deleted_at is null;
create index fx_rates_node_id_idx on showtree.fx_rates (org_id, node_id);
create unique index fx_rates_id_key on showtree.fx_rates (id);
create index fx_rates_created_by_idx on showtree.fx_rates (created_by);
create index fx_rates_updated_by_idx on showtree.fx_rates (updated_by);
create index fx_rates_deleted_by_idx on showtree.fx_rates (deleted_by);
create trigger fx_rates_set_updated_at before update on showtree.fx_rates
  for each row execute function private.set_updated_at();
create trigger fx_rates_set_actor before insert or update on showtree.fx_rates
  for each row execute function private.set_actor();
create trigger fx_rates_audit after insert or update or delete on showtree.fx_rates
  for each row execute function private.audit_row('', '', '');
alter table showtree.fx_rates enable row level security;
alter table showtree.fx_rates force row level security;
-- read by every member of the organization, written with finance (vendors' rules)
do $migration$
begin
  execute format('create policy fx_rates_select on showtree.fx_rates for select to authenticated using (%s)',
                 private.policy_member('fx_rates', 'read'));
  execute format('create policy fx_rates_insert on showtree.fx_rates for insert to authenticated with check (%s)',
                 private.policy_member('fx_rates', 'finance'));
  execute format('create policy fx_rates_update on showtree.fx_rates for update to authenticated using (%s) with check (%s)',
                 private.policy_member('fx_rates', 'finance'), private.policy_member('fx_rates', 'finance'));
end
$migration$;
grant select, insert, update on showtree.fx_rates to authenticated;

-- `p_amount` minor units of `p_currency` in minor units of `p_base` at
-- `p_rate` (base per unit), rounded half away from zero; null without a
-- rate (zero is zero in any currency).
create function private.fx_convert_minor(
  p_amount bigint, p_currency char(3), p_base char(3), p_rate numeric)
returns bigint
language sql immutable parallel safe
as $$
  select case
    when p_currency = p_base or p_amount = 0 then p_amount
    else round(p_amount * p_rate * power(10::numeric,
           private.currency_minor_unit(p_base) - private.currency_minor_unit(p_currency)))::bigint
  end
$$;

-- The latest live rate of `p_currency` on or before `p_on` (null: none).
create function private.fx_rate(p_org_id uuid, p_currency char(3), p_on date)
returns numeric
language sql stable
set search_path = ''
as $$
  select f.rate from showtree.fx_rates f
   where f.org_id = p_org_id and f.currency = p_currency and f.rate_date <= p_on
     and f.deleted_at is null
   order by f.rate_date desc
   limit 1
$$;

-- Invoiced amounts of a live subtree in the base currency, each invoice at
-- the rate of its issue date (only invoices in other currencies; those in
-- the base currency are their own figures): per bucket (as rollup_raw) and
-- currency, and how many invoices had no rate.
create function private.rollup_fx(p_org_id uuid, p_node_id uuid, p_base char(3))
returns table (
  bucket uuid, currency char(3),
  base_invoiced_draft_minor bigint, base_invoiced_active_minor bigint,
  base_invoiced_review_minor bigint, base_invoiced_completed_minor bigint,
  base_invoiced_cancelled_minor bigint, base_invoiced_archived_minor bigint,
  unrated bigint)
language plpgsql stable security definer
set search_path = ''
set plan_cache_mode = force_custom_plan
set jit = off
as $$
declare
  lo uuid[];
  hi uuid[];
  child integer;
begin
  select n.ancestors || n.id, n.ancestors || n.id || 'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid,
         n.depth + 2
    into lo, hi, child
    from showtree.nodes n
   where n.org_id = p_org_id and n.id = p_node_id and n.deleted_at is null;
  if not found then
    return;
  end if;
  return query
  with sub as materialized (
    select s.id, coalesce((s.ancestors || s.id)[child], p_node_id) as bucket
      from showtree.nodes s
     where s.org_id = p_org_id and (s.ancestors || s.id) >= lo and (s.ancestors || s.id) < hi
       and s.deleted_at is null
  ), inv as (
    select sub.bucket, i.currency, i.status, tot.total,
           (select f.rate from showtree.fx_rates f
             where f.org_id = p_org_id and f.currency = i.currency and f.rate_date <= i.issued_on
               and f.deleted_at is null
             order by f.rate_date desc limit 1) as rate
      from sub
      join showtree.invoices i on i.org_id = p_org_id and i.node_id = sub.id
      cross join lateral (
        select coalesce(sum(round(l.quantity * l.unit_amount_minor)), 0)::bigint as total
          from showtree.invoice_lines l
         where l.org_id = p_org_id and l.invoice_id = i.id and l.deleted_at is null) tot
     where i.deleted_at is null and i.currency <> p_base and tot.total <> 0
  ), conv as (
    select v.bucket, v.currency, v.status, v.rate,
           private.fx_convert_minor(v.total, v.currency, p_base, v.rate) as base
      from inv v
  )
  select c.bucket, c.currency,
         coalesce(sum(c.base) filter (where c.status = 'draft'), 0)::bigint,
         coalesce(sum(c.base) filter (where c.status = 'active'), 0)::bigint,
         coalesce(sum(c.base) filter (where c.status = 'review'), 0)::bigint,
         coalesce(sum(c.base) filter (where c.status = 'completed'), 0)::bigint,
         coalesce(sum(c.base) filter (where c.status = 'cancelled'), 0)::bigint,
         coalesce(sum(c.base) filter (where c.status = 'archived'), 0)::bigint,
         count(*) filter (where c.rate is null)
    from conv c
   group by c.bucket, c.currency;
end
$$;

-- The roll-up a caller may see (the API's): private.rollup_raw's figures
-- regrouped into the buckets shown, under the caller's access, computed
-- once per call from the per-transaction access sets:
--  * `total` (the whole live subtree), `own` (the node's own rows), one
--    `child` per child the caller can read, and one `restricted` bucket
--    summing every child it cannot (present when there is one);
--  * money (currency rows, amounts) only where the caller has the finance
--    capability: at the node for total, own and restricted, at the child
--    for a child; elsewhere only the 'XXX' row of counts, money null;
--  * nothing at all when the caller cannot read the node.
-- With p_convert, money rows also carry base-currency figures: invoices at
-- the rate of their issue date (private.rollup_fx), budget and crew cost at
-- today's rate; null where a rate is missing.
create function private.rollup(p_org_id uuid, p_node_id uuid, p_convert boolean)
returns table (
  kind text, child_id uuid, currency char(3), money_visible boolean,
  tasks_draft bigint, tasks_planning bigint, tasks_active bigint, tasks_review bigint, tasks_completed bigint, tasks_cancelled bigint, tasks_archived bigint, schedule_items bigint, schedule_conflicts bigint, crew_headcount bigint, budget_planned_minor bigint, invoiced_draft_minor bigint, invoiced_active_minor bigint, invoiced_review_minor bigint, invoiced_completed_minor bigint, invoiced_cancelled_minor bigint, invoiced_archived_minor bigint, crew_cost_minor bigint, tasks_overdue bigint, assets_now bigint, pending bigint,
  base_currency char(3), base_budget_planned_minor bigint, base_invoiced_draft_minor bigint, base_invoiced_active_minor bigint, base_invoiced_review_minor bigint, base_invoiced_completed_minor bigint, base_invoiced_cancelled_minor bigint, base_invoiced_archived_minor bigint, base_crew_cost_minor bigint)
language plpgsql stable security definer
set search_path = ''
set plan_cache_mode = force_generic_plan
set jit = off
as $$
declare
  node_path uuid[];
  is_admin boolean;
  roots_read uuid[];
  roots_finance uuid[];
  restricted_set uuid[];
  node_finance boolean;
  base char(3);
begin
  select n.ancestors || n.id into node_path
    from showtree.nodes n
   where n.org_id = p_org_id and n.id = p_node_id and n.deleted_at is null;
  if not found then
    return;
  end if;
  is_admin := p_org_id = any (private.admin_orgs());
  roots_read := private.access_roots('read');
  roots_finance := private.access_roots('finance');
  restricted_set := private.restricted_nodes();
  if not (is_admin or private.path_allows(node_path, roots_read, restricted_set)) then
    return;
  end if;
  node_finance := is_admin or private.path_allows(node_path, roots_finance, restricted_set);
  if p_convert then
    select o.base_currency into base
      from showtree.organizations o
     where o.org_id = p_org_id and o.node_id = p_org_id;
  end if;
  return query
  with raw as materialized (
    select * from private.rollup_raw(p_org_id, p_node_id)
  ), kids as materialized (
    select c.id,
           is_admin or private.path_allows(node_path || c.id, roots_read, restricted_set) as readable,
           is_admin or private.path_allows(node_path || c.id, roots_finance, restricted_set) as finance
      from showtree.nodes c
     where c.org_id = p_org_id and c.parent_id = p_node_id and c.deleted_at is null
  ), shown as (
    select 'total'::text as kind, null::uuid as child_id, node_finance as money
    union all
    select 'own', null, node_finance
    union all
    select 'child', k.id, k.finance from kids k where k.readable
    union all
    select 'restricted', null, node_finance where exists (select from kids k where not k.readable)
  ), placed as (
    -- each raw row counts in the total and in exactly one other bucket
    select r.*, b.kind, b.child_id
      from raw r
      left join kids k on k.id = r.bucket
     cross join lateral (values
       ('total'::text, null::uuid),
       (case when r.bucket = p_node_id then 'own' when k.readable then 'child' else 'restricted' end,
        case when r.bucket <> p_node_id and k.readable then r.bucket end)) b(kind, child_id)
  ), grouped as (
    select p.kind, p.child_id, p.currency,
           sum(p.tasks_draft)::bigint as tasks_draft,
           sum(p.tasks_planning)::bigint as tasks_planning,
           sum(p.tasks_active)::bigint as tasks_active,
           sum(p.tasks_review)::bigint as tasks_review,
           sum(p.tasks_completed)::bigint as tasks_completed,
           sum(p.tasks_cancelled)::bigint as tasks_cancelled,
           sum(p.tasks_archived)::bigint as tasks_archived,
           sum(p.schedule_items)::bigint as schedule_items,
           sum(p.schedule_conflicts)::bigint as schedule_conflicts,
           sum(p.crew_headcount)::bigint as crew_headcount,
           sum(p.budget_planned_minor)::bigint as budget_planned_minor,
           sum(p.invoiced_draft_minor)::bigint as invoiced_draft_minor,
           sum(p.invoiced_active_minor)::bigint as invoiced_active_minor,
           sum(p.invoiced_review_minor)::bigint as invoiced_review_minor,
           sum(p.invoiced_completed_minor)::bigint as invoiced_completed_minor,
           sum(p.invoiced_cancelled_minor)::bigint as invoiced_cancelled_minor,
           sum(p.invoiced_archived_minor)::bigint as invoiced_archived_minor,
           sum(p.crew_cost_minor)::bigint as crew_cost_minor,
           sum(p.tasks_overdue)::bigint as tasks_overdue,
           sum(p.assets_now)::bigint as assets_now,
           sum(p.pending)::bigint as pending
      from placed p
     group by p.kind, p.child_id, p.currency
  ), fx as materialized (
    select * from private.rollup_fx(p_org_id, p_node_id, base) where p_convert
  ), fx_grouped as (
    select b.kind, b.child_id, f.currency,
           sum(f.base_invoiced_draft_minor)::bigint as base_invoiced_draft_minor,
           sum(f.base_invoiced_active_minor)::bigint as base_invoiced_active_minor,
           sum(f.base_invoiced_review_minor)::bigint as base_invoiced_review_minor,
           sum(f.base_invoiced_completed_minor)::bigint as base_invoiced_completed_minor,
           sum(f.base_invoiced_cancelled_minor)::bigint as base_invoiced_cancelled_minor,
           sum(f.base_invoiced_archived_minor)::bigint as base_invoiced_archived_minor,
           sum(f.unrated)::bigint as unrated
      from fx f
      left join kids k on k.id = f.bucket
     cross join lateral (values
       ('total'::text, null::uuid),
       (case when f.bucket = p_node_id then 'own' when k.readable then 'child' else 'restricted' end,
        case when f.bucket <> p_node_id and k.readable then f.bucket end)) b(kind, child_id)
     group by b.kind, b.child_id, f.currency
  )
  select s.kind, s.child_id, c.currency, s.money,
         coalesce(g.tasks_draft, 0),
         coalesce(g.tasks_planning, 0),
         coalesce(g.tasks_active, 0),
         coalesce(g.tasks_review, 0),
         coalesce(g.tasks_completed, 0),
         coalesce(g.tasks_cancelled, 0),
         coalesce(g.tasks_archived, 0),
         coalesce(g.schedule_items, 0),
         coalesce(g.schedule_conflicts, 0),
         coalesce(g.crew_headcount, 0),
         case when s.money then coalesce(g.budget_planned_minor, 0) end,
         case when s.money then coalesce(g.invoiced_draft_minor, 0) end,
         case when s.money then coalesce(g.invoiced_active_minor, 0) end,
         case when s.money then coalesce(g.invoiced_review_minor, 0) end,
         case when s.money then coalesce(g.invoiced_completed_minor, 0) end,
         case when s.money then coalesce(g.invoiced_cancelled_minor, 0) end,
         case when s.money then coalesce(g.invoiced_archived_minor, 0) end,
         case when s.money then coalesce(g.crew_cost_minor, 0) end,
         coalesce(g.tasks_overdue, 0),
         coalesce(g.assets_now, 0),
         coalesce(g.pending, 0),
         case when v.conv then base end,
         case when v.conv then private.fx_convert_minor(coalesce(g.budget_planned_minor, 0), c.currency, base, r.rate) end,
         case when v.conv then case when c.currency = base then coalesce(g.invoiced_draft_minor, 0)
                                    when coalesce(x.unrated, 0) > 0 then null
                                    else coalesce(x.base_invoiced_draft_minor, 0) end end,
         case when v.conv then case when c.currency = base then coalesce(g.invoiced_active_minor, 0)
                                    when coalesce(x.unrated, 0) > 0 then null
                                    else coalesce(x.base_invoiced_active_minor, 0) end end,
         case when v.conv then case when c.currency = base then coalesce(g.invoiced_review_minor, 0)
                                    when coalesce(x.unrated, 0) > 0 then null
                                    else coalesce(x.base_invoiced_review_minor, 0) end end,
         case when v.conv then case when c.currency = base then coalesce(g.invoiced_completed_minor, 0)
                                    when coalesce(x.unrated, 0) > 0 then null
                                    else coalesce(x.base_invoiced_completed_minor, 0) end end,
         case when v.conv then case when c.currency = base then coalesce(g.invoiced_cancelled_minor, 0)
                                    when coalesce(x.unrated, 0) > 0 then null
                                    else coalesce(x.base_invoiced_cancelled_minor, 0) end end,
         case when v.conv then case when c.currency = base then coalesce(g.invoiced_archived_minor, 0)
                                    when coalesce(x.unrated, 0) > 0 then null
                                    else coalesce(x.base_invoiced_archived_minor, 0) end end,
         case when v.conv then private.fx_convert_minor(coalesce(g.crew_cost_minor, 0), c.currency, base, r.rate) end
    from shown s
   cross join lateral (
     select 'XXX'::char(3) as currency
     union
     select g2.currency from grouped g2
      where g2.kind = s.kind and g2.child_id is not distinct from s.child_id) c
    left join grouped g
      on g.kind = s.kind and g.child_id is not distinct from s.child_id and g.currency = c.currency
    left join fx_grouped x
      on x.kind = s.kind and x.child_id is not distinct from s.child_id and x.currency = c.currency
   cross join lateral (select p_convert and s.money and c.currency <> 'XXX' as conv) v
    left join lateral (
      select private.fx_rate(p_org_id, c.currency, current_date) as rate where v.conv) r on true
   where c.currency = 'XXX' or s.money
   order by case s.kind when 'total' then 0 when 'own' then 1 when 'child' then 2 else 3 end,
            s.child_id, c.currency;
end
$$;

-- --------------------------------------------------------- backfill
-- What the triggers would have appended for every row already there,
-- folded.
insert into private.rollup_own (org_id, node_id, currency, week,
  tasks_draft, tasks_planning, tasks_active, tasks_review, tasks_completed, tasks_cancelled, tasks_archived, schedule_items, schedule_conflicts, crew_headcount, budget_planned_minor, invoiced_draft_minor, invoiced_active_minor, invoiced_review_minor, invoiced_completed_minor, invoiced_cancelled_minor, invoiced_archived_minor, crew_cost_minor, tasks_open_due, assets_started, assets_ended)
select c.org_id, c.node_id, c.currency, c.week,
       coalesce(sum(c.amount) filter (where c.metric = 'tasks_draft'), 0)::bigint,
       coalesce(sum(c.amount) filter (where c.metric = 'tasks_planning'), 0)::bigint,
       coalesce(sum(c.amount) filter (where c.metric = 'tasks_active'), 0)::bigint,
       coalesce(sum(c.amount) filter (where c.metric = 'tasks_review'), 0)::bigint,
       coalesce(sum(c.amount) filter (where c.metric = 'tasks_completed'), 0)::bigint,
       coalesce(sum(c.amount) filter (where c.metric = 'tasks_cancelled'), 0)::bigint,
       coalesce(sum(c.amount) filter (where c.metric = 'tasks_archived'), 0)::bigint,
       coalesce(sum(c.amount) filter (where c.metric = 'schedule_items'), 0)::bigint,
       coalesce(sum(c.amount) filter (where c.metric = 'schedule_conflicts'), 0)::bigint,
       coalesce(sum(c.amount) filter (where c.metric = 'crew_headcount'), 0)::bigint,
       coalesce(sum(c.amount) filter (where c.metric = 'budget_planned_minor'), 0)::bigint,
       coalesce(sum(c.amount) filter (where c.metric = 'invoiced_draft_minor'), 0)::bigint,
       coalesce(sum(c.amount) filter (where c.metric = 'invoiced_active_minor'), 0)::bigint,
       coalesce(sum(c.amount) filter (where c.metric = 'invoiced_review_minor'), 0)::bigint,
       coalesce(sum(c.amount) filter (where c.metric = 'invoiced_completed_minor'), 0)::bigint,
       coalesce(sum(c.amount) filter (where c.metric = 'invoiced_cancelled_minor'), 0)::bigint,
       coalesce(sum(c.amount) filter (where c.metric = 'invoiced_archived_minor'), 0)::bigint,
       coalesce(sum(c.amount) filter (where c.metric = 'crew_cost_minor'), 0)::bigint,
       coalesce(sum(c.amount) filter (where c.metric = 'tasks_open_due'), 0)::bigint,
       coalesce(sum(c.amount) filter (where c.metric = 'assets_started'), 0)::bigint,
       coalesce(sum(c.amount) filter (where c.metric = 'assets_ended'), 0)::bigint
  from (
    select t.org_id, t.node_id, 'XXX'::char(3) as currency, '-infinity'::date as week,
           'tasks_' || t.status as metric, 1::numeric as amount
      from showtree.tasks t where t.deleted_at is null
    union all
    select b.org_id, b.node_id, b.currency, '-infinity', 'budget_planned_minor', b.amount_minor
      from showtree.budget_lines b where b.deleted_at is null
    union all
    select i.org_id, i.node_id, i.currency, '-infinity', 'invoiced_' || i.status || '_minor',
           round(l.quantity * l.unit_amount_minor)
      from showtree.invoices i
      join showtree.invoice_lines l on l.org_id = i.org_id and l.invoice_id = i.id
     where i.deleted_at is null and l.deleted_at is null
    union all
    select a.org_id, a.node_id, 'XXX', '-infinity', 'crew_headcount', 1
      from showtree.crew_assignments a where a.deleted_at is null and a.status <> 'cancelled'
    union all
    select a.org_id, a.node_id, a.currency, '-infinity', 'crew_cost_minor',
           private.crew_cost_minor(a.rate_amount_minor, a.rate_unit, a.call_at, a.wrap_at)
      from showtree.crew_assignments a
     where a.deleted_at is null and a.status <> 'cancelled'
       and private.crew_cost_minor(a.rate_amount_minor, a.rate_unit, a.call_at, a.wrap_at) <> 0
    union all
    select s.org_id, s.node_id, 'XXX', '-infinity', 'schedule_items', 1
      from showtree.schedule_items s where s.deleted_at is null
    union all
    select s.org_id, s.node_id, 'XXX', '-infinity', 'schedule_conflicts', 1
      from showtree.schedule_items s
      join showtree.schedule_items o
        on o.org_id = s.org_id and o.node_id = s.node_id and o.location = s.location and o.id > s.id
       and o.deleted_at is null and o.starts_at < s.ends_at and s.starts_at < o.ends_at
     where s.deleted_at is null
    union all
    select t.org_id, t.node_id, 'XXX', private.rollup_week(t.due_at), 'tasks_open_due', 1
      from showtree.tasks t
     where t.deleted_at is null and t.due_at is not null
       and t.status in ('draft', 'planning', 'active', 'review')
    union all
    select a.org_id, a.node_id, 'XXX', private.rollup_week(m.at), m.metric, 1
      from showtree.asset_assignments a
      join showtree.assets x on x.org_id = a.org_id and x.id = a.asset_id and x.deleted_at is null
     cross join lateral (values (a.starts_at, 'assets_started'), (a.ends_at, 'assets_ended')) m(at, metric)
     where a.deleted_at is null and m.at is not null
  ) c
 group by c.org_id, c.node_id, c.currency, c.week;
insert into private.rollup_subtree (org_id, node_id, currency, week, tasks_draft, tasks_planning, tasks_active, tasks_review, tasks_completed, tasks_cancelled, tasks_archived, schedule_items, schedule_conflicts, crew_headcount, budget_planned_minor, invoiced_draft_minor, invoiced_active_minor, invoiced_review_minor, invoiced_completed_minor, invoiced_cancelled_minor, invoiced_archived_minor, crew_cost_minor, tasks_open_due, assets_started, assets_ended)
select o.org_id, a.node_id, o.currency, o.week,
       sum(o.tasks_draft)::bigint as tasks_draft,
       sum(o.tasks_planning)::bigint as tasks_planning,
       sum(o.tasks_active)::bigint as tasks_active,
       sum(o.tasks_review)::bigint as tasks_review,
       sum(o.tasks_completed)::bigint as tasks_completed,
       sum(o.tasks_cancelled)::bigint as tasks_cancelled,
       sum(o.tasks_archived)::bigint as tasks_archived,
       sum(o.schedule_items)::bigint as schedule_items,
       sum(o.schedule_conflicts)::bigint as schedule_conflicts,
       sum(o.crew_headcount)::bigint as crew_headcount,
       sum(o.budget_planned_minor)::bigint as budget_planned_minor,
       sum(o.invoiced_draft_minor)::bigint as invoiced_draft_minor,
       sum(o.invoiced_active_minor)::bigint as invoiced_active_minor,
       sum(o.invoiced_review_minor)::bigint as invoiced_review_minor,
       sum(o.invoiced_completed_minor)::bigint as invoiced_completed_minor,
       sum(o.invoiced_cancelled_minor)::bigint as invoiced_cancelled_minor,
       sum(o.invoiced_archived_minor)::bigint as invoiced_archived_minor,
       sum(o.crew_cost_minor)::bigint as crew_cost_minor,
       sum(o.tasks_open_due)::bigint as tasks_open_due,
       sum(o.assets_started)::bigint as assets_started,
       sum(o.assets_ended)::bigint as assets_ended
  from private.rollup_own o
  join showtree.nodes n on n.org_id = o.org_id and n.id = o.node_id and n.deleted_at is null
 cross join unnest(n.ancestors || n.id) as a(node_id)
 group by o.org_id, a.node_id, o.currency, o.week;

-- ---------------------------------------------------------- privileges
revoke execute on all functions in schema private from public;
grant execute on function
  private.rollup(uuid, uuid, boolean),
  private.rollup_fold(uuid, integer),
  private.rollup_fold_all(integer),
  private.crew_cost_minor(bigint, showtree.rate_unit, timestamptz, timestamptz),
  private.fx_convert_minor(bigint, char, char, numeric),
  private.fx_rate(uuid, char, date)
  to authenticated;
