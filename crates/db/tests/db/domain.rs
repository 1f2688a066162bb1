//! The domain tables (migration 0005) against their descriptions in
//! `showtree_db::domain::tables` and the Rust side of their rules.

use std::collections::BTreeSet;

use showtree_core::money::ISO_4217;
use showtree_db::domain::{Owner, tables};
use showtree_db::testing;

#[tokio::test]
async fn the_currency_list_is_the_same_in_rust_and_sql() {
    let db = testing::migrated_db().await;
    let client = db.client().await;
    for (code, digits) in ISO_4217 {
        let sql: Option<i16> = client
            .query_one("select private.currency_minor_unit($1)", &[code])
            .await
            .expect("minor unit")
            .get(0);
        assert_eq!(sql, Some(i16::from(*digits)), "{code}");
    }
    let source: String = client
        .query_one(
            "select pg_get_functiondef('private.currency_minor_unit(text)'::regprocedure)",
            &[],
        )
        .await
        .expect("source")
        .get(0);
    let in_sql: BTreeSet<String> = source
        .split(|c: char| !c.is_ascii_uppercase())
        .filter(|w| w.len() == 3)
        .map(str::to_owned)
        .collect();
    let in_rust: BTreeSet<String> = ISO_4217.iter().map(|(c, _)| (*c).to_owned()).collect();
    assert_eq!(in_sql, in_rust);
    for unknown in ["XYZ", "usd", "US", ""] {
        let sql: Option<i16> = client
            .query_one("select private.currency_minor_unit($1)", &[&unknown])
            .await
            .expect("minor unit")
            .get(0);
        assert_eq!(sql, None, "{unknown}");
    }
}

#[tokio::test]
async fn every_described_column_and_filter_exists_with_rls_forced() {
    let db = testing::migrated_db().await;
    let client = db.client().await;
    for table in tables::ALL {
        let columns: BTreeSet<String> = client
            .query(
                "select attname::text from pg_attribute \
                  where attrelid = ('showtree.' || $1)::regclass and attnum > 0 and not attisdropped",
                &[&table.name],
            )
            .await
            .expect("columns")
            .iter()
            .map(|r| r.get(0))
            .collect();
        let mut described: Vec<&str> = table.insertable.to_vec();
        described.extend(table.updatable);
        described.extend(table.filters);
        described.extend(table.date_column);
        if table.status {
            described.push("status");
        }
        if table.assigned_to {
            described.push("assigned_to");
        }
        if table.search {
            described.push("search");
        }
        match table.owner {
            Owner::Node | Owner::Org => described.push("node_id"),
            Owner::Parent { column, .. } => described.push(column),
        }
        for column in described {
            assert!(columns.contains(column), "{}.{column}", table.name);
        }
        let (enabled, forced): (bool, bool) = client
            .query_one(
                "select relrowsecurity, relforcerowsecurity from pg_class \
                  where oid = ('showtree.' || $1)::regclass",
                &[&table.name],
            )
            .await
            .map(|r| (r.get(0), r.get(1)))
            .expect("rls");
        assert!(enabled && forced, "{}", table.name);
        if let Some(link) = table.tags {
            let found: bool = client
                .query_one(
                    "select exists (select from pg_attribute where attrelid = ('showtree.' || $1)::regclass \
                      and attname = $2)",
                    &[&link.table, &link.column],
                )
                .await
                .expect("link")
                .get(0);
            assert!(found, "{}.{}", link.table, link.column);
        }
    }
}
