//! Printing a tree on the terminal.

use anyhow::Context;
use showtree_core::Slug;
use showtree_db::nodes::{self, Node};
use tokio_postgres::Client;
use uuid::Uuid;

/// Prints the live tree of the organization with slug `slug`.
pub async fn print_org(client: &Client, slug: &str) -> anyhow::Result<()> {
    let slug = Slug::parse(slug).context("organization slug")?;
    let orgs = nodes::organizations_by_slug(client, &slug).await?;
    let org = orgs
        .first()
        .with_context(|| format!("no organization with slug {}", slug.as_str()))?;
    print_tree(client, org.org_id).await
}

/// Prints an organization's live tree with box-drawing lines.
pub async fn print_tree(client: &Client, org_id: Uuid) -> anyhow::Result<()> {
    let root = nodes::get(client, org_id, org_id).await?;
    let mut all = Vec::new();
    let mut cursor: Option<Vec<Uuid>> = None;
    loop {
        let page = nodes::subtree(
            client,
            org_id,
            org_id,
            None,
            cursor.as_deref(),
            nodes::MAX_PAGE,
        )
        .await?;
        let Some(last) = page.last() else { break };
        cursor = Some(last.path());
        all.extend(page);
    }
    print!("{}", render(&root, &all));
    Ok(())
}

/// Renders `root` and its descendants (in pre-order) as an indented tree.
fn render(root: &Node, descendants: &[Node]) -> String {
    let mut out = format!("{}  [{}]\n", root.name, root.kind);
    // whether each open ancestor level still has siblings to come
    let mut open: Vec<bool> = Vec::new();
    for (i, n) in descendants.iter().enumerate() {
        let level = (n.depth - root.depth) as usize;
        open.truncate(level - 1);
        let last = !descendants[i + 1..]
            .iter()
            .take_while(|m| m.depth >= n.depth)
            .any(|m| m.parent_id == n.parent_id);
        for more in &open {
            out.push_str(if *more { "│  " } else { "   " });
        }
        out.push_str(if last { "└─ " } else { "├─ " });
        out.push_str(&format!("{}  [{}]\n", n.name, n.kind));
        open.push(!last);
    }
    out
}
