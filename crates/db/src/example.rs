//! The Insomniac example tree `showtree demo` loads (DESIGN.md's picture,
//! grown to a few festivals so navigation has something to show).

use showtree_core::{Currency, NodeKind, NodeName, Slug};
use time::macros::datetime;
use tokio_postgres::GenericClient;
use uuid::Uuid;

use crate::DbError;
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
pub async fn load(c: &impl GenericClient) -> Result<Node, DbError> {
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
    // depth-first, iteratively: (parent, specs still to create under it)
    let mut stack: Vec<(Uuid, &'static [Spec])> = vec![(org.id, PROJECTS)];
    while let Some((parent, specs)) = stack.pop() {
        for spec in specs {
            let mut new = NewNode::child(org.org_id, parent, spec.kind, name(spec.name)?);
            new.level = (spec.level)();
            let created = nodes::create(c, &new, None).await?;
            if !spec.children.is_empty() {
                stack.push((created.id, spec.children));
            }
        }
    }
    Ok(org)
}
