//! Every emitted fix is real SQL that removes its finding.

use std::collections::HashSet;

use crate::support::{FLAT, audit, fixture};

/// Findings applied at once; each gets its own database.
const PARALLEL: usize = 4;

#[tokio::test]
async fn every_fix_removes_its_finding() {
    let report = audit(&fixture(FLAT).await).await;
    let fixes: Vec<(String, String)> = report
        .findings
        .iter()
        .map(|f| {
            let fix = f
                .fix
                .clone()
                .unwrap_or_else(|| panic!("{} has no fix", f.key));
            (f.key.clone(), fix)
        })
        .collect();
    assert!(
        fixes.len() > 50,
        "the flat layout has every kind of finding"
    );
    for chunk in fixes.chunks(PARALLEL) {
        let mut set = tokio::task::JoinSet::new();
        for (key, fix) in chunk.iter().cloned() {
            set.spawn(async move {
                let db = fixture(FLAT).await;
                db.client()
                    .await
                    .batch_execute(&fix)
                    .await
                    .unwrap_or_else(|e| {
                        panic!(
                            "fix for {key} fails: {}\n{fix}",
                            showtree_audit::error::describe(&e)
                        )
                    });
                let after = audit(&db).await;
                assert!(
                    !after.findings.iter().any(|f| f.key == key),
                    "{key} is still found after its fix:\n{fix}"
                );
            });
        }
        while let Some(done) = set.join_next().await {
            done.expect("fix task");
        }
    }
}

#[tokio::test]
async fn applying_the_fixes_one_after_another_converges_to_no_findings() {
    // Worst first, re-auditing after each fix: a fix may make others moot
    // (dropping a redundant column drops its key too) or rename what they
    // name, but never leaves the schema worse.
    let db = fixture(FLAT).await;
    let client = db.client().await;
    let mut applied: HashSet<String> = HashSet::new();
    for _ in 0..200 {
        let report = audit(&db).await;
        let Some(next) = report.findings.first() else {
            assert_eq!(report.summary.errors + report.summary.warnings, 0);
            return;
        };
        assert!(
            applied.insert(next.key.clone()),
            "{} came back after its fix",
            next.key
        );
        let fix = next.fix.clone().expect("every flat finding has a fix");
        client.batch_execute(&fix).await.unwrap_or_else(|e| {
            panic!(
                "fix for {} fails: {}\n{fix}",
                next.key,
                showtree_audit::error::describe(&e)
            )
        });
    }
    panic!("the fixes did not converge in 200 steps");
}
