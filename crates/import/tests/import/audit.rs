//! The audit log (showtree.audit_events) of imported rows: the backfill's
//! batches, written with showtree's triggers off, are recorded by batch.

use showtree_import::backfill::{self, BackfillArgs};
use showtree_import::state::Phase;
use showtree_import::{expand, rollback};

use crate::support;

#[tokio::test]
async fn backfilled_rows_are_audited_by_batch_and_rollback_of_the_backfill_removes_the_events() {
    let db = support::legacy_db(support::size()).await;
    let mut s = support::session(&db).await;
    expand::expand(&mut s, support::MAPPING)
        .await
        .expect("expand");
    backfill::backfill(
        &mut s,
        &BackfillArgs {
            rows_per_second: 0,
            batch_size: 10,
            preflight: false,
        },
    )
    .await
    .expect("backfill");
    let c = db.client().await;

    // the events of each table account for every row it holds (nothing
    // was written meanwhile, so every row came from a batch)
    for (table, mapping) in [
        ("tasks", "tasks"),
        ("invoices", "invoices"),
        ("invoice_lines", "invoice_amounts"),
        ("schedule_items", "events"),
    ] {
        let row = c
            .query_one(
                &format!(
                    "select (select count(*) from showtree.{table}),
                            (select coalesce(sum((e.metadata -> 'import' ->> 'rows')::bigint), 0)::bigint
                               from showtree.audit_events e
                              where e.action = '{table}.imported' and e.table_name = '{table}'
                                and e.metadata -> 'import' ->> 'mapping' = '{mapping}'),
                            (select count(*) from showtree.audit_events e
                              where e.action = '{table}.imported' and e.node_id is distinct from e.org_id),
                            (select count(distinct e.metadata -> 'import' ->> 'through') from showtree.audit_events e
                              where e.action = '{table}.imported')"
                ),
                &[],
            )
            .await
            .expect("counting events");
        let (rows, audited, off_root, batches): (i64, i64, i64, i64) =
            (row.get(0), row.get(1), row.get(2), row.get(3));
        assert!(rows > 0, "no {table} imported");
        assert_eq!(rows, audited, "{table}: rows against their events' counts");
        assert_eq!(
            off_root, 0,
            "{table}: events not on the organization's root"
        );
        assert!(batches > 1, "{table}: {batches} batches");
    }

    // one task's event: its organization's, its key in the batch's range,
    // the legacy table named
    let row = c
        .query_one(
            "select count(*), min(e.metadata -> 'import' ->> 'legacy_table')
               from showtree_import.map_tasks m
               join showtree.tasks t on t.id = m.new_id
               join showtree.audit_events e
                 on e.org_id = t.org_id and e.action = 'tasks.imported'
                and (e.metadata -> 'import' ->> 'after' is null or m.legacy_id > (e.metadata -> 'import' ->> 'after')::uuid)
                and m.legacy_id <= (e.metadata -> 'import' ->> 'through')::uuid
              where m.legacy_id = (select legacy_id from showtree_import.map_tasks order by legacy_id desc limit 1)",
            &[],
        )
        .await
        .expect("a task's event");
    assert_eq!(row.get::<_, i64>(0), 1, "one event covers the task");
    assert_eq!(row.get::<_, String>(1), "public.tasks");
    // money: only for readers with the finance capability, as audit_row's
    let finance: i64 = c
        .query_one(
            "select count(*) from showtree.audit_events
              where action in ('invoices.imported', 'invoice_lines.imported', 'budget_lines.imported')
                and metadata ->> 'capability' is distinct from 'finance'",
            &[],
        )
        .await
        .expect("finance events")
        .get(0);
    assert_eq!(finance, 0, "finance events without the capability");

    // rollback of the backfill removes them with the rows, as it does every
    // other event of the imported organizations
    rollback::rollback(&mut s, false)
        .await
        .expect("rollback of the backfill");
    assert_eq!(s.require().await.expect("state").phase, Phase::Expanded);
    let left: i64 = c
        .query_one("select count(*) from showtree.audit_events", &[])
        .await
        .expect("events left")
        .get(0);
    assert_eq!(left, 0, "audit events left after the rollback");
}
