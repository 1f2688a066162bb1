//! `showtree bench audit`: generates a database of many tables and foreign
//! keys (1,000 and 3,000 by default) and times the audit against it: wall
//! time per phase and the process's peak memory. The goal (issue 7) is an
//! audit under 5 s at that size. Results go to docs/BENCHMARKS.md between
//! the bench:audit markers.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::{Duration, Instant};

use tokio_postgres::{Client, IsolationLevel, NoTls};

use crate::error::AuditError;
use crate::{Config, Report, catalog, render, sql};

/// Default of `--tables`.
pub const DEFAULT_TABLES: u32 = 1_000;
/// Default of `--foreign-keys`.
pub const DEFAULT_FOREIGN_KEYS: u32 = 3_000;
/// Default of `--runs`.
pub const DEFAULT_RUNS: u32 = 5;
/// Default of `--database`.
pub const DEFAULT_DATABASE: &str = "showtree_bench_audit";
/// Default of `--seed`.
pub const DEFAULT_SEED: u64 = 7;
/// Every database this benchmark creates carries this comment; it never
/// drops a database without it.
const MARKER: &str = "showtree bench audit";
/// Where the results go in the markdown file.
const SECTION_START: &str = "<!-- bench:audit:start -->";
const SECTION_END: &str = "<!-- bench:audit:end -->";
/// Tables created per statement batch.
const BATCH: usize = 100;

/// Options of `showtree bench audit`.
#[derive(Debug, Clone, clap::Args)]
pub struct AuditBenchArgs {
    /// Tables to generate.
    #[arg(long, default_value_t = DEFAULT_TABLES, value_parser = clap::value_parser!(u32).range(2..))]
    pub tables: u32,
    /// Foreign keys to generate (spread over the tables).
    #[arg(long, default_value_t = DEFAULT_FOREIGN_KEYS)]
    pub foreign_keys: u32,
    /// Timed audits (the median is reported).
    #[arg(long, default_value_t = DEFAULT_RUNS, value_parser = clap::value_parser!(u32).range(1..))]
    pub runs: u32,
    /// Seed of the generator.
    #[arg(long, default_value_t = DEFAULT_SEED)]
    pub seed: u64,
    /// The database to (re)create; it must not exist or have been created by this benchmark.
    #[arg(long, default_value = DEFAULT_DATABASE)]
    pub database: String,
    /// Keep the database afterwards (it is dropped otherwise).
    #[arg(long)]
    pub keep: bool,
    /// Write the results into this markdown file (between the bench:audit markers).
    #[arg(long)]
    pub markdown: Option<PathBuf>,
}

impl Default for AuditBenchArgs {
    fn default() -> Self {
        AuditBenchArgs {
            tables: DEFAULT_TABLES,
            foreign_keys: DEFAULT_FOREIGN_KEYS,
            runs: DEFAULT_RUNS,
            seed: DEFAULT_SEED,
            database: DEFAULT_DATABASE.to_owned(),
            keep: false,
            markdown: None,
        }
    }
}

impl AuditBenchArgs {
    /// The command that reproduces this run.
    pub fn command_line(&self) -> String {
        let mut cmd = format!(
            "showtree bench audit --tables {} --foreign-keys {}",
            self.tables, self.foreign_keys
        );
        if self.runs != DEFAULT_RUNS {
            cmd += &format!(" --runs {}", self.runs);
        }
        if self.seed != DEFAULT_SEED {
            cmd += &format!(" --seed {}", self.seed);
        }
        cmd
    }
}

/// Timings of one audit.
#[derive(Debug, Clone, Copy, Default)]
pub struct Run {
    /// Connecting.
    pub connect: Duration,
    /// Reading the catalog (the read-only transaction).
    pub catalog: Duration,
    /// Running the rules and building the report.
    pub rules: Duration,
    /// Rendering the text report.
    pub render: Duration,
    /// All of it.
    pub total: Duration,
}

