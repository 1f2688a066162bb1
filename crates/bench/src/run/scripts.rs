//! The baseline of `bench run`: what the service executes for one request
//! of each operation, as a pgbench custom script, under the same request
//! context (claims and role pipelined with `begin` and the first statement,
//! as `Db::run_as`). The
//! statements are built from the same sources the service builds them from
//! (`showtree_db::domain::Table`'s view and joins, `showtree_db::rollups::METRICS`,
//! `showtree_db::nodes::NODE_COLUMNS`), with parameters as literals or, where
//! they must differ per transaction, pgbench variables. What is left out:
//! HTTP, JSON (de)serialization, and the denial audit (only on errors).

use serde_json::{Map, Value};
use showtree_core::NodeKind;
use showtree_db::domain::{SubtreePlan, Table, subtree_condition, tables};
use showtree_db::nodes::NODE_COLUMNS;
use showtree_db::rollups::{FIRST_CLOCK, FIRST_MONEY, METRICS};
use uuid::Uuid;

use super::workload::{self, Job, Op, TASK_PAGE};
use crate::api::scripts::{bytea, context_with, effective_role, find, literal};
use crate::hierarchy::quote_literal;

/// Hours an idempotency key lives (`showtree_db::idempotency`).
const KEY_LIFETIME_HOURS: i32 = showtree_db::idempotency::KEY_LIFETIME_HOURS;

/// A stored reply of the size the service stores for a new row (its JSON
/// view), so the baseline writes as many bytes into the key's row.
const REPLY_BYTES: usize = 700;

/// The script of `op` on `job`, for the caller whose claims are `claims`.
pub fn script(op: Op, job: &Job, claims: &str) -> String {
    let (org, node) = (job.org_id, job.node_id);
    let mut s = String::new();
    // `begin`, the context and `nodes::find` in one round trip, then the
    // caller's role there
    let guard = |s: &mut String| {
        *s += &context_with(claims, &find(node));
        *s += &effective_role(org, &literal(node));
    };
    match op {
        Op::Node => {
            return crate::api::scripts::get_node(claims, org, node, job.kind);
        }
        Op::Children => return crate::api::scripts::children(claims, org, node),
        Op::Ancestors => {
            guard(&mut s);
            s += &format!(
                "select {NODE_COLUMNS} from showtree.node_ancestors('{org}', '{node}');\n"
            );
        }
        Op::TaskList => {
            guard(&mut s);
            s += &task_list(org, node, job.kind);
        }
        Op::Rollup => {
            guard(&mut s);
            let base: Vec<String> = METRICS[FIRST_MONEY..FIRST_CLOCK]
                .iter()
                .map(|m| format!("base_{m}"))
                .collect();
            // the first page of children, one more than the route's default
            // limit (proof of a next page), as the route asks
            s += &format!(
                "select now(), kind, child_id, currency::text, money_visible, {}, pending, \
                 base_currency::text, {}, child_name, child_kind \
                 from private.rollup('{org}', '{node}', false, null, null, 101);\n",
                METRICS.join(", "),
                base.join(", ")
            );
        }
        Op::Search => {
            guard(&mut s);
            s += &format!(
                "select kind, id, node_id, title, rank \
                 from showtree.search_subtree('{org}', '{node}', {}, 20);\n",
                quote_literal(job.word.as_deref().unwrap_or("stage"))
            );
        }
        Op::TaskCreate => {
            s += "\\set key random(1, 9000000000000000000)\n";
            let (expire, insert_key) = claim_key();
            s += &context_with(claims, &expire);
            s += &insert_key;
            s += &find(node);
            s += &effective_role(org, &literal(node));
            s += &insert(&tables::TASKS, org, node, &workload::task_body(1));
            s += &complete_key(&format!("/v1/tasks/{}", Uuid::nil()));
        }
        Op::InvoiceCreate => {
            s += "\\set key random(1, 9000000000000000000)\n";
            let (expire, insert_key) = claim_key();
            s += &context_with(claims, &expire);
            s += &insert_key;
            s += &find(node);
            s += &effective_role(org, &literal(node));
            // the number must be new per vendor: the key is
            let body = workload::invoice_body(job, ":key");
            s += &insert(&tables::INVOICES, org, node, &body)
                .replace("BENCH-:key", "BENCH-' || :key || '");
            s += &complete_key(&format!("/v1/invoices/{}", Uuid::nil()));
        }
        Op::TaskUpdate => {
            let id = job.row_id.unwrap_or(Uuid::nil());
            let t = &tables::TASKS;
            s += "\\set p random(0, 3)\n";
            s += &context_with(
                claims,
                &format!("select org_id, node_id from private.locate_row('tasks', '{id}');\n"),
            );
            s += &find(node);
            s += &effective_role(org, &literal(node));
            s += &format!(
                "select {view} from showtree.tasks t {join} where t.id = '{id}'{live} and t.deleted_at is null;\n",
                view = t.view_sql(),
                join = t.node_join(),
                live = t.node_live(),
            );
            s += &format!(
                "select {view} from showtree.tasks t where t.id = '{id}' for no key update;\n",
                view = t.view_sql()
            );
            s += &format!(
                "update showtree.tasks as t set (priority) = row(r.priority) \
                 from jsonb_populate_record(null::showtree.tasks, \
                 jsonb_build_object('priority', (array['low', 'medium', 'high', 'urgent'])[:p + 1])) r \
                 where t.org_id = '{org}' and t.id = '{id}' returning {view};\n",
                view = t.view_sql()
            );
        }
    }
    s += "commit;\n";
    s
}

