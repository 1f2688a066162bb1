//! Running pgbench custom scripts and reading its results: throughput from
//! its summary, latency percentiles from its per-transaction logs (`-l`)
//! through an HDR histogram.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use anyhow::{Context, bail, ensure};
use hdrhistogram::Histogram;
use tokio_postgres::config::Host;

use crate::hierarchy::histogram;
use crate::report::Latency;

/// pgbench refuses more scripts than this (its `MAX_SCRIPTS`).
pub const MAX_SCRIPTS: usize = 128;

/// Where and how pgbench connects.
#[derive(Debug, Clone)]
pub struct Target {
    /// `-h`: a host name, an address or a socket directory.
    pub host: String,
    /// `-p`.
    pub port: u16,
    /// The database.
    pub dbname: String,
}

impl Target {
    /// The server of `url` (a `postgres://` URL), database `dbname`.
    pub fn from_url(url: &str, dbname: &str) -> anyhow::Result<Target> {
        let config = tokio_postgres::Config::from_str(url).context("parsing the database URL")?;
        let host = match config.get_hosts().first() {
            Some(Host::Tcp(h)) => h.clone(),
            Some(Host::Unix(dir)) => dir.display().to_string(),
            None => "127.0.0.1".to_owned(),
        };
        Ok(Target {
            host,
            port: config.get_ports().first().copied().unwrap_or(5432),
            dbname: dbname.to_owned(),
        })
    }
}

/// How pgbench sends its statements (`-M`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// `-M prepared`: each statement parsed once per client, then only
    /// bound and executed.
    Prepared,
    /// `-M extended`: parse, bind and execute every time, in one round trip.
    Extended,
}

impl Protocol {
    /// The value of `-M`.
    pub fn as_arg(self) -> &'static str {
        match self {
            Protocol::Prepared => "prepared",
            Protocol::Extended => "extended",
        }
    }
}

/// The load of one pgbench run.
#[derive(Debug, Clone, Copy)]
pub struct Load {
    /// `-c`.
    pub clients: u32,
    /// `-j`.
    pub threads: u32,
    /// `-T`, whole seconds (at least 1).
    pub duration: Duration,
    /// `-M`.
    pub protocol: Protocol,
}

/// What one run measured.
#[derive(Debug, Clone, Copy)]
pub struct Outcome {
    /// Transactions per second over the steady part of the runs.
    pub tps: f64,
    /// Per-transaction latency from the `-l` logs, steady part.
    pub latency: Latency,
    /// Transactions that failed (serialization or deadlock retries exhausted).
    pub failed: u64,
}

/// The transactions of one or more runs, steady parts only: each run's
/// first second (at most its first fifth) is left out, since every new
/// connection prepares and plans its statements then, which a pooled
/// service does once per connection, not per request.
#[derive(Debug, Clone)]
pub struct Sample {
    /// Latency (µs) of every transaction completed in a steady part.
    pub histogram: Histogram<u64>,
    /// Length of the steady parts, in seconds.
    pub seconds: f64,
    /// Failed transactions, from pgbench's summaries.
    pub failed: u64,
}

impl Sample {
    /// Nothing yet.
    pub fn empty() -> anyhow::Result<Sample> {
        Ok(Sample {
            histogram: histogram()?,
            seconds: 0.0,
            failed: 0,
        })
    }

    /// Adds another run's transactions.
    pub fn add(&mut self, other: &Sample) -> anyhow::Result<()> {
        self.histogram
            .add(&other.histogram)
            .context("merging latency histograms")?;
        self.seconds += other.seconds;
        self.failed += other.failed;
        Ok(())
    }

    /// Throughput and latency of all of it.
    pub fn outcome(&self) -> Outcome {
        Outcome {
            tps: self.histogram.len() as f64 / self.seconds.max(f64::MIN_POSITIVE),
            latency: Latency::from_histogram(&self.histogram),
            failed: self.failed,
        }
    }
}

/// Runs pgbench with `scripts` (each a custom script, picked at random per
/// transaction with equal weight) as `user`.
pub async fn run(
    target: &Target,
    user: &str,
    scripts: &[String],
    load: Load,
) -> anyhow::Result<Outcome> {
    Ok(sample(target, user, scripts, load).await?.outcome())
}

