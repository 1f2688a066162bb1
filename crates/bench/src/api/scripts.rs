//! The baseline: what one request of each measured route executes, as a
//! pgbench custom script. Every statement is the one the service sends
//! (`showtree_db::pool::Db::run_as`, `showtree_db::nodes`,
//! `showtree_db::grants::effective_role`, `showtree_db::idempotency`), in
//! the same order, with its parameters written as literals (pgbench
//! variables hold no uuid) or, where they must differ per transaction, as
//! pgbench variables.

use showtree_core::NodeKind;
use uuid::Uuid;

use crate::access::NODE_COLUMNS;
use crate::hierarchy::quote_literal;

/// `limit` of a children page when the request names none, plus the one
/// extra row the route fetches to know whether a next page exists.
pub const CHILDREN_FETCH: u32 = showtree_api::pagination::DEFAULT_LIMIT + 1;

/// Hours an idempotency key lives (`showtree_db::idempotency`).
const KEY_LIFETIME_HOURS: i32 = showtree_db::idempotency::KEY_LIFETIME_HOURS;

/// What the service stored for one real `POST /v1/nodes` (its reply), so
/// the baseline writes a response of the same size.
#[derive(Debug, Clone)]
pub struct StoredReply {
    /// The JSON body, byte for byte.
    pub body: Vec<u8>,
    /// The `ETag` header.
    pub etag: String,
    /// The `Location` header.
    pub location: String,
}

/// `begin`, the caller's context (`claims`: the JSON the service sets, byte
/// for byte) and the transaction's `first` statement (`;\n`-terminated, no
/// `\gset`: pgbench refuses it in a pipeline) sent together, one round
/// trip, as `Db::run_as` does.
pub fn context_with(claims: &str, first: &str) -> String {
    // the claims' `sub`, set alone as well (`pool::SET_CONTEXT`)
    let sub = serde_json::from_str::<serde_json::Value>(claims)
        .ok()
        .and_then(|c| c.get("sub").and_then(|s| s.as_str()).map(str::to_owned))
        .unwrap_or_default();
    format!(
        "\\startpipeline\n\
         begin;\n\
         select set_config('request.jwt.claims', {}, true), \
         set_config('request.jwt.claim.sub', {}, true), set_config('role', 'authenticated', true);\n\
         {first}\
         \\endpipeline\n",
        quote_literal(claims),
        quote_literal(&sub)
    )
}

/// `nodes::find` of a literal id.
pub(crate) fn find(id: Uuid) -> String {
    format!("select {NODE_COLUMNS} from showtree.nodes where id = '{id}';\n")
}

/// `grants::effective_role` (what `require` asks before every answer).
pub(crate) fn effective_role(org_id: Uuid, id: &str) -> String {
    format!("select private.effective_role('{org_id}', {id})::text;\n")
}

/// `nodes::details` of a node of `kind`; `id` is a literal or a variable.
fn details(kind: NodeKind, org_id: Uuid, id: &str) -> String {
    let select = match kind {
        NodeKind::Organization => {
            "select base_currency::text, timezone, updated_at from showtree.organizations"
        }
        NodeKind::Project => "select description, updated_at from showtree.projects",
        NodeKind::Production => "select description, updated_at from showtree.productions",
        NodeKind::Activation => {
            "select starts_at, ends_at, timezone, venue, capacity, updated_at \
             from showtree.activations"
        }
        NodeKind::Workspace => "select workspace_type, updated_at from showtree.workspaces",
    };
    format!("{select} where org_id = '{org_id}' and node_id = {id};\n")
}

pub(crate) fn literal(id: Uuid) -> String {
    format!("'{id}'")
}

/// `GET /v1/nodes/{id}`: find, the caller's role there, the level's row.
pub fn get_node(claims: &str, org_id: Uuid, id: Uuid, kind: NodeKind) -> String {
    format!(
        "{}{}{}commit;\n",
        context_with(claims, &find(id)),
        effective_role(org_id, &literal(id)),
        details(kind, org_id, &literal(id))
    )
}

/// `GET /v1/nodes/{id}/children` (first page, default limit): find, the
/// caller's role, `nodes::children_page` without a cursor.
pub fn children(claims: &str, org_id: Uuid, id: Uuid) -> String {
    format!(
        "{}{}select {NODE_COLUMNS} from showtree.nodes c \
         where c.org_id = '{org_id}' and c.parent_id = '{id}' and c.deleted_at is null \
         and (null::text is null or (c.name, c.id) > (null::text, null::uuid)) \
         order by c.name, c.id limit {CHILDREN_FETCH};\ncommit;\n",
        context_with(claims, &find(id)),
        effective_role(org_id, &literal(id)),
    )
}

