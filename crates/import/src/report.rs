//! What `check` finds and what stops a phase: problems of the mapping
//! itself (a table, a column) and of the data (rows, by id), rendered as
//! text that names every one.

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// A problem of the mapping against the catalog.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Finding {
    /// The legacy table (or mapping) concerned.
    pub table: String,
    /// The column, when one is concerned.
    pub column: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl Finding {
    /// A finding about `table` (and `column`).
    pub fn new(table: &str, column: Option<&str>, message: impl Into<String>) -> Finding {
        Finding {
            table: table.to_owned(),
            column: column.map(str::to_owned),
            message: message.into(),
        }
    }
}

/// Rows sharing one problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowProblem {
    /// The mapping that met it.
    pub mapping: String,
    /// The legacy table the rows are in.
    pub table: String,
    /// The problem, with the offending value.
    pub message: String,
    /// The legacy primary keys of every row with it, in key order.
    pub ids: Vec<String>,
}

/// Everything found; empty means nothing stops the import.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Problems of the mapping.
    pub findings: Vec<Finding>,
    /// Problems of the data.
    pub rows: Vec<RowProblem>,
    /// Notes that stop nothing (counts, skipped parts).
    pub notes: Vec<String>,
}

impl Report {
    /// True when nothing stops the import.
    pub fn is_clean(&self) -> bool {
        self.findings.is_empty() && self.rows.is_empty()
    }

    /// Adds per-row problems: `(legacy id, problems)` of `mapping` over `table`.
    pub fn add_rows(&mut self, mapping: &str, table: &str, rows: Vec<(String, Vec<String>)>) {
        let mut grouped: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (id, problems) in rows {
            for p in problems {
                grouped.entry(p).or_default().push(id.clone());
            }
        }
        for (message, ids) in grouped {
            self.rows.push(RowProblem {
                mapping: mapping.to_owned(),
                table: table.to_owned(),
                message,
                ids,
            });
        }
    }

    /// How many distinct offending rows the report names.
    pub fn offending_rows(&self) -> usize {
        let mut all: Vec<(&str, &str)> = self
            .rows
            .iter()
            .flat_map(|r| r.ids.iter().map(move |id| (r.table.as_str(), id.as_str())))
            .collect();
        all.sort_unstable();
        all.dedup();
        all.len()
    }

    /// The report as text; at most `max_ids` ids per problem (0: all).
    pub fn render(&self, max_ids: usize) -> String {
        let mut out = String::new();
        if !self.findings.is_empty() {
            let _ = writeln!(out, "mapping problems ({}):", self.findings.len());
            let mut findings = self.findings.clone();
            findings.sort();
            for f in &findings {
                match &f.column {
                    Some(c) => {
                        let _ = writeln!(out, "  {}.{}: {}", f.table, c, f.message);
                    }
                    None => {
                        let _ = writeln!(out, "  {}: {}", f.table, f.message);
                    }
                }
            }
        }
        if !self.rows.is_empty() {
            let _ = writeln!(out, "data problems ({} rows):", self.offending_rows());
            for r in &self.rows {
                let shown = if max_ids == 0 {
                    r.ids.len()
                } else {
                    max_ids.min(r.ids.len())
                };
                let mut ids = r.ids[..shown].join(", ");
                if shown < r.ids.len() {
                    let _ = write!(ids, ", ... and {} more", r.ids.len() - shown);
                }
                let mapping = if r.mapping == r.table {
                    String::new()
                } else {
                    format!(" (mapping {})", r.mapping)
                };
                let _ = writeln!(
                    out,
                    "  {}{mapping}: {} — {} row{}: {ids}",
                    r.table,
                    r.message,
                    r.ids.len(),
                    if r.ids.len() == 1 { "" } else { "s" }
                );
            }
        }
        for n in &self.notes {
            let _ = writeln!(out, "note: {n}");
        }
        if self.is_clean() {
            out.push_str("no problems found\n");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_grouped_by_problem_and_every_id_is_named() {
        let mut r = Report::default();
        r.add_rows(
            "tasks",
            "tasks",
            vec![
                ("1".into(), vec!["status: no mapping for 'x'".into()]),
                (
                    "2".into(),
                    vec!["status: no mapping for 'x'".into(), "orphan".into()],
                ),
            ],
        );
        assert_eq!(r.rows.len(), 2);
        assert_eq!(r.offending_rows(), 2);
        let text = r.render(0);
        assert!(
            text.contains("tasks: status: no mapping for 'x' — 2 rows: 1, 2"),
            "{text}"
        );
        assert!(text.contains("tasks: orphan — 1 row: 2"), "{text}");
        assert!(r.render(1).contains("1, ... and 1 more"));
    }
}
