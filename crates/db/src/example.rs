//! The Insomniac example tree `showtree demo` loads (DESIGN.md's picture,
//! grown to a few festivals so navigation has something to show).

use crate::Sql;
use showtree_core::{Currency, NodeKind, NodeName, Slug};
use time::macros::datetime;
use uuid::Uuid;

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use crate::DbError;
use crate::domain::{self, Table, tables as T};
use crate::nodes::{self, LevelFields, NewNode, Node};

/// The example organization's slug; loading replaces any organization
/// with this slug, so the demo can run again and again.
pub const EXAMPLE_ORG_SLUG: &str = "insomniac";

/// One node of the example, with its children.
struct Spec {
    kind: NodeKind,
    name: &'static str,
    level: fn() -> LevelFields,
    children: &'static [Spec],
}

const fn node(kind: NodeKind, name: &'static str, children: &'static [Spec]) -> Spec {
    Spec {
        kind,
        name,
        level: || LevelFields::Defaults,
        children,
    }
}

const fn stage(name: &'static str, children: &'static [Spec]) -> Spec {
    Spec {
        kind: NodeKind::Workspace,
        name,
        level: || LevelFields::Workspace {
            workspace_type: "stage".into(),
        },
        children,
    }
}

const fn department(name: &'static str) -> Spec {
    Spec {
        kind: NodeKind::Workspace,
        name,
        level: || LevelFields::Workspace {
            workspace_type: "department".into(),
        },
        children: &[],
    }
}

use NodeKind::{Activation, Production, Project};

const PROJECTS: &[Spec] = &[
    node(
        Project,
        "Festivals",
        &[
            node(
                Production,
                "EDC",
                &[
                    Spec {
                        kind: Activation,
                        name: "EDC Las Vegas 2025",
                        level: || LevelFields::Activation {
                            starts_at: Some(datetime!(2025-05-16 19:00 -7)),
                            ends_at: Some(datetime!(2025-05-19 05:30 -7)),
                            timezone: "America/Los_Angeles".into(),
                            venue: "Las Vegas Motor Speedway".into(),
                            capacity: Some(185_000),
                        },
                        children: &[
                            stage(
                                "Kinetic Field",
                                &[
                                    department("Site Operations"),
                                    department("Production Office"),
                                ],
                            ),
                            stage("Circuit Grounds", &[department("Site Operations")]),
                            stage("cosmicMEADOW", &[]),
                        ],
                    },
                    Spec {
                        kind: Activation,
                        name: "EDC Orlando 2025",
                        level: || LevelFields::Activation {
                            starts_at: Some(datetime!(2025-11-07 16:00 -5)),
                            ends_at: Some(datetime!(2025-11-09 23:59 -5)),
                            timezone: "America/New_York".into(),
                            venue: "Tinker Field".into(),
                            capacity: Some(60_000),
                        },
                        children: &[stage("Kinetic Field", &[])],
                    },
                ],
            ),
            node(
                Production,
                "Beyond Wonderland",
                &[node(
                    Activation,
                    "Beyond Wonderland SoCal 2025",
                    &[stage("Queen's Domain", &[])],
                )],
            ),
        ],
    ),
    node(
        Project,
        "Club Nights",
        &[node(
            Production,
            "Factory 93",
            &[node(Activation, "Factory 93 Halloween", &[])],
        )],
    ),
];

/// Loads the example tree in the caller's transaction, replacing a
/// previous copy, and returns its organization.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn load(c: &impl Sql) -> Result<Node, DbError> {
    let slug = Slug::parse(EXAMPLE_ORG_SLUG).map_err(|e| DbError::Unexpected(e.to_string()))?;
    for old in nodes::organizations_by_slug(c, &slug).await? {
        nodes::purge_organization(c, old.org_id).await?;
    }
    let name = |s: &str| NodeName::parse(s).map_err(|e| DbError::Unexpected(e.to_string()));
    let mut org = NewNode::organization(name("Insomniac")?);
    org.slug = Some(slug);
    org.level = LevelFields::Organization {
        base_currency: Currency::parse("USD").map_err(|e| DbError::Unexpected(e.to_string()))?,
        timezone: "America/Los_Angeles".into(),
    };
    let org = nodes::create(c, &org, None).await?;
    // depth-first, iteratively: (parent, its path, specs still to create under it)
    let mut paths: HashMap<String, Uuid> = HashMap::new();
    let mut stack: Vec<(Uuid, String, &'static [Spec])> = vec![(org.id, String::new(), PROJECTS)];
    while let Some((parent, path, specs)) = stack.pop() {
        for spec in specs {
            let mut new = NewNode::child(org.org_id, parent, spec.kind, name(spec.name)?);
            new.level = (spec.level)();
            let created = nodes::create(c, &new, None).await?;
            let here = if path.is_empty() {
                spec.name.to_owned()
            } else {
                format!("{path}/{}", spec.name)
            };
            paths.insert(here.clone(), created.id);
            if !spec.children.is_empty() {
                stack.push((created.id, here, spec.children));
            }
        }
    }
    load_domain(c, org.org_id, &paths).await?;
    Ok(org)
}

