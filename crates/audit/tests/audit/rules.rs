//! Each rule against the flat layout (found, with its fix) and the clean
//! one (not found).

use showtree_audit::{Rule, Severity};

use crate::support::{self, CLEAN, FLAT, allowed, audit, fixture, keys};

/// Audits both fixtures and returns the rule's keys in each.
async fn both(rule: Rule) -> (showtree_audit::Report, showtree_audit::Report) {
    let flat = audit(&fixture(FLAT).await).await;
    let clean = audit(&fixture(CLEAN).await).await;
    assert_eq!(
        keys(&clean, rule),
        Vec::<String>::new(),
        "clean layout, {}",
        rule.id()
    );
    (flat, clean)
}

fn expect(report: &showtree_audit::Report, rule: Rule, tail: &[&str]) {
    let mut want: Vec<String> = tail
        .iter()
        .map(|t| format!("{}:public.{t}", rule.id()))
        .collect();
    want.sort();
    assert_eq!(keys(report, rule), want, "{}", rule.id());
    for f in report.findings.iter().filter(|f| f.rule == rule) {
        assert!(!f.message.is_empty(), "{}", f.key);
        assert!(f.fix.is_some(), "{} has a fix", f.key);
    }
}

fn fix_of<'r>(report: &'r showtree_audit::Report, key: &str) -> &'r str {
    report
        .findings
        .iter()
        .find(|f| f.key == key)
        .and_then(|f| f.fix.as_deref())
        .unwrap_or_else(|| panic!("no fix for {key}"))
}

#[tokio::test]
async fn redundant_hierarchy_fk_finds_ids_derivable_through_the_chain() {
    let (flat, clean) = both(Rule::RedundantHierarchyFk).await;
    expect(
        &flat,
        Rule::RedundantHierarchyFk,
        &[
            "assets:assets_workspace_id_fkey",
            "invoices:invoices_organization_id_fkey",
        ],
    );
    assert!(
        fix_of(
            &flat,
            "redundant-hierarchy-fk:public.assets:assets_workspace_id_fkey"
        )
        .contains("alter table public.assets drop column workspace_id;")
    );
    // The tenant key inside composite keys is reported as allowed.
    assert_eq!(
        allowed(&clean, Rule::RedundantHierarchyFk),
        ["redundant-hierarchy-fk:public.productions:productions_org_id_fkey"]
    );
    assert_eq!(clean.summary.allowed_tenant_keys, 1);
    assert_eq!(flat.summary.redundant_foreign_keys, 2);
}

