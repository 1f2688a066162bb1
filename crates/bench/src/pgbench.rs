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
    /// pgbench's `tps` (without initial connection time).
    pub tps: f64,
    /// Per-transaction latency from the `-l` logs.
    pub latency: Latency,
    /// Transactions that failed (serialization or deadlock retries exhausted).
    pub failed: u64,
}

/// Runs pgbench with `scripts` (each a custom script, picked at random per
/// transaction with equal weight) as `user`.
pub async fn run(
    target: &Target,
    user: &str,
    scripts: &[String],
    load: Load,
) -> anyhow::Result<Outcome> {
    let weighted: Vec<(String, u32)> = scripts.iter().map(|s| (s.clone(), 1)).collect();
    Ok(run_weighted(target, user, &weighted, load).await?.0)
}

/// Runs pgbench with `scripts` (custom script and its weight, `-f file@w`)
/// as `user`; also returns each script's latencies (by script index), read
/// from the logs' script column.
pub async fn run_weighted(
    target: &Target,
    user: &str,
    scripts: &[(String, u32)],
    load: Load,
) -> anyhow::Result<(Outcome, Vec<Histogram<u64>>)> {
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
    let tps = summary_value(&stdout, "tps = ")
        .with_context(|| format!("no tps in pgbench's output: {}", tail(&stdout)))?;
    let failed = summary_value(&stdout, "number of failed transactions: ").unwrap_or(0.0) as u64;
    let (all, per_script) = read_logs(dir.path(), scripts.len())?;
    let latency = Latency::from_histogram(&all);
    ensure!(
        latency.count > 0,
        "pgbench logged no transaction: {}",
        tail(&stderr)
    );
    Ok((
        Outcome {
            tps,
            latency,
            failed,
        },
        per_script,
    ))
}

/// The number after `prefix` on the first line that has it.
fn summary_value(stdout: &str, prefix: &str) -> Option<f64> {
    stdout.lines().find_map(|l| {
        let rest = l.trim().strip_prefix(prefix)?;
        rest.split_whitespace().next()?.parse().ok()
    })
}

/// The latency column (third, microseconds) of every `tx*` log in `dir`:
/// all of them, and by script (the fourth column) for `scripts` scripts.
fn read_logs(dir: &Path, scripts: usize) -> anyhow::Result<(Histogram<u64>, Vec<Histogram<u64>>)> {
    let mut all = histogram()?;
    let mut per_script = (0..scripts)
        .map(|_| histogram())
        .collect::<anyhow::Result<Vec<_>>>()?;
    for entry in std::fs::read_dir(dir).context("listing pgbench's logs")? {
        let entry = entry?;
        if !entry.file_name().to_string_lossy().starts_with("tx") {
            continue;
        }
        let text = std::fs::read_to_string(entry.path()).context("reading a pgbench log")?;
        for line in text.lines() {
            record_log_line(line, &mut all, &mut per_script);
        }
    }
    Ok((all, per_script))
}

/// One line of a pgbench log: `client transaction latency script epoch
/// epoch_us`; failed and skipped transactions say so instead of a latency.
fn record_log_line(line: &str, all: &mut Histogram<u64>, per_script: &mut [Histogram<u64>]) {
    let mut fields = line.split_whitespace().skip(2);
    let Some(us) = fields.next().and_then(|t| t.parse::<u64>().ok()) else {
        return;
    };
    all.saturating_record(us);
    if let Some(h) = fields
        .next()
        .and_then(|t| t.parse::<usize>().ok())
        .and_then(|i| per_script.get_mut(i))
    {
        h.saturating_record(us);
    }
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
    fn splits_the_logs_latencies_by_script() {
        let mut all = histogram().expect("histogram");
        let mut per = vec![
            histogram().expect("histogram"),
            histogram().expect("histogram"),
        ];
        for line in [
            "0 1 1200 0 1700000000 1",
            "0 2 800 1 1700000000 2",
            "1 1 900 1 1700000000 3",
            "1 2 failed 1 1700000000 4",
            "1 3 700 7 1700000000 5",
        ] {
            record_log_line(line, &mut all, &mut per);
        }
        assert_eq!(all.len(), 4, "every logged latency, whatever its script");
        assert_eq!(per[0].len(), 1);
        assert_eq!(per[1].len(), 2);
        assert_eq!(per[1].max(), 900);
    }
}
