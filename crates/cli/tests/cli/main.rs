//! The `showtree` binary, run as a user runs it, against a real PostgreSQL.

mod bench;
mod demo;
mod import;
mod migrate;
mod operator;
mod report;
mod serve;

use std::process::Output;

/// Runs `showtree ARGS` with `DATABASE_URL` set.
pub async fn showtree(database_url: &str, args: &[&str]) -> Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_showtree"))
        .args(args)
        .env("DATABASE_URL", database_url)
        .env_remove("SHOWTREE_DATA_DIR")
        .output()
        .await
        .expect("running showtree")
}

/// Standard output as text, after asserting the command succeeded.
pub fn ok_stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "showtree failed ({}): {}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