#[tokio::test]
async fn redundant_hierarchy_fk_ignores_chains_through_other_columns() {
    // A comment's author is not its task's assignee, though both point at people.
    let db = fixture(
        "create table people (id int primary key);
         create table tasks (id int primary key, assignee_id int not null references people on delete restrict);
         create table comments (id int primary key,
           task_id int not null references tasks on delete cascade,
           author_id int not null references people on delete restrict);",
    )
    .await;
    let report = audit(&db).await;
    assert_eq!(
        keys(&report, Rule::RedundantHierarchyFk),
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn redundant_hierarchy_fk_allows_a_node_beside_reference_data_pinned_to_the_tenant_root() {
    // An invoice is booked at a node; its vendor is listed at the tenant's
    // root (vendors_node_org_check). Without that pin the same layout is a copy.
    let layout = |pin: &str| {
        format!(
            "create table nodes (org_id int not null, id int not null, primary key (org_id, id));
             create table vendors (org_id int not null, id int not null, node_id int not null,
               primary key (org_id, id),
               constraint vendors_node_fkey foreign key (org_id, node_id)
                 references nodes (org_id, id) on delete cascade{pin});
             create index on vendors (org_id, node_id);
             create table invoices (org_id int not null, id int not null, node_id int not null,
               vendor_id int not null, primary key (org_id, id),
               constraint invoices_node_fkey foreign key (org_id, node_id)
                 references nodes (org_id, id) on delete cascade,
               constraint invoices_vendor_fkey foreign key (org_id, vendor_id)
                 references vendors (org_id, id) on delete restrict);"
        )
    };
    let pinned = audit(
        &fixture(&layout(
            ", constraint vendors_node_org_check check (node_id = org_id)",
        ))
        .await,
    )
    .await;
    assert_eq!(
        keys(&pinned, Rule::RedundantHierarchyFk),
        Vec::<String>::new()
    );
    assert!(
        allowed(&pinned, Rule::RedundantHierarchyFk)
            .contains(&"redundant-hierarchy-fk:public.invoices:invoices_node_fkey".to_owned())
    );
    let loose = audit(&fixture(&layout("")).await).await;
    assert_eq!(
        keys(&loose, Rule::RedundantHierarchyFk),
        vec!["redundant-hierarchy-fk:public.invoices:invoices_node_fkey".to_owned()]
    );
}

#[tokio::test]
async fn user_ref_naming_finds_odd_spellings_and_missing_keys() {
    let (flat, clean) = both(Rule::UserRefNaming).await;
    expect(
        &flat,
        Rule::UserRefNaming,
        &[
            "assets:owner",
            "invoices:user_id",
            "productions:manager_id",
            "tasks:assignee_id",
        ],
    );
    let owner = fix_of(&flat, "user-ref-naming:public.assets:owner");
    assert!(owner.contains("rename column owner to owner_id"), "{owner}");
    assert!(
        owner.contains("references public.users (id) on delete set null"),
        "{owner}"
    );
    assert!(
        fix_of(&flat, "user-ref-naming:public.tasks:assignee_id")
            .contains("rename column assignee_id to assigned_to")
    );
    assert_eq!(
        allowed(&clean, Rule::UserRefNaming),
        ["user-ref-naming:public.memberships:user_id"]
    );
}

#[tokio::test]
async fn status_taxonomy_shows_value_sets_and_a_mapping() {
    let (flat, clean) = both(Rule::StatusTaxonomy).await;
    expect(
        &flat,
        Rule::StatusTaxonomy,
        &[
            "events:status",
            "invoices:status",
            "productions:status",
            "tasks:status",
        ],
    );
    let tasks = flat
        .status_sets
        .iter()
        .find(|s| s.table == "public.tasks")
        .expect("tasks.status is listed");
    assert_eq!(tasks.values, ["todo", "in_progress", "done"]);
    assert_eq!(
        tasks.mapping,
        [
            ("todo".to_owned(), "planning".to_owned()),
            ("in_progress".to_owned(), "active".to_owned()),
            ("done".to_owned(), "completed".to_owned()),
        ]
    );
    let fix = fix_of(&flat, "status-taxonomy:public.tasks:status");
    assert!(fix.contains("when 'todo' then 'planning'"), "{fix}");
    assert!(
        fix.contains("check (status in ('planning', 'active', 'completed'))"),
        "{fix}"
    );
    let events = flat
        .status_sets
        .iter()
        .find(|s| s.table == "public.events")
        .expect("events.status is listed");
    assert_eq!(events.source, "enum");
    assert_eq!(
        events.mapping,
        [("published".to_owned(), "active".to_owned())]
    );
    // The clean layout's subsets of the one enum are listed, not findings.
    assert_eq!(clean.status_sets.len(), 2);
}

#[tokio::test]
async fn status_taxonomy_samples_values_from_the_data() {
    let db = fixture(
        "create table jobs (id int primary key, status text not null);
         insert into jobs values (1, 'open'), (2, 'closed'), (3, 'open');",
    )
    .await;
    let plain = audit(&db).await;
    assert_eq!(plain.status_sets[0].source, "none");
    let sampled = support::audit_with(
        &db,
        &showtree_audit::Options {
            sample: true,
            ..Default::default()
        },
        &showtree_audit::Config::default(),
    )
    .await;
    let set = &sampled.status_sets[0];
    assert_eq!(set.source, "sample");
    assert_eq!(set.values, ["open", "closed"]);
    assert_eq!(
        set.mapping,
        [
            ("open".to_owned(), "active".to_owned()),
            ("closed".to_owned(), "completed".to_owned())
        ]
    );
    // The sampled mapping fix converts the data it saw.
    let fix = fix_of(&sampled, "status-taxonomy:public.jobs:status");
    db.client()
        .await
        .batch_execute(fix)
        .await
        .expect("fix applies to the data");
    let after = audit(&db).await;
    assert_eq!(keys(&after, Rule::StatusTaxonomy), Vec::<String>::new());
}

#[tokio::test]
async fn metadata_naming_finds_other_names_json_and_missing_object_checks() {
    let (flat, _) = both(Rule::MetadataNaming).await;
    expect(
        &flat,
        Rule::MetadataNaming,
        &[
            "activity_log:data",
            "assets:custom_fields",
            "organizations:config",
            "workspaces:settings",
        ],
    );
    let settings = fix_of(&flat, "metadata-naming:public.workspaces:settings");
    assert!(settings.contains("type jsonb"), "{settings}");
    assert!(
        settings.contains("jsonb_typeof(settings) = 'object'"),
        "{settings}"
    );
    assert!(
        fix_of(&flat, "metadata-naming:public.organizations:config")
            .contains("rename column config to settings")
    );
    assert!(
        fix_of(&flat, "metadata-naming:public.assets:custom_fields")
            .contains("jsonb_build_object('custom_fields', custom_fields::jsonb)")
    );
}

#[tokio::test]
async fn timestamps_finds_missing_naive_and_untriggered_columns() {
    let (flat, clean) = both(Rule::Timestamps).await;
    expect(
        &flat,
        Rule::Timestamps,
        &[
            "activity_log:created_at",
            "activity_log:deleted_at",
            "activity_log:updated_at",
            "assets:created_at",
            "assets:deleted_at",
            "assets:purchased_at",
            "assets:updated_at",
            "events:starts_at",
            "events:updated_at",
            "invoices:updated_at",
            "organizations:deleted_at",
            "organizations:updated_at",
            "productions:updated_at",
            "tasks:updated_at",
            "users:created_at",
            "users:deleted_at",
            "users:updated_at",
            "workspaces:created_at",
            "workspaces:deleted_at",
            "workspaces:updated_at",
        ],
    );
    let starts = fix_of(&flat, "timestamps:public.events:starts_at");
    assert!(
        starts.contains("type timestamptz using starts_at at time zone 'UTC'"),
        "{starts}"
    );
    let trigger = fix_of(&flat, "timestamps:public.tasks:updated_at");
    assert!(
        trigger.contains("create trigger tasks_set_updated_at before update"),
        "{trigger}"
    );
    // A 1:1 detail table inherits deleted_at from its parent.
    assert_eq!(
        allowed(&clean, Rule::Timestamps),
        ["timestamps:public.workspace_profiles:deleted_at"]
    );
}

#[tokio::test]
async fn fk_delete_rule_finds_no_action_keys() {
    let (flat, _) = both(Rule::FkDeleteRule).await;
    expect(
        &flat,
        Rule::FkDeleteRule,
        &[
            "assets:assets_production_id_fkey",
            "assets:assets_workspace_id_fkey",
            "invoices:invoices_organization_id_fkey",
            "invoices:invoices_user_id_fkey",
            "invoices:invoices_workspace_id_fkey",
            "productions:productions_manager_id_fkey",
            "productions:productions_workspace_id_fkey",
            "workspaces:workspaces_organization_id_fkey",
        ],
    );
    let f = flat
        .findings
        .iter()
        .find(|f| f.key == "fk-delete-rule:public.productions:productions_manager_id_fkey")
        .expect("found");
    assert!(
        f.message
            .contains("cannot tell a stated NO ACTION from the default")
    );
    assert!(
        f.fix
            .as_deref()
            .is_some_and(|x| x.contains("on delete set null"))
    );
    assert!(
        fix_of(
            &flat,
            "fk-delete-rule:public.assets:assets_production_id_fkey"
        )
        .contains("on delete restrict")
    );
}

#[tokio::test]
async fn fk_unindexed_finds_keys_no_index_leads_with() {
    let (flat, clean) = both(Rule::FkUnindexed).await;
    expect(
        &flat,
        Rule::FkUnindexed,
        &[
            "activity_log:activity_log_workspace_id_fkey",
            "assets:assets_workspace_id_fkey",
            "invoices:invoices_organization_id_fkey",
            "invoices:invoices_user_id_fkey",
            "invoices:invoices_workspace_id_fkey",
            "productions:productions_manager_id_fkey",
            "productions:productions_workspace_id_fkey",
            "workspaces:workspaces_organization_id_fkey",
        ],
    );
    assert_eq!(
        clean.summary.tables_fully_indexed,
        clean.summary.tables_with_foreign_keys
    );
}

#[tokio::test]
async fn fk_unindexed_does_not_count_partial_indexes() {
    let db = fixture(
        "create table p (id int primary key);
         create table c (id int primary key, p_id int references p on delete cascade,
                         deleted_at timestamptz);
         create index c_live_p_idx on c (p_id) where deleted_at is null;",
    )
    .await;
    assert_eq!(
        keys(&audit(&db).await, Rule::FkUnindexed),
        ["fk-unindexed:public.c:c_p_id_fkey"]
    );
}

#[tokio::test]
async fn index_duplicate_finds_identical_and_prefix_indexes() {
    let (flat, _) = both(Rule::IndexDuplicate).await;
    expect(
        &flat,
        Rule::IndexDuplicate,
        &["assets:assets_name_idx", "assets:assets_production_idx"],
    );
    assert_eq!(
        fix_of(&flat, "index-duplicate:public.assets:assets_production_idx"),
        "drop index public.assets_production_idx;"
    );
}

#[tokio::test]
async fn index_duplicate_keeps_unique_and_differently_filtered_indexes() {
    let db = fixture(
        "create table t (id int primary key, a int, b int, deleted_at timestamptz);
         create unique index t_a_key on t (a);
         create index t_a_b_idx on t (a, b);
         create index t_b_live_idx on t (b) where deleted_at is null;
         create index t_b_c_idx on t (b, a);
         create index t_a_plain_idx on t (a);",
    )
    .await;
    // t_a_key is unique (it enforces something); t_b_live_idx has another
    // predicate than t_b_c_idx; only t_a_plain_idx, identical to the unique
    // t_a_key, goes.
    assert_eq!(
        keys(&audit(&db).await, Rule::IndexDuplicate),
        ["index-duplicate:public.t:t_a_plain_idx"]
    );
}

#[tokio::test]
async fn no_primary_key_finds_tables_without_one() {
    let (flat, _) = both(Rule::NoPrimaryKey).await;
    expect(&flat, Rule::NoPrimaryKey, &["activity_log"]);
    let f = flat
        .findings
        .iter()
        .find(|f| f.rule == Rule::NoPrimaryKey)
        .expect("found");
    assert_eq!(f.severity, Severity::Error);
}

#[tokio::test]
async fn rls_missing_finds_unprotected_tenant_tables_and_per_row_calls() {
    let (flat, clean) = both(Rule::RlsMissing).await;
    expect(
        &flat,
        Rule::RlsMissing,
        &[
            "activity_log",
            "assets",
            "events:events_tenant",
            "invoices",
            "organizations",
            "productions",
            "tasks",
            "workspaces",
        ],
    );
    let hoist = fix_of(&flat, "rls-missing:public.events:events_tenant");
    assert!(
        hoist.contains("(select current_setting('app.workspace_id'::text, true))"),
        "{hoist}"
    );
    assert_eq!(
        clean.summary.tenant_tables,
        clean.summary.tenant_tables_with_rls
    );
    assert_eq!(flat.summary.tenant_tables_with_rls, 1);
}

#[tokio::test]
async fn money_type_finds_floats_and_free_precision() {
    let (flat, _) = both(Rule::MoneyType).await;
    expect(&flat, Rule::MoneyType, &["invoices:amount", "invoices:tax"]);
    let sev = |k: &str| {
        flat.findings
            .iter()
            .find(|f| f.key == k)
            .map(|f| f.severity)
    };
    assert_eq!(
        sev("money-type:public.invoices:amount"),
        Some(Severity::Error)
    );
    assert_eq!(sev("money-type:public.invoices:tax"), Some(Severity::Warn));
}

#[tokio::test]
async fn the_clean_layout_has_no_findings_at_all() {
    let clean = audit(&fixture(CLEAN).await).await;
    let found: Vec<&str> = clean.findings.iter().map(|f| f.key.as_str()).collect();
    assert!(found.is_empty(), "{found:#?}");
    assert_eq!(
        clean.summary.naming_consistent,
        clean.summary.naming_checked
    );
    assert_eq!(
        clean.summary.stated_delete_rules,
        clean.summary.foreign_keys
    );
}