/// What the benchmark measured.
#[derive(Debug, Clone)]
pub struct BenchReport {
    /// The options.
    pub args: AuditBenchArgs,
    /// PostgreSQL's version.
    pub server_version: String,
    /// CPUs available to this process.
    pub cpus: usize,
    /// Time to generate the schema.
    pub generate: Duration,
    /// Tables, foreign keys, columns and indexes the audit saw.
    pub tables: usize,
    /// Foreign keys seen.
    pub foreign_keys: usize,
    /// Indexes seen.
    pub indexes: usize,
    /// Findings reported.
    pub findings: usize,
    /// Per run.
    pub runs: Vec<Run>,
    /// Resident memory before the first audit (bytes), when readable.
    pub rss_before: Option<u64>,
    /// Peak resident memory over the audits (bytes), when readable.
    pub peak_rss: Option<u64>,
    /// Median time of `pg_dump --schema-only` on the same database (the
    /// baseline: the standard tool reading the same catalog), when pg_dump
    /// is installed.
    pub pg_dump: Option<Duration>,
}

/// A small deterministic generator (SplitMix64): the schema depends on the
/// seed alone, not on a library's stream.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u32) -> u32 {
        // n is small (tables); the modulo bias is irrelevant here.
        u32::try_from(self.next() % u64::from(n.max(1))).unwrap_or(0)
    }
}

fn table_name(i: u32) -> String {
    format!("t{i:05}")
}

/// The DDL of the generated schema, in batches: tables of a grown
/// database with a bit of everything the rules look at, and foreign keys
/// from each table to earlier ones named `<target>_id` (so chains through
/// the same names exist, as in a flat layout).
fn schema_sql(args: &AuditBenchArgs) -> Vec<String> {
    let mut rng = Rng(args.seed);
    let n = args.tables;
    let mut fks: Vec<Vec<u32>> = vec![Vec::new(); n as usize];
    let mut placed = 0;
    let mut attempts = 0u64;
    while placed < args.foreign_keys && attempts < u64::from(args.foreign_keys) * 20 {
        attempts += 1;
        let owner = 1 + rng.below(n - 1);
        let target = rng.below(owner);
        let list = &mut fks[owner as usize];
        if !list.contains(&target) {
            list.push(target);
            placed += 1;
        }
    }
    let mut batches = Vec::new();
    let mut batch = String::new();
    for i in 0..n {
        let name = table_name(i);
        let mut cols = vec![
            "id uuid primary key default gen_random_uuid()".to_owned(),
            "org_id uuid not null".to_owned(),
            "name text not null default ''".to_owned(),
            "created_at timestamptz not null default now()".to_owned(),
        ];
        match i % 5 {
            0 => cols.push("status text not null default 'todo' check (status in ('todo', 'in_progress', 'done'))".to_owned()),
            1 => cols.push("updated_at timestamptz not null default now()".to_owned()),
            2 => cols.push("custom_fields jsonb".to_owned()),
            3 => cols.push("amount double precision".to_owned()),
            _ => cols.push("starts_at timestamp".to_owned()),
        }
        for &t in &fks[i as usize] {
            let not_null = if rng.below(2) == 0 { " not null" } else { "" };
            let rule = match rng.below(3) {
                0 => "",
                1 => " on delete cascade",
                _ => " on delete restrict",
            };
            let target = table_name(t);
            cols.push(format!(
                "{target}_id uuid{not_null} references {target} (id){rule}"
            ));
        }
        batch += &format!("create table {name} (\n  {}\n);\n", cols.join(",\n  "));
        for &t in &fks[i as usize] {
            // Two of three keys get their index.
            if rng.below(3) != 0 {
                let col = format!("{}_id", table_name(t));
                batch += &format!("create index on {name} ({col});\n");
            }
        }
        if i % 10 == 0 {
            batch += &format!(
                "create index on {name} (org_id);\ncreate index on {name} (org_id, name);\n"
            );
        }
        if (i as usize + 1) % BATCH == 0 {
            batches.push(std::mem::take(&mut batch));
        }
    }
    if !batch.is_empty() {
        batches.push(batch);
    }
    batches
}

