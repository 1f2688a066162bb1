//! Import commands and legacy writers running at the same time.

use showtree_db::testing;
use showtree_import::backfill::{self, BackfillArgs};
use showtree_import::state::Session;
use showtree_import::{ImportError, expand, validate};

use crate::support;

#[tokio::test]
async fn a_second_backfill_while_one_runs_refuses_or_finds_it_done_and_nothing_is_corrupted() {
    let db = support::legacy_db(support::size()).await;
    let mut s = support::session(&db).await;
    expand::expand(&mut s, support::MAPPING)
        .await
        .expect("expand");
    // throttled, so it is most likely still copying when the second starts
    let first = tokio::spawn(async move {
        let summary = backfill::backfill(
            &mut s,
            &BackfillArgs {
                rows_per_second: 40,
                batch_size: 10,
                preflight: false,
            },
        )
        .await;
        (s, summary)
    });
    // the second command starts once the first has taken over
    let c = db.client().await;
    loop {
        let phase: String = c
            .query_one("select phase from showtree_import.state", &[])
            .await
            .expect("phase")
            .get(0);
        if phase != "expanded" {
            break;
        }
        tokio::task::yield_now().await;
    }
    // it waits a while for the import's lock, then refuses clearly; or, had
    // the first finished meanwhile, it gets the lock and finds nothing to do
    match Session::connect(db.url()).await {
        Err(ImportError::State(message)) => assert!(
            message.contains("another showtree import command is running"),
            "{message}"
        ),
        Err(e) => panic!("not a clear refusal: {e}"),
        Ok(mut second) => {
            let summary = backfill::backfill(&mut second, &BackfillArgs::default())
                .await
                .expect("second backfill");
            assert!(summary.already_done, "{summary}");
        }
    }
    let (mut s, summary) = first.await.expect("first backfill task");
    let summary = summary.expect("first backfill");
    assert!(
        !summary.already_done && summary.legacy_rows > 0,
        "{summary}"
    );
    let outcome = validate::validate(&mut s).await.expect("validate");
    assert!(outcome.is_clean(), "{}", outcome.render(0));
}

#[tokio::test]
async fn concurrent_dual_writes_of_one_stage_keep_schedule_conflicts_exact() {
    let db = support::legacy_db(support::size()).await;
    let mut s = support::dual_written(&db).await;

    let c = db.client().await;
    let productions: Vec<String> = c
        .query(
            "select id::text from productions
              where organization_id = (select organization_id from productions order by id limit 1)
              order by id limit 2",
            &[],
        )
        .await
        .expect("productions")
        .iter()
        .map(|r| r.get(0))
        .collect();
    // four writers insert overlapping items at one location of two
    // productions and move items between them, in opposite directions
    let url = showtree_db::connect::url_with_user(db.url(), &support::app_role(&db));
    let mut writers = Vec::new();
    for w in 0..4i64 {
        let client = testing::connect(&url).await;
        let (here, there) = if w % 2 == 0 {
            (productions[0].clone(), productions[1].clone())
        } else {
            (productions[1].clone(), productions[0].clone())
        };
        writers.push(tokio::spawn(async move {
            for i in 0..12i64 {
                let id: String = client
                    .query_one(
                        "insert into events (organization_id, workspace_id, production_id, name, kind,
                                             status, location, starts_at, ends_at)
                         select organization_id, workspace_id, id, 'clash ' || $2::bigint, 'meeting',
                                'published', 'Main stage',
                                timestamp '2025-06-01 10:00' + $2::bigint * interval '10 minutes',
                                timestamp '2025-06-01 11:00' + $2::bigint * interval '10 minutes'
                           from productions where id = $1::text::uuid
                         returning id::text",
                        &[&here, &(w * 100 + i)],
                    )
                    .await
                    .expect("insert an event")
                    .get(0);
                if i % 3 == 0 {
                    client
                        .execute(
                            "update events e set production_id = p.id, workspace_id = p.workspace_id,
                                    organization_id = p.organization_id
                               from productions p where p.id = $2::text::uuid and e.id = $1::text::uuid",
                            &[&id, &there],
                        )
                        .await
                        .expect("move an event");
                }
                if i % 4 == 1 {
                    client
                        .execute("delete from events where id = $1::text::uuid", &[&id])
                        .await
                        .expect("delete an event");
                }
            }
        }));
    }
    for w in writers {
        w.await.expect("writer");
    }
    let conflicts: i64 = c
        .query_one(
            "select count(*) from showtree.schedule_items a join showtree.schedule_items b
                on b.org_id = a.org_id and b.node_id = a.node_id and b.location = a.location
               and b.id > a.id and b.deleted_at is null
               and a.starts_at < b.ends_at and b.starts_at < a.ends_at
             where a.deleted_at is null and a.location = 'Main stage'",
            &[],
        )
        .await
        .expect("conflicts")
        .get(0);
    assert!(conflicts > 0, "the writers made no overlapping items");
    // validate compares every imported node's roll-up figures with its rows
    let outcome = validate::validate(&mut s).await.expect("validate");
    assert!(outcome.is_clean(), "{}", outcome.render(0));
}

/// A dual-written schedule item takes migration 0006's per-(node,
/// location) transaction lock, the one showtree's API writers of that
/// location take, so the two take turns.
#[tokio::test]
async fn a_dual_written_event_takes_the_lock_api_writers_of_its_location_take() {
    let db = support::legacy_db(support::size()).await;
    let _session = support::dual_written(&db).await;

    let c = db.client().await;
    let row = c
        .query_one(
            "select m.legacy_id::text, pg_catalog.hashtextextended(x.org_id::text || x.node_id::text || x.location, 6)
               from showtree_import.map_events m
               join showtree.schedule_items x on x.id = m.new_id
              where x.deleted_at is null
              order by m.legacy_id limit 1",
            &[],
        )
        .await
        .expect("an imported event");
    let (legacy_id, key): (String, i64) = (row.get(0), row.get(1));

    let url = showtree_db::connect::url_with_user(db.url(), &support::app_role(&db));
    let mut app = testing::connect(&url).await;
    let tx = app.transaction().await.expect("begin");
    tx.execute(
        "update events set starts_at = starts_at + interval '5 minutes', ends_at = ends_at + interval '5 minutes'
          where id = $1::text::uuid",
        &[&legacy_id],
    )
    .await
    .expect("move the event by five minutes");
    let pid: i32 = tx
        .query_one("select pg_backend_pid()", &[])
        .await
        .expect("pid")
        .get(0);
    let held: bool = c
        .query_one(
            "select exists (select from pg_locks
                             where locktype = 'advisory' and pid = $1 and granted and objsubid = 1
                               and ((classid::bigint << 32) | objid::bigint) = $2)",
            &[&pid, &key],
        )
        .await
        .expect("pg_locks")
        .get(0);
    tx.rollback().await.expect("rollback");
    assert!(
        held,
        "the legacy writer's transaction holds the location's lock"
    );
}
