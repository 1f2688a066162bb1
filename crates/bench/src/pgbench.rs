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
    /// The steady part's latencies by script (index in the order given).
    pub per_script: Vec<Histogram<u64>>,
}

impl Sample {
    /// Nothing yet.
    pub fn empty() -> anyhow::Result<Sample> {
        Ok(Sample {
            histogram: histogram()?,
            seconds: 0.0,
            failed: 0,
            per_script: Vec::new(),
        })
    }

    /// Adds another run's transactions.
    pub fn add(&mut self, other: &Sample) -> anyhow::Result<()> {
        self.histogram
            .add(&other.histogram)
            .context("merging latency histograms")?;
        self.seconds += other.seconds;
        self.failed += other.failed;
        for (i, h) in other.per_script.iter().enumerate() {
            match self.per_script.get_mut(i) {
                Some(mine) => mine.add(h).context("merging latency histograms")?,
                None => self.per_script.push(h.clone()),
            }
        }
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
    let weighted: Vec<(String, u32)> = scripts.iter().map(|s| (s.clone(), 1)).collect();
    sample_weighted(target, user, &weighted, load, None).await
}

/// Runs pgbench with `scripts` (custom script and its weight, `-f file@w`)
/// as `user`, at `rate` transactions per second in total when given
/// (`--rate`: each transaction's latency then counts from its scheduled
/// start, so it includes the time it waited for its client); also returns
/// each script's latencies (by script index), read from the logs' script
/// column.
pub async fn run_weighted(
    target: &Target,
    user: &str,
    scripts: &[(String, u32)],
    load: Load,
    rate: Option<u32>,
) -> anyhow::Result<(Outcome, Vec<Histogram<u64>>)> {
    let sample = sample_weighted(target, user, scripts, load, rate).await?;
    let outcome = sample.outcome();
    Ok((outcome, sample.per_script))
}

/// [`run_weighted`], keeping the transactions so runs can be merged.
pub async fn sample_weighted(
    target: &Target,
    user: &str,
    scripts: &[(String, u32)],
    load: Load,
    rate: Option<u32>,
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
    if let Some(rate) = rate {
        args.push("-R".into());
        args.push(rate.to_string());
    }
    for (i, (script, weight)) in scripts.iter().enumerate() {
        let path = dir.path().join(format!("script{i}.sql"));
        std::fs::write(&path, script).context("writing a pgbench script")?;
        args.push("-f".into());
        args.push(format!("{}@{}", path.display(), (*weight).max(1)));
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
    let (histogram, per_script, seconds) = read_logs(dir.path(), scripts.len())?;
    ensure!(
        !histogram.is_empty(),
        "pgbench logged no transaction: {}",
        tail(&stderr)
    );
    Ok(Sample {
        histogram,
        seconds,
        failed,
        per_script,
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
/// of `dir` that completed in the run's steady part, all of them and by
/// script (the fourth column) for `scripts` scripts, and that part's length
/// in seconds. A line is `client transaction latency script epoch epoch_us`
/// (completion time); failed and skipped transactions say so instead of a
/// latency.
type Logged = (Histogram<u64>, Vec<Histogram<u64>>, f64);

fn read_logs(dir: &Path, scripts: usize) -> anyhow::Result<Logged> {
    let mut done: Vec<Completed> = Vec::new();
    for entry in std::fs::read_dir(dir).context("listing pgbench's logs")? {
        let entry = entry?;
        if !entry.file_name().to_string_lossy().starts_with("tx") {
            continue;
        }
        let text = std::fs::read_to_string(entry.path()).context("reading a pgbench log")?;
        done.extend(text.lines().filter_map(completed));
    }
    steady(&done, scripts)
}

/// What a run of `span` leaves out before its steady part: its first
/// fifth, at most its first second (connections opening, caches warming).
pub fn warm_up(span: Duration) -> Duration {
    (span / 5).min(Duration::from_secs(1))
}

/// The steady part of `done`: after [`warm_up`].
fn steady(done: &[Completed], scripts: usize) -> anyhow::Result<Logged> {
    let mut all = histogram()?;
    let mut per_script = (0..scripts)
        .map(|_| histogram())
        .collect::<anyhow::Result<Vec<_>>>()?;
    let Some(start) = done
        .iter()
        .map(|c| c.end_us.saturating_sub(c.latency_us))
        .min()
    else {
        return Ok((all, per_script, 0.0));
    };
    let end = done.iter().map(|c| c.end_us).max().unwrap_or(start);
    let warm_up =
        u64::try_from(warm_up(Duration::from_micros(end.saturating_sub(start))).as_micros())
            .unwrap_or(u64::MAX);
    let steady = start + warm_up;
    for c in done.iter().filter(|c| c.end_us >= steady) {
        all.saturating_record(c.latency_us);
        if let Some(h) = per_script.get_mut(c.script) {
            h.saturating_record(c.latency_us);
        }
    }
    Ok((all, per_script, end.saturating_sub(steady) as f64 / 1e6))
}

/// A completed transaction of a pgbench log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Completed {
    /// Completion time, µs since the epoch.
    end_us: u64,
    /// Latency, µs.
    latency_us: u64,
    /// Index of its script.
    script: usize,
}

/// The completed transaction a log line records, if it does.
fn completed(line: &str) -> Option<Completed> {
    let mut fields = line.split_whitespace();
    let latency_us: u64 = fields.nth(2)?.parse().ok()?;
    let script: usize = fields.next()?.parse().ok()?;
    let epoch: u64 = fields.next()?.parse().ok()?;
    let epoch_us: u64 = fields.next()?.parse().ok()?;
    Some(Completed {
        end_us: epoch * 1_000_000 + epoch_us,
        latency_us,
        script,
    })
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
            Some(Completed {
                end_us: 1_700_000_000_250_000,
                latency_us: 1523,
                script: 0
            })
        );
        assert_eq!(completed("3 18 failed 0 1700000000 260000"), None);
        assert_eq!(completed("3 19 skipped 0 1700000000 270000"), None);
    }

    #[test]
    fn splits_the_steady_latencies_by_script() {
        // a 10 s run: the first second is the warm-up
        let done: Vec<Completed> = [
            "0 1 1200 0 1700000000 500000",
            "0 2 800 1 1700000002 100000",
            "1 1 900 1 1700000005 0",
            "1 2 failed 1 1700000006 0",
            "1 3 700 7 1700000010 0",
        ]
        .iter()
        .filter_map(|l| completed(l))
        .collect();
        let (all, per, seconds) = steady(&done, 2).expect("steady");
        assert_eq!(all.len(), 3, "every steady latency, whatever its script");
        assert_eq!(per[0].len(), 0, "the warm-up's transaction is left out");
        assert_eq!(per[1].len(), 2);
        assert_eq!(per[1].max(), 900);
        assert!((seconds - 8.5012).abs() < 0.001, "{seconds}");
    }
}
