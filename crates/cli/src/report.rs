//! `showtree report NODE`: a node's roll-up as terminal tables.

use anyhow::Context;
use showtree_core::Currency;
use showtree_db::nodes;
use showtree_db::rollups::{self, COUNTS, FIRST_MONEY, Figures, Line};
use tokio_postgres::Client;
use uuid::Uuid;

/// Default of `showtree report --limit`.
pub const DEFAULT_LIMIT: i32 = 50;

/// Prints the roll-up of `node_id` as stored (the owner's view: every
/// figure, restricted children and money included): the total, the node's
/// own rows, the first `limit` children by name (as the API pages them)
/// and one bucket for the children left out.
pub async fn print(client: &Client, node_id: Uuid, limit: i32) -> anyhow::Result<()> {
    let node = nodes::find(client, node_id)
        .await
        .with_context(|| format!("no node {node_id}"))?;
    anyhow::ensure!(node.deleted_at.is_none(), "node {node_id} is deleted");
    // one snapshot and one now() for every figure
    client.batch_execute("begin read only").await?;
    let children = nodes::children_page(client, node.org_id, node.id, None, limit).await?;
    let all_children = nodes::count_children(client, node.org_id, node.id).await?;
    let listed: Vec<Uuid> = children.iter().map(|c| c.id).collect();
    let (parts, pending) = rollups::parts(client, node.org_id, node.id, &listed, &[]).await?;
    let now: String = client
        .query_one(
            "select to_char(now() at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS') || ' UTC'",
            &[],
        )
        .await?
        .get(0);
    client.batch_execute("commit").await?;
    let left_out = all_children - i64::try_from(listed.len()).unwrap_or(i64::MAX);

    // by bucket: the total, the node's own rows, each child listed, and the
    // children left out (the total less the others: every figure adds up)
    let mut figures = Figures::new();
    let rest = Uuid::nil();
    for ((part, child, currency), line) in &parts {
        let bucket = match (part.as_str(), child) {
            ("total", _) => rest,
            ("own", _) => node.id,
            ("child", Some(id)) => *id,
            _ => continue,
        };
        figures
            .entry((bucket, currency.clone()))
            .or_default()
            .add(line);
        if bucket != rest {
            figures
                .entry((rest, currency.clone()))
                .or_default()
                .add(&negated(line));
        }
    }
    for ((part, _, currency), line) in &parts {
        if part == "total" {
            figures
                .entry((total_key(), currency.clone()))
                .or_default()
                .add(line);
        }
    }

    let mut buckets: Vec<(String, Uuid)> = vec![
        (format!("{} (total)", node.name), total_key()),
        ("  own rows".to_owned(), node.id),
    ];
    for c in &children {
        buckets.push((format!("  {} [{}]", c.name, c.kind), c.id));
    }
    if left_out > 0 {
        buckets.push((format!("  {left_out} more children (not listed)"), rest));
    }
    let pick = |bucket: &Uuid, currency: &str| -> Line {
        figures
            .get(&(*bucket, currency.to_owned()))
            .copied()
            .unwrap_or_default()
    };

    println!(
        "Roll-up of {} [{}] {} at {now} (as the database owner: no access applied; \
         {pending} deltas not folded yet)\n",
        node.name, node.kind, node.id
    );
    if left_out > 0 {
        println!(
            "{} of {all_children} children listed, by name; the other {left_out} are summed in \
             one bucket (--limit to list more)\n",
            listed.len()
        );
    }
    let mut rows = vec![header(&[
        "bucket",
        "tasks",
        "completed",
        "done %",
        "overdue",
        "assets now",
        "crew",
        "schedule",
        "conflicts",
    ])];
    for (label, bucket) in &buckets {
        let l = pick(bucket, COUNTS);
        let total: i64 = l.0[..7].iter().sum();
        let live = total - l.get("tasks_cancelled") - l.get("tasks_archived");
        let done = l.get("tasks_completed");
        rows.push(vec![
            label.clone(),
            total.to_string(),
            done.to_string(),
            if live > 0 {
                format!("{:.0}", 100.0 * done as f64 / live as f64)
            } else {
                "-".to_owned()
            },
            l.get("tasks_overdue").to_string(),
            l.get("assets_now").to_string(),
            l.get("crew_headcount").to_string(),
            l.get("schedule_items").to_string(),
            l.get("schedule_conflicts").to_string(),
        ]);
    }
    print!("{}", table(&rows));

    let currencies = currencies(&figures);
    if currencies.is_empty() {
        println!("\nno money recorded");
        return Ok(());
    }
    let mut rows = vec![header(&[
        "bucket",
        "currency",
        "planned",
        "invoiced",
        "paid",
        "committed",
        "variance",
        "crew cost",
    ])];
    for (label, bucket) in &buckets {
        for currency in &currencies {
            let m = pick(bucket, currency).0;
            let invoiced: i64 = m[FIRST_MONEY + 1..FIRST_MONEY + 7].iter().sum();
            if m[FIRST_MONEY] == 0 && invoiced == 0 && m[FIRST_MONEY + 7] == 0 {
                continue;
            }
            let committed = m[FIRST_MONEY + 2] + m[FIRST_MONEY + 3] + m[FIRST_MONEY + 4];
            let amount = |v: i64| major(v, currency);
            rows.push(vec![
                label.clone(),
                currency.clone(),
                amount(m[FIRST_MONEY]),
                amount(invoiced),
                amount(m[FIRST_MONEY + 4]),
                amount(committed),
                amount(m[FIRST_MONEY] - committed),
                amount(m[FIRST_MONEY + 7]),
            ]);
        }
    }
    println!();
    print!("{}", table(&rows));
    println!(
        "\ninvoiced: every status; paid: completed; committed: approved, disputed or paid; \
         variance: planned minus committed. Currencies are never summed together."
    );
    Ok(())
}

