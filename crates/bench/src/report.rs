//! Shared by every benchmark: latency summaries, tables, and the sections
//! of docs/BENCHMARKS.md each command owns.

use std::path::Path;

use hdrhistogram::Histogram;

/// What docs/BENCHMARKS.md starts with when a command creates it.
const INTRO: &str = "# Benchmarks\n\n\
Every figure here is produced by a command; regenerate, never hand-edit.\n\
Each section records the command that wrote it (see DESIGN.md section 6).\n";

/// Percentiles of one latency distribution, in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Latency {
    /// Median.
    pub p50_us: u64,
    /// 95th percentile.
    pub p95_us: u64,
    /// 99th percentile.
    pub p99_us: u64,
    /// Number of values recorded.
    pub count: u64,
}

impl Latency {
    /// Summarizes a histogram of microseconds.
    pub fn from_histogram(h: &Histogram<u64>) -> Latency {
        Latency {
            p50_us: h.value_at_quantile(0.50),
            p95_us: h.value_at_quantile(0.95),
            p99_us: h.value_at_quantile(0.99),
            count: h.len(),
        }
    }

    /// `p50 / p95 / p99` in milliseconds.
    pub fn triple_ms(&self) -> String {
        format!(
            "{} / {} / {}",
            ms(self.p50_us),
            ms(self.p95_us),
            ms(self.p99_us)
        )
    }
}

/// Microseconds as milliseconds with three significant digits (at least
/// one decimal), e.g. `0.142`, `3.27`, `41.0`, `1234.5`.
pub fn ms(us: u64) -> String {
    let ms = us as f64 / 1000.0;
    let decimals = match ms {
        m if m < 1.0 => 3,
        m if m < 10.0 => 2,
        _ => 1,
    };
    format!("{ms:.decimals$}")
}

/// `1234567` as `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Rows of cells as a left-aligned plain-text table (first row: header).
pub fn text_table<const N: usize>(rows: &[[String; N]]) -> String {
    let mut widths = [0; N];
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for (i, row) in rows.iter().enumerate() {
        let cells: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        out += cells.join(" | ").trim_end();
        out.push('\n');
        if i == 0 {
            let rule: Vec<String> = widths.iter().map(|&w| "-".repeat(w)).collect();
            out += &rule.join("-+-");
            out.push('\n');
        }
    }
    out
}

/// Replaces what lies between `start` and `end` in the markdown file at
/// `path` with `body`; appends the section if it is missing and creates the
/// file (with the docs' intro) if needed. Everything else is kept as is.
pub fn write_section(path: &Path, start: &str, end: &str, body: &str) -> std::io::Result<()> {
    let existing = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => INTRO.to_owned(),
        Err(e) => return Err(e),
    };
    let section = format!("{start}\n{}\n{end}", body.trim_end());
    let updated = match (existing.find(start), existing.find(end)) {
        (Some(s), Some(e)) if s < e => {
            format!("{}{section}{}", &existing[..s], &existing[e + end.len()..])
        }
        _ => format!("{}\n\n{section}\n", existing.trim_end()),
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, updated)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_groups_digits() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn ms_keeps_three_significant_digits() {
        assert_eq!(ms(142), "0.142");
        assert_eq!(ms(3_270), "3.27");
        assert_eq!(ms(41_000), "41.0");
    }

    #[test]
    fn write_section_replaces_only_its_section() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("docs/B.md");
        write_section(&path, "<!-- a -->", "<!-- /a -->", "one").expect("create");
        let created = std::fs::read_to_string(&path).expect("read");
        assert!(created.starts_with(INTRO), "{created}");
        assert!(
            created.contains("<!-- a -->\none\n<!-- /a -->"),
            "{created}"
        );

        std::fs::write(&path, format!("{created}\nkept\n")).expect("append");
        write_section(&path, "<!-- a -->", "<!-- /a -->", "two").expect("replace");
        write_section(&path, "<!-- b -->", "<!-- /b -->", "other").expect("add");
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(text.contains("<!-- a -->\ntwo\n<!-- /a -->"), "{text}");
        assert!(!text.contains("one"), "{text}");
        assert!(
            text.contains("kept") && text.contains("<!-- b -->\nother\n<!-- /b -->"),
            "{text}"
        );
    }
}
