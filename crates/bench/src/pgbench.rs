//! Running pgbench custom scripts and reading its results: throughput from
//! its summary, latency percentiles from its per-transaction logs (`-l`)
//! through an HDR histogram.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use anyhow::{Context, bail, ensure};
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
    let tps = summary_value(&stdout, "tps = ")
        .with_context(|| format!("no tps in pgbench's output: {}", tail(&stdout)))?;
    let failed = summary_value(&stdout, "number of failed transactions: ").unwrap_or(0.0) as u64;
    let latency = read_logs(dir.path())?;
    ensure!(
        latency.count > 0,
        "pgbench logged no transaction: {}",
        tail(&stderr)
    );
    Ok(Outcome {
        tps,
        latency,
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

/// The latency column (third, microseconds) of every `tx*` log in `dir`.
fn read_logs(dir: &Path) -> anyhow::Result<Latency> {
    let mut h = histogram()?;
    for entry in std::fs::read_dir(dir).context("listing pgbench's logs")? {
        let entry = entry?;
        if !entry.file_name().to_string_lossy().starts_with("tx") {
            continue;
        }
        let text = std::fs::read_to_string(entry.path()).context("reading a pgbench log")?;
        for line in text.lines() {
            // client transaction latency script epoch epoch_us; failed and
            // skipped transactions say so instead of a latency
            if let Some(us) = line
                .split_whitespace()
                .nth(2)
                .and_then(|t| t.parse::<u64>().ok())
            {
                h.saturating_record(us);
            }
        }
    }
    Ok(Latency::from_histogram(&h))
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
}
