//! `showtree serve`, run as an operator runs it.

use std::process::Stdio;

use showtree_db::testing;
use tokio::io::{AsyncBufReadExt, BufReader};

fn serve_command(database_url: &str) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_showtree"));
    cmd.arg("serve")
        .env("DATABASE_URL", database_url)
        .env_remove("SHOWTREE_DATA_DIR")
        .env_remove("SHOWTREE_APP_DATABASE_URL")
        .env_remove("SHOWTREE_JWT_SECRET")
        .kill_on_drop(true);
    cmd
}

#[tokio::test]
async fn serve_without_a_jwt_secret_is_a_usage_error() {
    let db = testing::empty_db().await;
    let out = serve_command(db.url()).output().await.expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("SHOWTREE_JWT_SECRET"), "{err}");
}

#[tokio::test]
async fn serve_migrates_answers_and_stops_cleanly_on_sigterm() {
    let db = testing::empty_db().await;
    let mut child = serve_command(db.url())
        .env("SHOWTREE_BIND", "127.0.0.1:0")
        .env(
            "SHOWTREE_JWT_SECRET",
            "a-secret-of-at-least-thirty-two-bytes!!",
        )
        .stdout(Stdio::piped())
        .spawn()
        .expect("starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let first = lines
        .next_line()
        .await
        .expect("reads")
        .expect("announces where it serves");
    let url = first
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in {first:?}"))
        .to_owned();

    let ready = reqwest::get(format!("{url}/readyz"))
        .await
        .expect("answers");
    assert_eq!(ready.status(), 200, "migrated before serving");

    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id().expect("pid")).expect("pid"));
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).expect("signal");
    let status = child.wait().await.expect("exits");
    assert!(status.success(), "{status}");
}
