//! Driving oha (an HTTP load generator, `cargo install oha --locked`) and
//! reading its JSON summary.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::Value;

use super::HttpOutcome;
use crate::report::Latency;

/// What to tell a user who has no oha.
pub const INSTALL_HINT: &str = "oha (the HTTP load generator `showtree bench api` drives) is not \
     on PATH: install it with `cargo install oha --locked` (it lands in ~/.cargo/bin), then run \
     the benchmark again";

/// One oha run.
#[derive(Debug, Clone)]
pub struct Run {
    /// URLs, picked at random per request (one URL means that one).
    pub urls: Vec<String>,
    /// A bearer token, when the route needs one.
    pub token: Option<String>,
    /// `-c`.
    pub connections: u32,
    /// `-z`.
    pub duration: Duration,
    /// `-q`, all connections together (with `--latency-correction`, so a
    /// request is timed from when it was due, not from when it was sent);
    /// `None`: each connection sends its next request on the last answer.
    pub rate: Option<u32>,
}

/// `oha --version`, or a clear error when oha is missing.
pub async fn version() -> anyhow::Result<String> {
    let output = match tokio::process::Command::new("oha")
        .arg("--version")
        .output()
        .await
    {
        Ok(output) => output,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(INSTALL_HINT),
        Err(e) => return Err(e).context("running `oha --version`"),
    };
    if !output.status.success() {
        bail!("`oha --version` failed ({}): {INSTALL_HINT}", output.status);
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// The arguments of `run` (the URL file is `urls_file`).
pub fn arguments(run: &Run, urls_file: &str) -> Vec<String> {
    let mut args: Vec<String> = vec![
        "--no-tui".into(),
        "--output-format".into(),
        "json".into(),
        // requests still in flight at the deadline finish and count,
        // rather than being cancelled and reported as errors
        "--wait-ongoing-requests-after-deadline".into(),
        "-c".into(),
        run.connections.to_string(),
        "-z".into(),
        format!("{}s", run.duration.as_secs().max(1)),
    ];
    if let Some(rate) = run.rate {
        args.push("-q".into());
        args.push(rate.to_string());
        args.push("--latency-correction".into());
    }
    if let Some(token) = &run.token {
        args.push("-H".into());
        args.push(format!("Authorization: Bearer {token}"));
    }
    args.push("--urls-from-file".into());
    args.push(urls_file.to_owned());
    args
}

/// Runs oha and reads its summary.
pub async fn run(run: &Run) -> anyhow::Result<HttpOutcome> {
    let dir = tempfile::tempdir().context("creating oha's working directory")?;
    let urls = dir.path().join("urls.txt");
    std::fs::write(&urls, run.urls.join("\n") + "\n").context("writing oha's URL list")?;
    let args = arguments(run, &urls.display().to_string());
    let output = match tokio::process::Command::new("oha")
        .args(&args)
        .output()
        .await
    {
        Ok(output) => output,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(INSTALL_HINT),
        Err(e) => return Err(e).context("starting oha"),
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!(
            "oha failed ({}): {}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim(),
            stdout.trim()
        );
    }
    parse(&stdout)
}

/// Reads oha's JSON summary (`--output-format json`): wall time, latency
/// percentiles (seconds), responses by status, failed requests by error.
pub fn parse(json: &str) -> anyhow::Result<HttpOutcome> {
    let v: Value = serde_json::from_str(json).context("oha's output is not JSON")?;
    let total = v["summary"]["total"]
        .as_f64()
        .context("oha's summary has no total time")?;
    let percentile = |name: &str| -> u64 {
        // null when no request succeeded
        v["latencyPercentiles"][name]
            .as_f64()
            .map_or(0, |s| (s * 1e6).round() as u64)
    };
    let statuses: BTreeMap<u16, u64> = match &v["statusCodeDistribution"] {
        Value::Object(map) => map
            .iter()
            .map(|(k, n)| {
                Ok((
                    k.parse().with_context(|| format!("status code {k:?}"))?,
                    n.as_u64().context("a status count")?,
                ))
            })
            .collect::<anyhow::Result<_>>()?,
        _ => BTreeMap::new(),
    };
    let errors: BTreeMap<String, u64> = match &v["errorDistribution"] {
        Value::Object(map) => map
            .iter()
            .map(|(k, n)| Ok((k.clone(), n.as_u64().context("an error count")?)))
            .collect::<anyhow::Result<_>>()?,
        _ => BTreeMap::new(),
    };
    let count = statuses.values().sum();
    Ok(HttpOutcome::new(
        Duration::from_secs_f64(total.max(0.0)),
        Latency {
            p50_us: percentile("p50"),
            p95_us: percentile("p95"),
            p99_us: percentile("p99"),
            count,
        },
        statuses,
        errors,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_summary_percentiles_statuses_and_errors() {
        let json = r#"{
          "summary": {"successRate": 0.99, "total": 10.5, "requestsPerSec": 950.0},
          "latencyPercentiles": {"p10": 0.001, "p50": 0.0042, "p95": 0.0123, "p99": 0.05},
          "statusCodeDistribution": {"200": 9900, "503": 10},
          "errorDistribution": {"connection closed before message completed": 3}
        }"#;
        let out = parse(json).expect("parse");
        assert_eq!(out.elapsed, Duration::from_secs_f64(10.5));
        assert_eq!(out.latency.p50_us, 4_200);
        assert_eq!(out.latency.p95_us, 12_300);
        assert_eq!(out.latency.p99_us, 50_000);
        assert_eq!(out.latency.count, 9_910);
        assert_eq!(out.ok(), 9_900);
        assert_eq!(out.failures(), 13);
        assert!((out.rps() - 9_900.0 / 10.5).abs() < 1e-9);
        assert_eq!(
            out.failure_summary(),
            "10 x 503, 3 x connection closed before message completed"
        );
    }

    #[test]
    fn a_run_without_answers_has_no_latency() {
        let json = r#"{"summary": {"total": 1.0}, "latencyPercentiles": {"p50": null},
                       "statusCodeDistribution": {}, "errorDistribution": {"connect": 5}}"#;
        let out = parse(json).expect("parse");
        assert_eq!(out.ok(), 0);
        assert_eq!(out.latency.p50_us, 0);
        assert_eq!(out.failures(), 5);
    }

    #[test]
    fn passes_the_token_and_the_url_list() {
        let run = Run {
            urls: vec!["http://127.0.0.1:1/healthz".into()],
            token: Some("t0k".into()),
            connections: 64,
            duration: Duration::from_secs(10),
            rate: Some(500),
        };
        let args = arguments(&run, "/tmp/urls.txt").join(" ");
        assert!(
            args.contains("-c 64 -z 10s -q 500 --latency-correction"),
            "{args}"
        );
        assert!(args.contains("-H Authorization: Bearer t0k"), "{args}");
        assert!(args.ends_with("--urls-from-file /tmp/urls.txt"), "{args}");
    }
}