/// `domain::list` of tasks over the subtree of `node`, the first page, with
/// the plan the service picks: the id-order walk at an organization's root,
/// the read through the nodes below it (`domain::subtree_plan` counts the
/// subtree there; a subtree of more than 2,000 nodes below the root would
/// walk in the service and not here).
fn task_list(org: Uuid, node: Uuid, kind: NodeKind) -> String {
    let t = &tables::TASKS;
    let plan = if kind == NodeKind::Organization {
        SubtreePlan::Walk
    } else {
        SubtreePlan::ThroughNodes
    };
    let (join, live) = match plan {
        SubtreePlan::Walk => (String::new(), ""),
        SubtreePlan::ThroughNodes => (t.node_join(), t.node_live()),
    };
    format!(
        "select {view} from showtree.tasks t {join} where t.org_id = '{org}' and t.deleted_at is null{live}\
         {cond} order by t.id limit {};\n",
        TASK_PAGE + 1,
        view = t.view_sql(),
        cond = subtree_condition(plan, &format!("'{org}'"), &format!("'{node}'")),
    )
}

/// `domain::insert` of `body` (a JSON object) under `node`.
fn insert(t: &Table, org: Uuid, node: Uuid, body: &Value) -> String {
    let empty = Map::new();
    let values = body.as_object().unwrap_or(&empty);
    let cols: Vec<&str> = t
        .insertable
        .iter()
        .copied()
        .filter(|c| values.contains_key(*c))
        .collect();
    format!(
        "insert into showtree.{name} as t (org_id, node_id{cols}) \
         select '{org}', '{node}'{vals} from jsonb_populate_record(null::showtree.{name}, ({json})::jsonb) r \
         returning {view};\n",
        name = t.name,
        cols = cols.iter().map(|c| format!(", {c}")).collect::<String>(),
        vals = cols.iter().map(|c| format!(", r.{c}")).collect::<String>(),
        json = quote_literal(&body.to_string()),
        view = t.view_sql(),
    )
}

/// `idempotency::claim` of `:key`: expire the caller's old keys, insert.
fn claim_key() -> (String, String) {
    (
        format!(
            "with expired as ( \
             update showtree.idempotency_keys set deleted_at = now() \
             where owner_id = (select auth.uid()) and deleted_at is null \
             and created_at < now() - make_interval(hours => {KEY_LIFETIME_HOURS}) \
             returning 1) \
             delete from showtree.idempotency_keys \
             where owner_id = (select auth.uid()) and deleted_at < now() - interval '7 days';\n"
        ),
        format!(
            "insert into showtree.idempotency_keys (owner_id, key, request_hash) \
             values (auth.uid(), :key, {}) \
             on conflict (owner_id, key) where deleted_at is null do nothing returning id;\n",
            bytea(&[7u8; 32])
        ),
    )
}

/// `idempotency::complete` of `:key` with a reply of the service's size.
fn complete_key(location: &str) -> String {
    format!(
        "update showtree.idempotency_keys \
         set response_status = 201, response_body = {}, response_etag = {}, \
         response_location = {} \
         where owner_id = (select auth.uid()) and key = :key and deleted_at is null;\n",
        bytea(&[b'x'; REPLY_BYTES]),
        quote_literal("\"0123456789abcdef\""),
        quote_literal(location)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use showtree_core::NodeKind;

    const CLAIMS: &str = r#"{"role":"authenticated","sub":"x"}"#;

    fn job() -> Job {
        Job {
            caller: 0,
            level: workload::Level::Org,
            org_id: Uuid::now_v7(),
            node_id: Uuid::now_v7(),
            kind: NodeKind::Activation,
            row_id: Some(Uuid::now_v7()),
            word: Some("o'clock".into()),
            vendor_id: Some(Uuid::now_v7()),
            currency: Some("EUR".into()),
        }
    }

    #[test]
    fn every_operation_pipelines_begin_the_context_and_its_first_statement() {
        let job = job();
        for op in Op::ALL {
            let s = script(op, &job, CLAIMS);
            let pipeline = s
                .split("\\startpipeline\n")
                .nth(1)
                .and_then(|rest| rest.split("\\endpipeline\n").next())
                .unwrap_or_else(|| panic!("{op:?}: no pipeline: {s}"));
            assert!(pipeline.starts_with("begin;\n"), "{op:?}: {pipeline}");
            assert_eq!(pipeline.matches(";\n").count(), 3, "{op:?}: {pipeline}");
            assert!(!pipeline.contains("\\gset"), "{op:?}: {pipeline}");
        }
    }

    #[test]
    fn every_operation_runs_in_the_callers_context_and_commits() {
        let job = job();
        for op in Op::ALL {
            let s = script(op, &job, CLAIMS);
            assert!(s.contains("set_config('request.jwt.claims'"), "{op:?}: {s}");
            assert!(s.trim_end().ends_with("commit;"), "{op:?}");
            assert!(s.contains(&job.node_id.to_string()), "{op:?}");
            assert_eq!(
                s.contains(":key"),
                matches!(op, Op::TaskCreate | Op::InvoiceCreate),
                "{op:?}"
            );
        }
        let search = script(Op::Search, &job, CLAIMS);
        assert!(search.contains("'o''clock'"), "{search}");
        let invoice = script(Op::InvoiceCreate, &job, CLAIMS);
        assert!(invoice.contains("insert into showtree.invoices as t (org_id, node_id, vendor_id, number, issued_on, currency)"), "{invoice}");
        assert!(invoice.contains("BENCH-' || :key || '"), "{invoice}");
    }
}
