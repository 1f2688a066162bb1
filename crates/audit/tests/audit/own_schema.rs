//! showtree's own migrated schema follows its own conventions.

use crate::support::audit;

#[tokio::test]
async fn showtree_schema_has_no_findings() {
    let db = showtree_db::testing::migrated_db().await;
    let report = audit(&db).await;
    assert!(
        report.schemas.iter().any(|s| s == "showtree"),
        "the showtree schema is audited by default: {:?}",
        report.schemas
    );
    assert!(
        !report.schemas.iter().any(|s| s == "showtree_meta"),
        "the migration runner's bookkeeping is not application schema"
    );
    let found: Vec<String> = report
        .findings
        .iter()
        .map(|f| {
            format!(
                "{}\n    {}\n    fix: {}",
                f.key,
                f.message,
                f.fix.as_deref().unwrap_or("-")
            )
        })
        .collect();
    assert!(
        found.is_empty(),
        "showtree's own schema:\n{}",
        found.join("\n")
    );
}