/// Resident set size now and its peak (`VmRSS`, `VmHWM` of
/// /proc/self/status), in bytes.
fn memory() -> (Option<u64>, Option<u64>) {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return (None, None);
    };
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map(|kb| kb * 1024)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Resets the peak resident set size to the current one (Linux: writing 5
/// to /proc/self/clear_refs), so the peak measures the audits only.
fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// Times `pg_dump --schema-only` of `url` (output discarded); `None` when
/// pg_dump is missing or fails.
async fn pg_dump(url: &str) -> Option<Duration> {
    let start = Instant::now();
    let status = tokio::process::Command::new("pg_dump")
        .args([
            "--schema-only",
            "--no-owner",
            "--file",
            "/dev/null",
            "--dbname",
            url,
        ])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .await
        .ok()?;
    status.success().then(|| start.elapsed())
}

async fn connect_to(config: &tokio_postgres::Config) -> Result<Client, AuditError> {
    let (client, conn) = config
        .connect(NoTls)
        .await
        .map_err(|error| AuditError::Connect {
            url: format!("database {}", config.get_dbname().unwrap_or("?")),
            error,
        })?;
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::warn!(error = %e, "benchmark connection ended");
        }
    });
    Ok(client)
}

/// One timed audit, phase by phase (the same steps as [`crate::audit`]).
async fn timed_audit(config: &tokio_postgres::Config) -> Result<(Run, Report), AuditError> {
    let start = Instant::now();
    let mut client = connect_to(config).await?;
    let connected = Instant::now();
    let tx = client
        .build_transaction()
        .read_only(true)
        .isolation_level(IsolationLevel::RepeatableRead)
        .start()
        .await
        .map_err(AuditError::query("starting a read-only transaction"))?;
    tx.batch_execute("set local search_path = ''")
        .await
        .map_err(AuditError::query("setting the search path"))?;
    let cat = catalog::read(&tx, &catalog::ReadOptions::default()).await?;
    tx.rollback()
        .await
        .map_err(AuditError::query("ending the read-only transaction"))?;
    let read = Instant::now();
    let report = Report::build(&cat, &Config::default(), &Default::default());
    let ruled = Instant::now();
    let text = render::text(&report);
    let rendered = Instant::now();
    // Keeps the rendering from being optimized away.
    if text.is_empty() {
        tracing::warn!("empty report");
    }
    Ok((
        Run {
            connect: connected - start,
            catalog: read - connected,
            rules: ruled - read,
            render: rendered - ruled,
            total: rendered - start,
        },
        report,
    ))
}

