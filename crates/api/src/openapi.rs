//! The OpenAPI 3.1 document, generated from the handlers' annotations:
//! the router is built from the same `routes!` lists (utoipa-axum), so a
//! route cannot exist without its documentation.

use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{Operation, ParameterBuilder, ParameterIn};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{
    ContentBuilder, ObjectBuilder, OpenApi as Document, Ref, RefOr, Required, ResponseBuilder, Type,
};
use utoipa::{Modify, OpenApi};

use crate::error::{FieldError, PROBLEM_JSON, Problem};

/// The document's fixed parts; paths come from the routers.
#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "showtree",
        description = "The operations backbone of a live-event production company: one hierarchy \
                       (organization > project > production > activation > workspace), access \
                       inherited down it. Errors are application/problem+json (RFC 9457).",
        license(name = "Apache-2.0", identifier = "Apache-2.0")
    ),
    components(schemas(Problem, FieldError, crate::collection::ListScope)),
    modifiers(&Security),
    tags(
        (name = "health", description = "Liveness and readiness"),
        (name = "auth", description = "Accounts, access tokens and personal API tokens"),
        (name = "nodes", description = "The hierarchy"),
        (name = "access", description = "Grants and who may do what"),
        (name = "tasks", description = "The work of a node"),
        (name = "finance", description = "Budget lines, invoices and their lines (the finance capability)"),
        (name = "schedule", description = "The run of show"),
        (name = "crew", description = "Who works where and when (rates with finance)"),
        (name = "assets", description = "The organization's equipment and where it is"),
        (name = "documents", description = "Files of a node and their versions"),
        (name = "reference data", description = "An organization's vendors, people, tags and exchange rates"),
        (name = "search", description = "Full-text search over a subtree"),
        (name = "rollups", description = "Money, work and headcount of a subtree"),
    )
)]
pub struct ApiDoc;

/// The name of the bearer security scheme handlers refer to.
pub const BEARER: &str = "bearer";

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut Document) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT or personal API token")
                    .build(),
            ),
        );
    }
}

/// Adds the problem+json error responses every operation can give, so each
/// handler's annotation only lists what is particular to it. Applied by
/// [`split`] once the routers have added their paths (the `#[openapi]`
/// modifiers run before that, on a document without paths).
struct ErrorResponses;

fn problem(description: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            PROBLEM_JSON,
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        )
        .build()
}

fn add(op: &mut Operation, status: &str, description: &str) {
    if !op.responses.responses.contains_key(status) {
        op.responses
            .responses
            .insert(status.to_owned(), problem(description).into());
    }
}

impl Modify for ErrorResponses {
    fn modify(&self, openapi: &mut Document) {
        for (path, item) in openapi.paths.paths.iter_mut() {
            let has_path_param = path.contains('{');
            let ops = [
                ("get", item.get.as_mut()),
                ("post", item.post.as_mut()),
                ("patch", item.patch.as_mut()),
                ("delete", item.delete.as_mut()),
            ];
            for (method, op) in ops {
                let Some(op) = op else { continue };
                let params = op.parameters.as_deref().unwrap_or_default();
                let has_query = params.iter().any(|p| p.parameter_in == ParameterIn::Query);
                let has_header = |name: &str| {
                    params.iter().any(|p| {
                        p.parameter_in == ParameterIn::Header && p.name.eq_ignore_ascii_case(name)
                    })
                };
                let (if_match, idempotent) =
                    (has_header("If-Match"), has_header("Idempotency-Key"));
                let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
                if has_path_param
                    || has_query
                    || op.request_body.is_some()
                    || if_match
                    || idempotent
                {
                    add(
                        op,
                        "400",
                        "Malformed request: body, path, query or header parameters",
                    );
                }
                if secured {
                    add(
                        op,
                        "401",
                        "Missing, invalid, expired or revoked credentials",
                    );
                    add(
                        op,
                        "403",
                        "The caller may see the resource but lacks the capability",
                    );
                }
                if has_path_param {
                    add(op, "404", "No such resource, or one the caller cannot see");
                }
                if op.request_body.is_some() {
                    add(op, "413", "The body is larger than the limit");
                    add(op, "415", "The body is not application/json");
                }
                if op.request_body.is_some() || idempotent {
                    add(
                        op,
                        "422",
                        "Invalid content, or an Idempotency-Key reused for another request",
                    );
                }
                if method != "get" && secured {
                    add(op, "409", "The request conflicts with the current state");
                }
                if if_match {
                    add(op, "412", "If-Match does not name the current version");
                    add(op, "428", "If-Match is required");
                }
                add(op, "500", "Internal error (details are logged, never sent)");
                add(
                    op,
                    "503",
                    "The database is unreachable, or the request timed out",
                );
            }
        }
    }
}

/// Documents conditional GET where `middleware::not_modified` applies it:
/// every GET whose 200 response carries an ETag takes `If-None-Match` and
/// may answer 304.
struct NotModified;

impl Modify for NotModified {
    fn modify(&self, openapi: &mut Document) {
        let text = || ObjectBuilder::new().schema_type(Type::String).build();
        for item in openapi.paths.paths.values_mut() {
            let Some(op) = item.get.as_mut() else {
                continue;
            };
            let tagged = match op.responses.responses.get("200") {
                Some(RefOr::T(ok)) => ok.headers.contains_key("ETag"),
                _ => false,
            };
            if !tagged {
                continue;
            }
            op.parameters.get_or_insert_with(Vec::new).push(
                ParameterBuilder::new()
                    .name("If-None-Match")
                    .parameter_in(ParameterIn::Header)
                    .required(Required::False)
                    .description(Some(
                        "ETags the client holds (or `*`): when one names the current version \
                         (weak comparison), the answer is 304 without a body",
                    ))
                    .schema(Some(text()))
                    .build(),
            );
            op.responses.responses.insert(
                "304".to_owned(),
                ResponseBuilder::new()
                    .description("Not modified: If-None-Match names the current version")
                    .header(
                        "ETag",
                        HeaderBuilder::new()
                            .schema(text())
                            .description(Some("The current version"))
                            .build(),
                    )
                    .build()
                    .into(),
            );
        }
    }
}

/// The router and its complete document.
pub fn split() -> (axum::Router<crate::state::AppState>, Document) {
    let (router, mut doc) = crate::routes::router().split_for_parts();
    ErrorResponses.modify(&mut doc);
    NotModified.modify(&mut doc);
    (router, doc)
}

/// The complete document, as `/openapi.json` serves it.
pub fn document() -> Document {
    split().1
}
