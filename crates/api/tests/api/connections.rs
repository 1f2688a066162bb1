//! Connections over raw TCP: what the server does with clients that stall,
//! idle, or are mid-request when it shuts down.

use std::time::Duration;

use showtree_api::config::{APP_ROLE, url_with_user};
use showtree_api::{App, Config, Secret};
use showtree_db::testing::migrated_db;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Long enough never to be what ends a test on a loaded machine; a test
/// that reaches it has hung.
const HANG: Duration = Duration::from_secs(60);

/// Nothing here touches the database, and the pool connects on first use.
const NO_DATABASE: &str = "postgres://authenticator@127.0.0.1:1/unused";

const HEALTHZ: &[u8] = b"GET /healthz HTTP/1.1\r\nhost: showtree\r\n\r\n";

async fn connect(base: &str) -> TcpStream {
    let addr = base.trim_start_matches("http://");
    TcpStream::connect(addr).await.expect("connects")
}

/// Reads one response with a `content-length` body, leaving the
/// connection open; returns its head and body.
async fn read_response(stream: &mut TcpStream) -> String {
    let mut data = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = find(&data, b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&data[..end]).to_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .map_or(0, |v| v.trim().parse().expect("content-length"));
            if data.len() >= end + 4 + length {
                return String::from_utf8_lossy(&data).into_owned();
            }
        }
        let n = tokio::time::timeout(HANG, stream.read(&mut chunk))
            .await
            .expect("the response comes")
            .expect("reads");
        assert!(
            n > 0,
            "closed mid-response: {:?}",
            String::from_utf8_lossy(&data)
        );
        data.extend_from_slice(&chunk[..n]);
    }
}

fn find(data: &[u8], needle: &[u8]) -> Option<usize> {
    data.windows(needle.len()).position(|w| w == needle)
}

/// Reads until the server closes the connection (EOF or reset); returns
/// what came before.
async fn read_until_closed(stream: &mut TcpStream) -> Vec<u8> {
    let mut data = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match tokio::time::timeout(HANG, stream.read(&mut chunk))
            .await
            .expect("the server closes the connection")
        {
            Ok(0) | Err(_) => return data,
            Ok(n) => data.extend_from_slice(&chunk[..n]),
        }
    }
}

#[tokio::test]
async fn a_client_that_stalls_mid_header_is_disconnected_but_idle_ones_are_not() {
    let (base, _, _stop) = crate::helpers::serve(NO_DATABASE.into(), |c| {
        c.header_read_timeout = Duration::from_millis(200);
        c.idle_timeout = Duration::from_secs(600);
    })
    .await;
    let mut stream = connect(&base).await;
    stream.write_all(HEALTHZ).await.expect("writes");
    assert!(read_response(&mut stream).await.starts_with("HTTP/1.1 200"));

    // quiet for longer than the header timeout, but between requests
    tokio::time::sleep(Duration::from_secs(1)).await;
    stream.write_all(HEALTHZ).await.expect("writes");
    assert!(read_response(&mut stream).await.starts_with("HTTP/1.1 200"));

    // half a head, then nothing (slowloris)
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: showtree\r\n")
        .await
        .expect("writes");
    let rest = read_until_closed(&mut stream).await;
    assert!(rest.is_empty(), "{:?}", String::from_utf8_lossy(&rest));
}

#[tokio::test]
async fn a_connection_without_requests_is_closed_after_the_idle_timeout() {
    let (base, _, _stop) = crate::helpers::serve(NO_DATABASE.into(), |c| {
        c.idle_timeout = Duration::from_millis(300);
    })
    .await;
    // idle after a request (keep-alive)
    let mut stream = connect(&base).await;
    stream.write_all(HEALTHZ).await.expect("writes");
    assert!(read_response(&mut stream).await.starts_with("HTTP/1.1 200"));
    assert!(read_until_closed(&mut stream).await.is_empty());
    // idle from the start
    let mut stream = connect(&base).await;
    assert!(read_until_closed(&mut stream).await.is_empty());
}

#[tokio::test]
async fn a_request_in_flight_at_shutdown_gets_its_answer() {
    let db = migrated_db().await;
    let mut config = Config::new(url_with_user(db.url(), APP_ROLE), Secret::generate());
    config.bind = "127.0.0.1:0".parse().expect("address");
    let app = App::build(config).await.expect("the service starts");
    let addr = app.local_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));

    // the head, then wait for 100 Continue: the handler is reading the body
    let body = br#"{"email":"nobody@example.com","password":"not the password"}"#;
    let mut stream = TcpStream::connect(addr).await.expect("connects");
    let head = format!(
        "POST /v1/auth/login HTTP/1.1\r\nhost: showtree\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nexpect: 100-continue\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.expect("writes");
    let mut continued = Vec::new();
    let mut byte = [0u8; 1];
    while find(&continued, b"\r\n\r\n").is_none() {
        let n = tokio::time::timeout(HANG, stream.read(&mut byte))
            .await
            .expect("100 Continue comes")
            .expect("reads");
        assert!(n > 0, "closed before 100 Continue");
        continued.push(byte[0]);
    }
    assert!(continued.starts_with(b"HTTP/1.1 100"), "{continued:?}");

    // stop, and wait until the server no longer accepts
    stop.send(()).expect("the server is running");
    tokio::time::timeout(HANG, async {
        while TcpStream::connect(addr).await.is_ok() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the server stops accepting");

    // the rest of the request still gets its answer, then the connection
    // closes and the server returns
    stream.write_all(body).await.expect("writes");
    let answer = read_until_closed(&mut stream).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    assert!(answer.contains("problem+json"), "{answer}");
    tokio::time::timeout(HANG, server)
        .await
        .expect("the server returns once the request is answered")
        .expect("the server task")
        .expect("serves without error");
}
