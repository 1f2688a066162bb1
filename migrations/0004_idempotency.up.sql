-- Idempotency keys: the first response to a POST, stored in the same
-- transaction as the request's work, so a retried request (same key, same
-- body) gets that response again instead of doing the work twice.
--
-- Keys belong to the user who sent them, not to an organization (a token can
-- be created, and a node in any of the user's organizations), so the table
-- has no org_id and its owner reaches it through owner_id = auth.uid().
-- A key expires after 24 hours: it is soft-deleted (deleted_at) and then
-- purged a week later, both by the owner's next request.

create table showtree.idempotency_keys (
  id uuid not null default private.uuid_generate_v7(),
  owner_id uuid not null,
  key text not null,
  -- sha-256 of method, path and the canonical JSON body
  request_hash bytea not null,
  response_status smallint,
  -- the exact bytes of the first response's JSON body, replayed as they are
  response_body bytea,
  response_etag text,
  response_location text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  deleted_at timestamptz,
  constraint idempotency_keys_pkey primary key (id),
  constraint idempotency_keys_owner_id_fkey foreign key (owner_id)
    references auth.users (id) on delete cascade,
  constraint idempotency_keys_key_check check (length(key) between 1 and 255),
  constraint idempotency_keys_request_hash_check check (length(request_hash) = 32),
  constraint idempotency_keys_response_status_check check (
    response_status is null or response_status between 100 and 599)
);
comment on table showtree.idempotency_keys is
  'the first response to each POST carrying an Idempotency-Key, per user, kept 24 hours';

-- one live key per owner; also serves the foreign key and the owner's lookups
create unique index idempotency_keys_owner_id_key_key on showtree.idempotency_keys (owner_id, key)
  where deleted_at is null;
create index idempotency_keys_owner_id_created_at_idx
  on showtree.idempotency_keys (owner_id, created_at);

create trigger idempotency_keys_set_updated_at before update on showtree.idempotency_keys
  for each row execute function private.set_updated_at();

alter table showtree.idempotency_keys enable row level security;
alter table showtree.idempotency_keys force row level security;

-- (select auth.uid()) is evaluated once per statement, not once per row.
create policy idempotency_keys_owner_select on showtree.idempotency_keys
  for select to authenticated using (owner_id = (select auth.uid()));
create policy idempotency_keys_owner_insert on showtree.idempotency_keys
  for insert to authenticated with check (owner_id = (select auth.uid()));
create policy idempotency_keys_owner_update on showtree.idempotency_keys
  for update to authenticated using (owner_id = (select auth.uid()))
  with check (owner_id = (select auth.uid()));
create policy idempotency_keys_owner_delete on showtree.idempotency_keys
  for delete to authenticated using (owner_id = (select auth.uid()));

grant select, insert, update, delete on showtree.idempotency_keys to authenticated;