/// `POST /v1/nodes` of a workspace under `parent` with an `Idempotency-Key`:
/// claim the key (expire the caller's old keys, insert), find the parent,
/// the caller's role there, insert the node, the caller's role at it, its
/// level's row, store the reply under the key. The key and the slug are a
/// random number per transaction (`:key`); the node's id comes from
/// `gen_random_uuid()` (the service makes a uuid v7 itself) and is read
/// back with `\gset` for the statements after the insert.
pub fn create_node(
    claims: &str,
    org_id: Uuid,
    parent: Uuid,
    actor: Uuid,
    request_hash: &[u8],
    reply: &StoredReply,
) -> String {
    let mut s = String::from("\\set key random(1, 9000000000000000000)\n");
    s += &context_with(
        claims,
        &format!(
            "with expired as ( \
             update showtree.idempotency_keys set deleted_at = now() \
             where owner_id = (select auth.uid()) and deleted_at is null \
             and created_at < now() - make_interval(hours => {KEY_LIFETIME_HOURS}) \
             returning 1) \
             delete from showtree.idempotency_keys \
             where owner_id = (select auth.uid()) and deleted_at < now() - interval '7 days';\n"
        ),
    );
    s += &format!(
        "insert into showtree.idempotency_keys (owner_id, key, request_hash) \
         values (auth.uid(), :key, {}) \
         on conflict (owner_id, key) where deleted_at is null do nothing returning id;\n",
        bytea(request_hash)
    );
    s += &find(parent);
    s += &effective_role(org_id, &literal(parent));
    s += &format!(
        "insert into showtree.nodes \
         (org_id, id, parent_id, kind, name, slug, restricted, created_by, updated_by) \
         values ('{org_id}', gen_random_uuid(), '{parent}', 'workspace'::text::showtree.node_kind, \
         'Bench workspace', :key, false, '{actor}', '{actor}') \
         returning {NODE_COLUMNS} \\gset new_\n"
    );
    s += &effective_role(org_id, ":new_id");
    s += &details(NodeKind::Workspace, org_id, ":new_id");
    s += &format!(
        "update showtree.idempotency_keys \
         set response_status = 201, response_body = {}, response_etag = {}, \
         response_location = {} \
         where owner_id = (select auth.uid()) and key = :key and deleted_at is null;\n",
        bytea(&reply.body),
        quote_literal(&reply.etag),
        quote_literal(&reply.location)
    );
    s += "commit;\n";
    s
}

/// A bytea literal (`'\x...'`, standard_conforming_strings on).
pub(crate) fn bytea(bytes: &[u8]) -> String {
    let mut hex = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        hex += &format!("{b:02x}");
    }
    format!("'\\x{hex}'")
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLAIMS: &str = r#"{"role":"authenticated","sub":"x"}"#;

    #[test]
    fn scripts_pipeline_begin_context_and_first_statement_then_commit() {
        let (org, id) = (Uuid::now_v7(), Uuid::now_v7());
        let reply = StoredReply {
            body: b"{}".to_vec(),
            etag: "\"e\"".into(),
            location: format!("/v1/nodes/{id}"),
        };
        for script in [
            get_node(CLAIMS, org, id, NodeKind::Activation),
            children(CLAIMS, org, id),
            create_node(CLAIMS, org, id, id, &[0xab; 32], &reply),
        ] {
            assert!(
                script.contains(&format!(
                    "\\startpipeline\nbegin;\nselect set_config('request.jwt.claims', '{CLAIMS}', true)"
                )),
                "{script}"
            );
            // the claims' sub alone too, as `pool::SET_CONTEXT` sets it
            assert!(
                script.contains("set_config('request.jwt.claim.sub', 'x', true)"),
                "{script}"
            );
            assert!(script.contains("\\endpipeline\n"), "{script}");
            // begin, the context and the first statement: one round trip
            let pipeline = script
                .split("\\startpipeline\n")
                .nth(1)
                .and_then(|rest| rest.split("\\endpipeline\n").next())
                .expect("a pipeline");
            assert_eq!(pipeline.matches(";\n").count(), 3, "{pipeline}");
            assert!(!pipeline.contains("\\gset"), "{pipeline}");
            assert!(script.ends_with("commit;\n"), "{script}");
            assert!(
                script.contains(&format!("private.effective_role('{org}', ")),
                "{script}"
            );
        }
    }

    #[test]
    fn the_read_script_reads_the_level_row_of_the_node_kind() {
        let (org, id) = (Uuid::now_v7(), Uuid::now_v7());
        let script = get_node(CLAIMS, org, id, NodeKind::Activation);
        assert!(
            script.contains(&format!(
                "from showtree.activations where org_id = '{org}' and node_id = '{id}';"
            )),
            "{script}"
        );
        assert!(
            script.contains(&format!("from showtree.nodes where id = '{id}';")),
            "{script}"
        );
    }

    #[test]
    fn the_children_script_fetches_one_row_more_than_the_default_page() {
        let script = children(CLAIMS, Uuid::now_v7(), Uuid::now_v7());
        assert!(
            script.contains("order by c.name, c.id limit 101;"),
            "{script}"
        );
    }

    #[test]
    fn the_create_script_varies_key_and_slug_and_reads_the_new_id_back() {
        let (org, parent, actor) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let reply = StoredReply {
            body: b"{\"id\":1}".to_vec(),
            etag: "\"abc\"".into(),
            location: "/v1/nodes/x".into(),
        };
        let script = create_node(CLAIMS, org, parent, actor, &[1, 2], &reply);
        assert!(script.starts_with("\\set key random("), "{script}");
        assert!(
            script.contains("values (auth.uid(), :key, '\\x0102')"),
            "{script}"
        );
        assert!(
            script.contains("'Bench workspace', :key, false"),
            "{script}"
        );
        assert!(script.contains(" \\gset new_\n"), "{script}");
        assert!(
            script.contains(&format!("private.effective_role('{org}', :new_id)::text;")),
            "{script}"
        );
        assert!(
            script.contains("response_body = '\\x7b226964223a317d'"),
            "{script}"
        );
        assert!(
            script.contains("key = :key and deleted_at is null;"),
            "{script}"
        );
    }
}