/// The key of the total in the figures by bucket (no node has the max id).
fn total_key() -> Uuid {
    Uuid::max()
}

fn negated(line: &Line) -> Line {
    let mut out = *line;
    for v in &mut out.0 {
        *v = -*v;
    }
    out
}

fn currencies(figures: &Figures) -> Vec<String> {
    let mut out: Vec<String> = figures
        .keys()
        .map(|(_, c)| c.clone())
        .filter(|c| c != COUNTS)
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Minor units as a decimal amount (`123456` USD is `1234.56`).
fn major(minor: i64, currency: &str) -> String {
    let digits = Currency::parse(currency)
        .ok()
        .and_then(|c| c.minor_unit())
        .unwrap_or(2);
    if digits == 0 {
        return minor.to_string();
    }
    let scale = 10i64.pow(u32::from(digits));
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    let scale = scale.unsigned_abs();
    format!(
        "{sign}{}.{:0width$}",
        abs / scale,
        abs % scale,
        width = usize::from(digits)
    )
}

fn header(cells: &[&str]) -> Vec<String> {
    cells.iter().map(|c| (*c).to_owned()).collect()
}

/// Rows as a table: the first column left-aligned, numbers right-aligned.
fn table(rows: &[Vec<String>]) -> String {
    let columns = rows.first().map_or(0, Vec::len);
    let mut widths = vec![0; columns];
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for (i, row) in rows.iter().enumerate() {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(k, (cell, w))| {
                if k == 0 {
                    format!("{cell:<w$}")
                } else {
                    format!("{cell:>w$}")
                }
            })
            .collect();
        out += cells.join("  ").trim_end();
        out.push('\n');
        if i == 0 {
            let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
            out += &rule.join("  ");
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_use_the_currency_minor_unit() {
        assert_eq!(major(123_456, "USD"), "1234.56");
        assert_eq!(major(-5, "EUR"), "-0.05");
        assert_eq!(major(1500, "JPY"), "1500");
        assert_eq!(major(1, "KWD"), "0.001");
    }
}
