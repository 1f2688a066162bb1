//! Server CPU spent by one database's backends while a load runs, read
//! from `/proc`: what each transaction cost the server, and how much of it
//! went to backends beside the load's own (a background folder). It
//! leaves out work on other databases and outside PostgreSQL, but not the
//! slowdown such work causes: a core's time buys fewer instructions while
//! its sibling is busy, so on a loaded machine it rises as throughput
//! falls.
//!
//! Only a server on this machine can be measured so: every backend of the
//! database (pgbench's connections, a background folder, but not the
//! sampler itself) is read from `/proc/<pid>/stat` every
//! [`INTERVAL`], from a given point of the run until it ends. A backend
//! that is not a local `postgres` process (a remote server, a pid this
//! machine does not have) makes the measurement unavailable rather than
//! wrong.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio_postgres::Client;

use crate::hierarchy;

/// How often the backends are read.
pub const INTERVAL: Duration = Duration::from_millis(100);

/// CPU time the database's backends spent during a window of wall time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CpuWindow {
    /// Wall time between the window's first and last reading, seconds.
    pub wall_seconds: f64,
    /// User and system CPU of every backend over the window, seconds.
    pub cpu_seconds: f64,
    /// The part of it spent by backends whose `application_name` is not
    /// `pgbench` (a background folder beside pgbench's load, say).
    pub other_cpu_seconds: f64,
}

impl CpuWindow {
    /// CPU per transaction, in µs, for a load that ran at `tps` over the
    /// window.
    pub fn micros_per_transaction(&self, tps: f64) -> Option<f64> {
        self.per_transaction(self.cpu_seconds, tps)
    }

    /// [`Self::micros_per_transaction`] of the backends that are not
    /// pgbench's.
    pub fn other_micros_per_transaction(&self, tps: f64) -> Option<f64> {
        self.per_transaction(self.other_cpu_seconds, tps)
    }

    fn per_transaction(&self, cpu_seconds: f64, tps: f64) -> Option<f64> {
        let transactions = tps * self.wall_seconds;
        (transactions >= 1.0).then(|| cpu_seconds * 1e6 / transactions)
    }
}

/// Runs `work` while sampling the CPU of every backend connected to the
/// database behind `db_url` (but the sampler's own), counting from `skip`
/// after `work` starts; returns `work`'s result and the window, or `None`
/// when the server is not on this machine or nothing was read.
pub async fn during<T>(
    db_url: &str,
    skip: Duration,
    work: impl Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<(T, Option<CpuWindow>)> {
    let client = hierarchy::connect(db_url)
        .await
        .context("connecting the CPU sampler")?;
    if !is_local(&client).await? {
        return Ok((work.await?, None));
    }
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = tokio::spawn(sample(client, skip, Arc::clone(&stop)));
    let result = work.await;
    stop.store(true, Ordering::Relaxed);
    let window = sampler.await.context("the CPU sampler")??;
    Ok((result?, window))
}

/// Whether the sampler's own backend is a `postgres` process of this
/// machine whose CPU times can be read.
async fn is_local(client: &Client) -> anyhow::Result<bool> {
    let pid: i32 = client
        .query_one("select pg_backend_pid()", &[])
        .await
        .context("reading the sampler's backend pid")?
        .get(0);
    Ok(backend_ticks(pid).is_some())
}

/// The user and system CPU ticks of a local `postgres` process.
fn backend_ticks(pid: i32) -> Option<u64> {
    let process = procfs::process::Process::new(pid).ok()?;
    let stat = process.stat().ok()?;
    (stat.comm == "postgres").then_some(stat.utime + stat.stime)
}

/// Reads every backend until `stop`; the window spans the readings from
/// `skip` on.
async fn sample(
    client: Client,
    skip: Duration,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<Option<CpuWindow>> {
    let started = Instant::now();
    // per backend: its ticks at its first and at its last reading, and
    // whether it is one of pgbench's
    let mut ticks: HashMap<i32, (u64, u64, bool)> = HashMap::new();
    let mut first: Option<Instant> = None;
    let mut last = started;
    while !stop.load(Ordering::Relaxed) {
        tokio::time::sleep(INTERVAL).await;
        if started.elapsed() < skip {
            continue;
        }
        let pids = client
            .query(
                "select pid, application_name = 'pgbench' from pg_catalog.pg_stat_activity \
                 where datname = current_database() and pid <> pg_backend_pid()",
                &[],
            )
            .await
            .context("listing the database's backends")?;
        let now = Instant::now();
        for row in pids {
            let (pid, pgbench): (i32, bool) = (row.get(0), row.get(1));
            if let Some(t) = backend_ticks(pid) {
                ticks
                    .entry(pid)
                    .and_modify(|e| e.1 = t)
                    .or_insert((t, t, pgbench));
            }
        }
        first.get_or_insert(now);
        last = now;
    }
    let Some(first) = first else {
        return Ok(None);
    };
    let per_second = procfs::ticks_per_second() as f64;
    let spent = |pgbench_too: bool| -> f64 {
        let ticks: u64 = ticks
            .values()
            .filter(|(_, _, pgbench)| pgbench_too || !pgbench)
            .map(|(a, b, _)| b.saturating_sub(*a))
            .sum();
        ticks as f64 / per_second
    };
    Ok(Some(CpuWindow {
        wall_seconds: last.duration_since(first).as_secs_f64(),
        cpu_seconds: spent(true),
        other_cpu_seconds: spent(false),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_transaction_divides_the_cpu_by_the_transactions_of_the_window() {
        let w = CpuWindow {
            wall_seconds: 10.0,
            cpu_seconds: 2.0,
            other_cpu_seconds: 0.5,
        };
        // 1,000 tps over 10 s: 10,000 transactions, 200 µs each, 50 of
        // them outside pgbench's backends
        assert_eq!(w.micros_per_transaction(1_000.0), Some(200.0));
        assert_eq!(w.other_micros_per_transaction(1_000.0), Some(50.0));
        assert_eq!(w.micros_per_transaction(0.0), None);
    }

    #[test]
    fn a_process_that_is_not_postgres_is_not_read() {
        // this test binary is a process of this machine, not a backend
        let me = i32::try_from(std::process::id()).expect("a pid fits an i32 on Linux");
        assert_eq!(backend_ticks(me), None);
    }
}