/// Inserts one row of a domain table and returns its id.
async fn row(
    c: &impl Sql,
    table: &Table,
    org_id: Uuid,
    node_id: Option<Uuid>,
    values: Value,
) -> Result<Uuid, DbError> {
    let Value::Object(values) = values else {
        return Err(DbError::Unexpected("example rows are objects".into()));
    };
    let view = domain::insert(c, table, org_id, node_id, &values).await?;
    view.get("id")
        .and_then(Value::as_str)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| DbError::Unexpected("a row view without an id".into()))
}

/// The example's production data: vendors, people, assets and tags of the
/// organization; budgets, invoices, tasks, the run of show, crew and
/// documents at its nodes, in US dollars, euros and pounds.
async fn load_domain(
    c: &impl Sql,
    org: Uuid,
    paths: &HashMap<String, Uuid>,
) -> Result<(), DbError> {
    let at = |p: &str| {
        paths
            .get(p)
            .copied()
            .ok_or_else(|| DbError::Unexpected(format!("no example node {p}")))
    };
    let edc = at("Festivals/EDC")?;
    let lv = at("Festivals/EDC/EDC Las Vegas 2025")?;
    let kinetic = at("Festivals/EDC/EDC Las Vegas 2025/Kinetic Field")?;
    let site_ops = at("Festivals/EDC/EDC Las Vegas 2025/Kinetic Field/Site Operations")?;
    let circuit = at("Festivals/EDC/EDC Las Vegas 2025/Circuit Grounds")?;
    let orlando = at("Festivals/EDC/EDC Orlando 2025/Kinetic Field")?;
    let beyond = at("Festivals/Beyond Wonderland/Beyond Wonderland SoCal 2025")?;
    let factory = at("Club Nights/Factory 93/Factory 93 Halloween")?;

    let o = Some(org);
    let stageco = row(
        c,
        &T::VENDORS,
        org,
        o,
        json!({"name": "Stageco", "email": "bookings@stageco.example"}),
    )
    .await?;
    let pyro = row(
        c,
        &T::VENDORS,
        org,
        o,
        json!({"name": "Pyrotecnico", "phone": "+1 724 555 0142"}),
    )
    .await?;
    let agency = row(
        c,
        &T::VENDORS,
        org,
        o,
        json!({"name": "Wasserman Music (London)"}),
    )
    .await?;
    let urgent = row(
        c,
        &T::TAGS,
        org,
        o,
        json!({"name": "urgent", "color": "#d92d20"}),
    )
    .await?;
    let safety = row(
        c,
        &T::TAGS,
        org,
        o,
        json!({"name": "safety", "color": "#f79009"}),
    )
    .await?;
    let headliner = row(
        c,
        &T::TAGS,
        org,
        o,
        json!({"name": "headliner", "color": "#7a5af8"}),
    )
    .await?;

    let rigger = row(
        c,
        &T::PEOPLE,
        org,
        o,
        json!({"name": "Dana Okafor", "kind": "crew", "email": "dana@crew.example"}),
    )
    .await?;
    let sm = row(
        c,
        &T::PEOPLE,
        org,
        o,
        json!({"name": "Luis Herrera", "kind": "staff"}),
    )
    .await?;
    let lx = row(
        c,
        &T::PEOPLE,
        org,
        o,
        json!({"name": "Mei Tanaka", "kind": "crew"}),
    )
    .await?;
    let artist = row(
        c,
        &T::PEOPLE,
        org,
        o,
        json!({"name": "Kaskade", "kind": "artist"}),
    )
    .await?;
    let pyro_tech = row(
        c,
        &T::PEOPLE,
        org,
        o,
        json!({"name": "Ray Brooks", "kind": "vendor_staff", "vendor_id": pyro}),
    )
    .await?;

    let truss = row(
        c,
        &T::ASSETS,
        org,
        o,
        json!({"name": "Truss 12m", "category": "staging", "serial": "TR-0012"}),
    )
    .await?;
    let array = row(
        c,
        &T::ASSETS,
        org,
        o,
        json!({"name": "L-Acoustics K2 array", "category": "audio", "serial": "K2-0301"}),
    )
    .await?;
    let radio = row(c, &T::ASSETS, org, o, json!({"name": "Motorola radios (crate of 24)", "category": "comms", "serial": "RAD-24-07"})).await?;
    let _spare = row(c, &T::ASSETS, org, o, json!({"name": "Generator 500kVA", "category": "power", "serial": "GEN-500-2", "status": "review"})).await?;

    for (node, category, amount, currency) in [
        (lv, "Security", 420_000_000_i64, "USD"),
        (kinetic, "Staging", 185_000_000, "USD"),
        (kinetic, "Pyrotechnics", 64_000_000, "USD"),
        (circuit, "Staging", 72_000_000, "USD"),
        (orlando, "Staging", 58_000_000, "USD"),
        (beyond, "Production", 210_000_000, "USD"),
        (factory, "Talent", 4_500_000, "EUR"),
        (factory, "Venue", 1_800_000, "GBP"),
    ] {
        row(
            c,
            &T::BUDGET_LINES,
            org,
            Some(node),
            json!({"category": category, "amount_minor": amount, "currency": currency}),
        )
        .await?;
    }

    let staging_invoice = row(
        c,
        &T::INVOICES,
        org,
        Some(kinetic),
        json!({
        "vendor_id": stageco, "number": "SC-2025-0417", "issued_on": "2025-04-17",
        "due_on": "2025-05-17", "currency": "USD", "status": "active",
        "description": "Kinetic Field main stage build"}),
    )
    .await?;
    for (d, q, unit) in [
        ("Main deck and roof", 1.0, 142_000_000_i64),
        ("Crew days", 36.0, 95_000),
    ] {
        row(c, &T::INVOICE_LINES, org, None, json!({"invoice_id": staging_invoice, "description": d, "quantity": q, "unit_amount_minor": unit})).await?;
    }
    let pyro_invoice = row(
        c,
        &T::INVOICES,
        org,
        Some(kinetic),
        json!({
        "vendor_id": pyro, "number": "PT-88120", "issued_on": "2025-05-02", "currency": "USD",
        "status": "draft"}),
    )
    .await?;
    row(c, &T::INVOICE_LINES, org, None, json!({"invoice_id": pyro_invoice, "description": "Nightly show, 3 nights", "quantity": 3, "unit_amount_minor": 18_500_000})).await?;
    let fee = row(
        c,
        &T::INVOICES,
        org,
        Some(factory),
        json!({
        "vendor_id": agency, "number": "WM-LDN-5521", "issued_on": "2025-09-30", "currency": "GBP",
        "status": "completed"}),
    )
    .await?;
    row(c, &T::INVOICE_LINES, org, None, json!({"invoice_id": fee, "description": "Artist fee", "quantity": 1, "unit_amount_minor": 1_250_000})).await?;
    domain::tag(c, &T::INVOICES, org, pyro_invoice, safety).await?;

    for (node, title, status, priority, due) in [
        (
            edc,
            "Approve 2026 dates with the county",
            "active",
            "high",
            "2025-06-30T17:00:00-07:00",
        ),
        (
            lv,
            "Finalize medical plan",
            "review",
            "urgent",
            "2025-05-01T17:00:00-07:00",
        ),
        (
            kinetic,
            "Sign off the stage structural report",
            "active",
            "urgent",
            "2025-05-14T12:00:00-07:00",
        ),
        (
            kinetic,
            "Confirm pyrotechnics permit",
            "planning",
            "high",
            "2025-05-10T12:00:00-07:00",
        ),
        (
            site_ops,
            "Lay ground protection on the midway",
            "completed",
            "medium",
            "2025-05-12T08:00:00-07:00",
        ),
        (
            circuit,
            "Advance LED wall content",
            "planning",
            "medium",
            "2025-05-13T18:00:00-07:00",
        ),
        (
            orlando,
            "Walk the site with the fire marshal",
            "draft",
            "low",
            "2025-10-20T10:00:00-04:00",
        ),
        (
            factory,
            "Book the cloakroom staff",
            "active",
            "medium",
            "2025-10-20T12:00:00+01:00",
        ),
    ] {
        let status_now = if status == "completed" {
            "active"
        } else {
            status
        };
        let task = row(
            c,
            &T::TASKS,
            org,
            Some(node),
            json!({"title": title, "status": status_now, "priority": priority, "due_at": due}),
        )
        .await?;
        if status == "completed" {
            domain::update(
                c,
                &T::TASKS,
                org,
                task,
                &json_map(json!({"status": "completed"}))?,
            )
            .await?;
        }
        if priority == "urgent" {
            domain::tag(c, &T::TASKS, org, task, urgent).await?;
        }
        if title.contains("pyrotechnics") || title.contains("medical") {
            domain::tag(c, &T::TASKS, org, task, safety).await?;
        }
    }

    for (title, kind, location, start, end) in [
        (
            "Doors",
            "doors",
            "",
            "2025-05-16T19:00:00-07:00",
            "2025-05-16T19:30:00-07:00",
        ),
        (
            "Opening set",
            "performance",
            "Main stage",
            "2025-05-16T19:30:00-07:00",
            "2025-05-16T21:00:00-07:00",
        ),
        (
            "Kaskade",
            "performance",
            "Main stage",
            "2025-05-17T00:00:00-07:00",
            "2025-05-17T01:30:00-07:00",
        ),
        (
            "Fireworks",
            "performance",
            "Main stage",
            "2025-05-17T01:25:00-07:00",
            "2025-05-17T01:35:00-07:00",
        ),
        (
            "Changeover",
            "changeover",
            "Main stage",
            "2025-05-16T21:00:00-07:00",
            "2025-05-16T21:20:00-07:00",
        ),
    ] {
        row(c, &T::SCHEDULE_ITEMS, org, Some(kinetic), json!({"title": title, "item_type": kind, "location": location, "starts_at": start, "ends_at": end})).await?;
    }

    for (person, role, rate, currency, unit) in [
        (rigger, "Head rigger", 65_000_i64, "USD", "day"),
        (sm, "Stage manager", 80_000, "USD", "day"),
        (lx, "Lighting director", 9_500, "USD", "hour"),
        (pyro_tech, "Pyro shooter", 250_000, "USD", "flat"),
        (artist, "Headliner", 45_000_000, "USD", "flat"),
    ] {
        row(
            c,
            &T::CREW_ASSIGNMENTS,
            org,
            Some(kinetic),
            json!({
            "person_id": person, "role": role, "call_at": "2025-05-16T10:00:00-07:00",
            "wrap_at": "2025-05-17T04:00:00-07:00", "status": "active",
            "rate_amount_minor": rate, "currency": currency, "rate_unit": unit}),
        )
        .await?;
    }
    domain::tag(c, &T::PEOPLE, org, artist, headliner).await?;

    for (asset, node, start, end) in [
        (
            truss,
            kinetic,
            "2025-05-10T00:00:00-07:00",
            Some("2025-05-20T00:00:00-07:00"),
        ),
        (
            array,
            kinetic,
            "2025-05-12T00:00:00-07:00",
            Some("2025-05-19T12:00:00-07:00"),
        ),
        (
            array,
            orlando,
            "2025-11-01T00:00:00-04:00",
            Some("2025-11-10T00:00:00-04:00"),
        ),
        (radio, site_ops, "2025-05-01T00:00:00-07:00", None),
    ] {
        row(
            c,
            &T::ASSET_ASSIGNMENTS,
            org,
            Some(node),
            json!({"asset_id": asset, "starts_at": start, "ends_at": end}),
        )
        .await?;
    }

    let sha = |n: u8| format!("sha256:{}", format!("{n:02x}").repeat(32));
    let rider = row(c, &T::DOCUMENTS, org, Some(kinetic), json!({
        "title": "Kaskade technical rider", "kind": "rider", "storage_key": "edc-lv-2025/riders/kaskade-v1.pdf",
        "content_type": "application/pdf", "size_bytes": 482_113, "checksum": sha(1)})).await?;
    row(
        c,
        &T::DOCUMENTS,
        org,
        Some(kinetic),
        json!({
        "series_id": rider, "version": 2, "title": "Kaskade technical rider", "kind": "rider",
        "storage_key": "edc-lv-2025/riders/kaskade-v2.pdf", "content_type": "application/pdf",
        "size_bytes": 497_020, "checksum": sha(2)}),
    )
    .await?;
    row(
        c,
        &T::DOCUMENTS,
        org,
        Some(lv),
        json!({
        "title": "Clark County special event permit", "kind": "permit",
        "storage_key": "edc-lv-2025/permits/clark-county.pdf", "content_type": "application/pdf",
        "size_bytes": 1_204_551, "checksum": sha(3)}),
    )
    .await?;
    Ok(())
}

fn json_map(v: Value) -> Result<Map<String, Value>, DbError> {
    match v {
        Value::Object(m) => Ok(m),
        _ => Err(DbError::Unexpected("not an object".into())),
    }
}