/// Runs the benchmark on the server behind `admin_url` (its maintenance
/// database): (re)creates `--database`, generates the schema, audits it
/// `--runs` times, drops the database unless `--keep`, and writes the
/// markdown section when `--markdown` is given.
pub async fn run(args: &AuditBenchArgs, admin_url: &str) -> Result<BenchReport, AuditError> {
    let admin_config =
        tokio_postgres::Config::from_str(admin_url).map_err(|error| AuditError::Connect {
            url: crate::redacted_url(admin_url),
            error,
        })?;
    let admin = connect_to(&admin_config).await?;
    let existing = admin
        .query_opt(
            "select shobj_description(oid, 'pg_database') from pg_database where datname = $1",
            &[&args.database],
        )
        .await
        .map_err(AuditError::query("looking for the benchmark database"))?;
    let db = sql::ident(&args.database);
    if let Some(row) = existing {
        let comment: Option<String> = row.get(0);
        if !comment.is_some_and(|c| c.starts_with(MARKER)) {
            return Err(AuditError::Bench(format!(
                "database {} exists and was not created by this benchmark: pick another \
                 --database, or drop it yourself",
                args.database
            )));
        }
        admin
            .batch_execute(&format!("drop database {db} with (force)"))
            .await
            .map_err(AuditError::query(
                "dropping the previous benchmark database",
            ))?;
    }
    // Separate statements: create database refuses a batch's implicit transaction.
    admin
        .batch_execute(&format!("create database {db}"))
        .await
        .map_err(AuditError::query("creating the benchmark database"))?;
    admin
        .batch_execute(&format!(
            "comment on database {db} is {}",
            sql::literal(MARKER)
        ))
        .await
        .map_err(AuditError::query("marking the benchmark database"))?;

    let mut config = admin_config.clone();
    config.dbname(&args.database);
    config.application_name("showtree bench audit");
    let started = Instant::now();
    {
        let client = connect_to(&config).await?;
        for batch in schema_sql(args) {
            client
                .batch_execute(&batch)
                .await
                .map_err(AuditError::query("generating the schema"))?;
        }
        client
            .batch_execute("analyze")
            .await
            .map_err(AuditError::query("analyzing the generated schema"))?;
    }
    let generate = started.elapsed();

    let server_version: String = admin
        .query_one("select current_setting('server_version')", &[])
        .await
        .map_err(AuditError::query("reading the server version"))?
        .get(0);
    // One audit first so code paths and the server's catalog caches are
    // warm, as for a second run of the command.
    let (_, warm) = timed_audit(&config).await?;
    let (rss_before, _) = memory();
    let peak_is_ours = reset_peak();
    let mut runs = Vec::new();
    for _ in 0..args.runs {
        runs.push(timed_audit(&config).await?.0);
    }
    let peak_rss = if peak_is_ours { memory().1 } else { None };
    let db_url = crate::url_with_database(admin_url, &args.database);
    let mut baseline = Vec::new();
    for _ in 0..args.runs {
        match pg_dump(&db_url).await {
            Some(d) => baseline.push(d),
            None => break,
        }
    }
    baseline.sort_unstable();
    let pg_dump = baseline.get(baseline.len() / 2).copied();

    if !args.keep {
        admin
            .batch_execute(&format!("drop database {db} with (force)"))
            .await
            .map_err(AuditError::query("dropping the benchmark database"))?;
    }
    let report = BenchReport {
        args: args.clone(),
        server_version,
        cpus: std::thread::available_parallelism().map_or(1, usize::from),
        generate,
        tables: warm.summary.tables,
        foreign_keys: warm.summary.foreign_keys,
        indexes: warm.summary.indexes,
        findings: warm.findings.len(),
        runs,
        rss_before,
        peak_rss,
        pg_dump,
    };
    if let Some(path) = &args.markdown {
        write_section(path, &report.markdown()).map_err(|error| AuditError::Write {
            path: path.clone(),
            error,
        })?;
    }
    Ok(report)
}

fn secs(d: Duration) -> String {
    format!("{:.3} s", d.as_secs_f64())
}

fn mib(bytes: Option<u64>) -> String {
    // Sizes stay far below 2^52: the conversion is exact enough.
    bytes.map_or_else(
        || "n/a".to_owned(),
        |b| format!("{:.1} MiB", b as f64 / 1048576.0),
    )
}

impl BenchReport {
    /// The median run by total time.
    pub fn median(&self) -> Run {
        let mut runs = self.runs.clone();
        runs.sort_by_key(|r| r.total);
        runs.get(runs.len() / 2).copied().unwrap_or_default()
    }

