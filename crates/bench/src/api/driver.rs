//! The in-process load driver for `POST /v1/nodes`: every request needs its
//! own slug and `Idempotency-Key`, which oha's fixed body and headers
//! cannot give. `connections` workers, each with one keep-alive connection
//! of its own, send requests back to back for a fixed time on a runtime
//! (and thread) of their own, apart from the server's; latencies go
//! through an HDR histogram.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::Context;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use uuid::Uuid;

use super::HttpOutcome;
use crate::hierarchy::histogram;
use crate::report::Latency;

/// What the driver sends.
#[derive(Debug, Clone)]
pub struct CreateLoad {
    /// `http://127.0.0.1:port/v1/nodes`.
    pub url: String,
    /// The bearer token.
    pub token: String,
    /// Parents picked at random per request.
    pub parents: Vec<Uuid>,
    /// Concurrent connections.
    pub connections: u32,
    /// How long workers keep starting requests.
    pub duration: Duration,
    /// Seed of the parents' draw.
    pub seed: u64,
}

/// The body of one `POST /v1/nodes`: a workspace named like the baseline's,
/// with `slug` (a random number, as the baseline's `:key`).
pub fn create_body(parent: Uuid, slug: u64) -> serde_json::Value {
    serde_json::json!({
        "parent_id": parent,
        "kind": "workspace",
        "name": "Bench workspace",
        "slug": slug.to_string(),
    })
}

/// What one worker saw.
struct Tally {
    latency: hdrhistogram::Histogram<u64>,
    statuses: BTreeMap<u16, u64>,
    errors: BTreeMap<String, u64>,
}

/// Runs the load on a thread and runtime of its own and waits for it
/// (blocking: call it through `spawn_blocking`).
pub fn run(load: &CreateLoad) -> anyhow::Result<HttpOutcome> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the load driver's runtime")?;
    runtime.block_on(drive(load))
}

async fn drive(load: &CreateLoad) -> anyhow::Result<HttpOutcome> {
    let started = Instant::now();
    let deadline = started + load.duration;
    let mut workers = tokio::task::JoinSet::new();
    for w in 0..load.connections {
        let load = load.clone();
        workers.spawn(async move { worker(&load, deadline, u64::from(w)).await });
    }
    let mut latency = histogram()?;
    let mut statuses = BTreeMap::new();
    let mut errors = BTreeMap::new();
    while let Some(tally) = workers.join_next().await {
        let tally = tally.context("a load worker failed")??;
        latency
            .add(&tally.latency)
            .context("merging latency histograms")?;
        for (s, n) in tally.statuses {
            *statuses.entry(s).or_insert(0) += n;
        }
        for (e, n) in tally.errors {
            *errors.entry(e).or_insert(0) += n;
        }
    }
    let elapsed = started.elapsed();
    Ok(HttpOutcome::new(
        elapsed,
        Latency::from_histogram(&latency),
        statuses,
        errors,
    ))
}

async fn worker(load: &CreateLoad, deadline: Instant, index: u64) -> anyhow::Result<Tally> {
    // One client per worker, at most one idle connection: one keep-alive
    // connection per worker, as oha's `-c`.
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(1)
        .build()
        .context("building an HTTP client")?;
    let mut rng = StdRng::seed_from_u64(load.seed ^ index.wrapping_mul(0x9e37_79b9_7f4a_7c15));
    let mut tally = Tally {
        latency: histogram()?,
        statuses: BTreeMap::new(),
        errors: BTreeMap::new(),
    };
    let auth = format!("Bearer {}", load.token);
    while Instant::now() < deadline {
        let Some(&parent) = load.parents.choose(&mut rng) else {
            break;
        };
        let slug: u64 = rng.random_range(1..9_000_000_000_000_000_000);
        let key: u64 = rng.random();
        let sent = Instant::now();
        let result = client
            .post(&load.url)
            .header("authorization", &auth)
            .header("idempotency-key", key.to_string())
            .json(&create_body(parent, slug))
            .send()
            .await;
        let result = match result {
            Ok(response) => {
                let status = response.status().as_u16();
                response.bytes().await.map(|_| status)
            }
            Err(e) => Err(e),
        };
        let took = u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX);
        match result {
            Ok(status) => {
                tally.latency.saturating_record(took);
                *tally.statuses.entry(status).or_insert(0) += 1;
            }
            Err(e) => {
                *tally.errors.entry(error_kind(&e)).or_insert(0) += 1;
            }
        }
    }
    Ok(tally)
}

/// A short, countable name for a transport error.
fn error_kind(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timeout".into()
    } else if e.is_connect() {
        "connect".into()
    } else if e.is_body() || e.is_decode() {
        "body".into()
    } else {
        "request".into()
    }
}
