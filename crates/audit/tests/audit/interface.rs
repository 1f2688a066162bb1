//! Reporters, the config file, exit codes and read-only operation.

use std::process::ExitCode;

use showtree_audit::{AuditArgs, Config, FailOn, Format, Options, Rule};

use crate::support::{CLEAN, FLAT, audit, audit_with, fixture};

fn args(url: &str) -> AuditArgs {
    AuditArgs {
        url: Some(url.to_owned()),
        schemas: Vec::new(),
        format: Format::Json,
        fail_on: FailOn::Error,
        sample: false,
        config: None,
    }
}

#[tokio::test]
async fn a_config_file_silences_findings_by_key_with_a_reason() {
    let db = fixture(FLAT).await;
    let config = Config::parse(
        r#"
[[ignore]]
key = "no-primary-key:public.activity_log"
reason = "an append-only import log, dropped after the migration"

[[ignore]]
key = "index-duplicate:public.gone:gone_idx"
reason = "stale on purpose"
"#,
    )
    .expect("config parses");
    let report = audit_with(&db, &Options::default(), &config).await;
    assert!(!report.findings.iter().any(|f| f.rule == Rule::NoPrimaryKey));
    assert_eq!(report.silenced.len(), 1);
    assert_eq!(
        report.silenced[0].finding.key,
        "no-primary-key:public.activity_log"
    );
    assert!(report.silenced[0].reason.contains("import log"));
    assert_eq!(
        report.unused_ignores,
        ["index-duplicate:public.gone:gone_idx"]
    );
    assert_eq!(report.summary.silenced, 1);
    let text = showtree_audit::render(&report, Format::Text);
    assert!(text.contains("silenced by the config file"), "{text}");
    assert!(text.contains("matched no finding"), "{text}");
}

#[tokio::test]
async fn reporters_write_text_json_and_sarif() {
    let report = audit(&fixture(FLAT).await).await;

    let text = showtree_audit::render(&report, Format::Text);
    assert!(text.contains("read-only"), "{text}");
    assert!(text.contains("nothing was written"), "{text}");
    // grouped by rule, worst first: an error rule precedes every warn-only rule
    let first_error = text
        .find("redundant-hierarchy-fk (")
        .expect("error rule listed");
    let first_warn = text.find("fk-delete-rule (").expect("warn rule listed");
    assert!(first_error < first_warn);
    for metric in [
        "redundant foreign keys",
        "naming consistency",
        "index on every foreign key",
        "stated delete rule",
        "RLS enabled",
        "cache hit ratio",
        "size: tables",
    ] {
        assert!(text.contains(metric), "summary shows {metric}");
    }

    let json: serde_json::Value =
        serde_json::from_str(&showtree_audit::render(&report, Format::Json)).expect("json");
    assert_eq!(json["read_only"], true);
    assert_eq!(
        json["findings"].as_array().map(Vec::len),
        Some(report.findings.len())
    );
    let f = &json["findings"][0];
    for field in [
        "rule", "severity", "key", "table", "columns", "message", "fix",
    ] {
        assert!(!f[field].is_null(), "finding has {field}: {f}");
    }

    let sarif: serde_json::Value =
        serde_json::from_str(&showtree_audit::render(&report, Format::Sarif)).expect("sarif");
    assert_eq!(sarif["version"], "2.1.0");
    let run = &sarif["runs"][0];
    assert_eq!(
        run["tool"]["driver"]["rules"].as_array().map(Vec::len),
        Some(Rule::ALL.len())
    );
    let results = run["results"].as_array().expect("results");
    assert_eq!(results.len(), report.findings.len());
    let r = &results[0];
    assert!(r["level"] == "error" || r["level"] == "warning");
    assert!(r["partialFingerprints"]["showtreeAuditKey/v1"].is_string());
    assert_eq!(
        run["tool"]["driver"]["rules"][r["ruleIndex"].as_u64().expect("index") as usize]["id"],
        r["ruleId"]
    );
}

#[tokio::test]
async fn the_audit_needs_no_write_access() {
    let db = fixture(FLAT).await;
    // Every transaction on this database is read-only from here on; the
    // audit (with its data sample) still runs.
    db.client()
        .await
        .batch_execute(&format!(
            "alter database \"{}\" set default_transaction_read_only = on",
            db.name()
        ))
        .await
        .expect("set read-only");
    let report = audit_with(
        &db,
        &Options {
            sample: true,
            ..Default::default()
        },
        &Config::default(),
    )
    .await;
    assert!(report.read_only);
    assert!(!report.findings.is_empty());
}

#[tokio::test]
async fn exit_codes_follow_fail_on() {
    let flat = fixture(FLAT).await;
    let clean = fixture(CLEAN).await;
    assert_eq!(
        showtree_audit::command(&args(flat.url()), "").await,
        ExitCode::FAILURE
    );
    let never = AuditArgs {
        fail_on: FailOn::Never,
        ..args(flat.url())
    };
    assert_eq!(showtree_audit::command(&never, "").await, ExitCode::SUCCESS);
    let strict = AuditArgs {
        fail_on: FailOn::Warn,
        format: Format::Sarif,
        ..args(clean.url())
    };
    assert_eq!(
        showtree_audit::command(&strict, "").await,
        ExitCode::SUCCESS
    );
    // Without --url the default (showtree's own database) is used.
    let default = AuditArgs {
        url: None,
        ..args("unused")
    };
    assert_eq!(
        showtree_audit::command(&default, clean.url()).await,
        ExitCode::SUCCESS
    );
}

#[tokio::test]
async fn usage_errors_exit_2() {
    let db = fixture(CLEAN).await;
    let missing = AuditArgs {
        schemas: vec!["nope".to_owned()],
        ..args(db.url())
    };
    assert_eq!(
        showtree_audit::command(&missing, "").await,
        ExitCode::from(2)
    );

    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("audit.toml");
    std::fs::write(
        &path,
        "[[ignore]]\nkey = \"no-primary-key:public.t\"\nreason = \"\"\n",
    )
    .expect("write config");
    let bad = AuditArgs {
        config: Some(path),
        ..args(db.url())
    };
    assert_eq!(showtree_audit::command(&bad, "").await, ExitCode::from(2));

    let absent = AuditArgs {
        config: Some(dir.path().join("none.toml")),
        ..args(db.url())
    };
    assert_eq!(
        showtree_audit::command(&absent, "").await,
        ExitCode::from(2)
    );
}

#[tokio::test]
async fn schema_option_limits_the_audit() {
    let db = fixture(&format!(
        "{FLAT}\ncreate schema other; create table other.t (id int primary key);"
    ))
    .await;
    let only = audit_with(
        &db,
        &Options {
            schemas: vec!["other".to_owned()],
            ..Default::default()
        },
        &Config::default(),
    )
    .await;
    assert_eq!(only.schemas, ["other"]);
    assert!(only.findings.iter().all(|f| f.table == "other.t"));
}