    fn rows(&self) -> Vec<(String, String)> {
        let m = self.median();
        let min = self.runs.iter().map(|r| r.total).min().unwrap_or_default();
        let max = self.runs.iter().map(|r| r.total).max().unwrap_or_default();
        let goal = Duration::from_secs(5);
        vec![
            (
                "schema".to_owned(),
                format!(
                    "{} tables, {} foreign keys, {} indexes (generated in {})",
                    self.tables,
                    self.foreign_keys,
                    self.indexes,
                    secs(self.generate)
                ),
            ),
            ("findings".to_owned(), self.findings.to_string()),
            (
                format!("audit wall time, median of {}", self.runs.len()),
                format!("{} (min {}, max {})", secs(m.total), secs(min), secs(max)),
            ),
            ("- connect".to_owned(), secs(m.connect)),
            (
                "- catalog read (read-only transaction)".to_owned(),
                secs(m.catalog),
            ),
            ("- rules and report".to_owned(), secs(m.rules)),
            ("- text rendering".to_owned(), secs(m.render)),
            (
                "peak memory (process VmHWM over the timed audits)".to_owned(),
                format!(
                    "{} (resident before: {})",
                    mib(self.peak_rss),
                    mib(self.rss_before)
                ),
            ),
            (
                "baseline: pg_dump --schema-only of the same database, median".to_owned(),
                match self.pg_dump {
                    Some(d) => format!(
                        "{} (the audit takes {:.2}x its time)",
                        secs(d),
                        m.total.as_secs_f64() / d.as_secs_f64().max(1e-9)
                    ),
                    None => "n/a (pg_dump not found)".to_owned(),
                },
            ),
            (
                "goal: under 5 s".to_owned(),
                if m.total < goal { "met" } else { "missed" }.to_owned(),
            ),
        ]
    }

    /// The results as plain text.
    pub fn text(&self) -> String {
        let width = self.rows().iter().map(|(k, _)| k.len()).max().unwrap_or(0);
        let mut out = format!("{}\n", self.args.command_line());
        for (k, v) in self.rows() {
            out += &format!("  {k:<width$}  {v}\n");
        }
        out
    }

    /// The results as the markdown section of docs/BENCHMARKS.md.
    pub fn markdown(&self) -> String {
        let mut out = format!(
            "## showtree audit\n\n\
             `{}` ({} build; PostgreSQL {}, {} CPUs). The audit reads the catalog \
             with one query per kind of object in a single read-only transaction, then runs \
             every rule in memory.\n\n\
             | what | value |\n|---|---|\n",
            self.args.command_line(),
            if cfg!(debug_assertions) {
                "debug"
            } else {
                "release"
            },
            self.server_version,
            self.cpus
        );
        for (k, v) in self.rows() {
            out += &format!("| {k} | {v} |\n");
        }
        out
    }
}

/// Replaces what lies between the bench:audit markers in the markdown file
/// at `path` (appending the section when missing, creating the file when
/// needed); every other section is left as it is. (The same contract as
/// showtree-bench's writer, which this crate cannot depend on.)
fn write_section(path: &Path, body: &str) -> std::io::Result<()> {
    let existing = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => "# Benchmarks\n\n\
            Every figure here is produced by a command; regenerate, never hand-edit.\n\
            Each section records the command that wrote it (see DESIGN.md section 6).\n"
            .to_owned(),
        Err(e) => return Err(e),
    };
    let section = format!("{SECTION_START}\n{}\n{SECTION_END}", body.trim_end());
    let updated = match (existing.find(SECTION_START), existing.find(SECTION_END)) {
        (Some(s), Some(e)) if s < e => format!(
            "{}{section}{}",
            &existing[..s],
            &existing[e + SECTION_END.len()..]
        ),
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
    fn the_generator_places_every_foreign_key() {
        let args = AuditBenchArgs {
            tables: 50,
            foreign_keys: 150,
            ..Default::default()
        };
        let sql = schema_sql(&args).concat();
        assert_eq!(sql.matches("create table").count(), 50);
        assert_eq!(sql.matches(" references ").count(), 150);
        assert_eq!(sql, schema_sql(&args).concat(), "deterministic");
    }

    #[test]
    fn the_section_replaces_only_itself() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("B.md");
        std::fs::write(
            &path,
            "# B\n\n<!-- bench:hierarchy:start -->\nh\n<!-- bench:hierarchy:end -->\n",
        )
        .expect("write");
        write_section(&path, "one").expect("append");
        write_section(&path, "two").expect("replace");
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(
            text.contains("<!-- bench:hierarchy:start -->\nh\n"),
            "{text}"
        );
        assert!(
            text.contains("<!-- bench:audit:start -->\ntwo\n<!-- bench:audit:end -->"),
            "{text}"
        );
        assert!(!text.contains("one"), "{text}");
    }
}