/// [`run`], keeping the transactions so runs can be merged.
pub async fn sample(
    target: &Target,
    user: &str,
    scripts: &[String],
    load: Load,
) -> anyhow::Result<Sample> {
    ensure!(
        !scripts.is_empty() && scripts.len() <= MAX_SCRIPTS,
        "pgbench takes 1 to {MAX_SCRIPTS} scripts, got {}",
        scripts.len()
    );
    let dir = tempfile::tempdir().context("creating pgbench's working directory")?;
    let mut args: Vec<String> = vec![
        "-n".into(),
        "-M".into(),
        load.protocol.as_arg().into(),
        "-c".into(),
        load.clients.to_string(),
        "-j".into(),
        load.threads.to_string(),
        "-T".into(),
        load.duration.as_secs().max(1).to_string(),
        "-l".into(),
        "--log-prefix".into(),
        dir.path().join("tx").display().to_string(),
        "-h".into(),
        target.host.clone(),
        "-p".into(),
        target.port.to_string(),
        "-U".into(),
        user.to_owned(),
    ];
    for (i, script) in scripts.iter().enumerate() {
        let path = dir.path().join(format!("script{i}.sql"));
        std::fs::write(&path, script).context("writing a pgbench script")?;
        args.push("-f".into());
        args.push(path.display().to_string());
    }
    args.push(target.dbname.clone());
    let output = tokio::process::Command::new("pgbench")
        .args(&args)
        .current_dir(dir.path())
        .output()
        .await
        .context("starting pgbench (is it installed and on PATH?)")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        bail!(
            "pgbench failed ({}): {}\n{}",
            output.status,
            tail(&stderr),
            tail(&stdout)
        );
    }
    let failed = summary_value(&stdout, "number of failed transactions: ").unwrap_or(0.0) as u64;
    let (histogram, seconds) = read_logs(dir.path())?;
    ensure!(
        !histogram.is_empty(),
        "pgbench logged no transaction: {}",
        tail(&stderr)
    );
    Ok(Sample {
        histogram,
        seconds,
        failed,
    })
}

/// The number after `prefix` on the first line that has it.
fn summary_value(stdout: &str, prefix: &str) -> Option<f64> {
    stdout.lines().find_map(|l| {
        let rest = l.trim().strip_prefix(prefix)?;
        rest.split_whitespace().next()?.parse().ok()
    })
}

/// The latency (third column, µs) of every transaction in the `tx*` logs
/// of `dir` that completed in the run's steady part, and that part's length
/// in seconds. A line is `client transaction latency script epoch epoch_us`
/// (completion time); failed and skipped transactions say so instead of a
/// latency.
fn read_logs(dir: &Path) -> anyhow::Result<(Histogram<u64>, f64)> {
    let mut done: Vec<(u64, u64)> = Vec::new();
    for entry in std::fs::read_dir(dir).context("listing pgbench's logs")? {
        let entry = entry?;
        if !entry.file_name().to_string_lossy().starts_with("tx") {
            continue;
        }
        let text = std::fs::read_to_string(entry.path()).context("reading a pgbench log")?;
        done.extend(text.lines().filter_map(completed));
    }
    let mut h = histogram()?;
    let Some(start) = done.iter().map(|&(end, us)| end.saturating_sub(us)).min() else {
        return Ok((h, 0.0));
    };
    let end = done.iter().map(|&(end, _)| end).max().unwrap_or(start);
    let warm_up = (end.saturating_sub(start) / 5).min(1_000_000);
    let steady = start + warm_up;
    for &(at, us) in &done {
        if at >= steady {
            h.saturating_record(us);
        }
    }
    Ok((h, end.saturating_sub(steady) as f64 / 1e6))
}

/// (completion time in µs since the epoch, latency in µs) of a completed
/// transaction's log line.
fn completed(line: &str) -> Option<(u64, u64)> {
    let mut fields = line.split_whitespace();
    let latency: u64 = fields.nth(2)?.parse().ok()?;
    let epoch: u64 = fields.nth(1)?.parse().ok()?;
    let epoch_us: u64 = fields.next()?.parse().ok()?;
    Some((epoch * 1_000_000 + epoch_us, latency))
}

fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(10)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_summary() {
        let out = "number of transactions actually processed: 10\n\
                   number of failed transactions: 2 (1.000%)\n\
                   tps = 1234.5 (without initial connection time)\n";
        assert_eq!(summary_value(out, "tps = "), Some(1234.5));
        assert_eq!(
            summary_value(out, "number of failed transactions: "),
            Some(2.0)
        );
    }

    #[test]
    fn reads_completed_transactions_from_a_log_line() {
        assert_eq!(
            completed("3 17 1523 0 1700000000 250000"),
            Some((1_700_000_000_250_000, 1523))
        );
        assert_eq!(completed("3 18 failed 0 1700000000 260000"), None);
        assert_eq!(completed("3 19 skipped 0 1700000000 270000"), None);
    }
}
