//! Clients that would hold the API hostage, or take more than their share:
//! slow headers (slowloris), a connection that says nothing, a body that
//! stops arriving, kept-alive connections left open, a client that stops
//! reading, more connections than the cap, and a key that
//! calls faster than its rate limit.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::system::{DEADLINE, Options, System, sample};

/// The API's timeouts in these tests, short so that the test is too.
const HEADER_TIMEOUT: Duration = Duration::from_secs(2);
const BODY_TIMEOUT: Duration = Duration::from_secs(2);
const IDLE_TIMEOUT: Duration = Duration::from_secs(6);

/// How late after its timeout a close may come on a busy machine (less than
/// the idle timeout less the header timeout, so that a head is not closed by
/// the idle timeout unnoticed).
const SLACK: Duration = Duration::from_secs(3);

/// Slow connections of each kind.
const SLOW: usize = 40;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slow {
    /// Sends part of its headers, then one more header line every 500 ms,
    /// never the blank line that ends them (slowloris).
    Headers,
    /// Sends its headers and part of the body it announced, then nothing.
    Body,
    /// Makes one request, reads the answer, and keeps the connection open.
    Idle,
    /// Connects and sends nothing at all.
    Silent,
}

/// What became of one slow connection.
#[derive(Debug)]
struct Closed {
    kind: Slow,
    /// From the moment its timeout started to the server's close.
    after: Duration,
    /// Everything the server sent.
    received: String,
}

/// `true` when the server has closed `stream` (end of file or a reset).
async fn read_some(stream: &mut TcpStream, into: &mut Vec<u8>) -> bool {
    let mut buf = [0u8; 4096];
    match stream.read(&mut buf).await {
        Ok(0) | Err(_) => true,
        Ok(n) => {
            into.extend_from_slice(&buf[..n]);
            false
        }
    }
}

/// Opens a connection that stalls as `kind` does, and waits (within
/// [`DEADLINE`]) for the server to close it.
async fn stall(api: std::net::SocketAddr, kind: Slow) -> Closed {
    let mut stream = TcpStream::connect(api).await.unwrap();
    let mut received = Vec::new();
    let started = match kind {
        Slow::Headers => {
            stream
                .write_all(b"GET /v1/products HTTP/1.1\r\nHost: api\r\n")
                .await
                .unwrap();
            Instant::now()
        }
        Slow::Body => {
            stream
                .write_all(
                    b"POST /v1/orders HTTP/1.1\r\nHost: api\r\nContent-Type: application/json\r\n\
                      Idempotency-Key: slow-body\r\nContent-Length: 100\r\n\r\n{\"customer",
                )
                .await
                .unwrap();
            Instant::now()
        }
        Slow::Silent => Instant::now(),
        Slow::Idle => {
            stream
                .write_all(b"GET /healthz HTTP/1.1\r\nHost: api\r\n\r\n")
                .await
                .unwrap();
            while !String::from_utf8_lossy(&received).contains("\"ok\"") {
                assert!(
                    !read_some(&mut stream, &mut received).await,
                    "closed before answering"
                );
            }
            Instant::now()
        }
    };
    let mut trickle = tokio::time::interval(Duration::from_millis(500));
    trickle.tick().await;
    let closed = tokio::time::timeout(DEADLINE, async {
        loop {
            tokio::select! {
                closed = read_some(&mut stream, &mut received) => if closed { break },
                _ = trickle.tick(), if kind == Slow::Headers => {
                    // The server may have closed it already; the read says so.
                    let _ = stream.write_all(b"X-Still-Here: yes\r\n").await;
                }
            }
        }
    })
    .await;
    assert!(
        closed.is_ok(),
        "a {kind:?} connection was still open after {DEADLINE:?}"
    );
    Closed {
        kind,
        after: started.elapsed(),
        received: String::from_utf8_lossy(&received).into_owned(),
    }
}

fn socket_address(url: &str) -> std::net::SocketAddr {
    url.trim_start_matches("http://").parse().unwrap()
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn slow_connections_are_closed_after_their_timeouts_while_others_are_served(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let options = Options {
        api_env: vec![
            (
                "HEADER_READ_TIMEOUT_SECS",
                HEADER_TIMEOUT.as_secs().to_string(),
            ),
            ("BODY_READ_TIMEOUT_SECS", BODY_TIMEOUT.as_secs().to_string()),
            ("IDLE_TIMEOUT_SECS", IDLE_TIMEOUT.as_secs().to_string()),
        ],
        ..Options::without_workers()
    };
    let system = System::start("hostile_slow", &db, options).await;
    system.create_product("MUG", 1250, 5).await;
    let addr = socket_address(&system.api);

    let slow: Vec<_> = [Slow::Headers, Slow::Body, Slow::Idle, Slow::Silent]
        .into_iter()
        .flat_map(|kind| std::iter::repeat_n(kind, SLOW))
        .map(|kind| tokio::spawn(stall(addr, kind)))
        .collect();

    // A well-behaved client, on a kept-alive connection, until every slow
    // connection has been closed; it returns only when a request fails.
    let served = Arc::new(AtomicUsize::new(0));
    let normal = tokio::spawn({
        let http = system.http.clone();
        let url = format!("{}/v1/products/MUG", system.api);
        let served = Arc::clone(&served);
        async move {
            loop {
                match http.get(&url).send().await {
                    Ok(response) if response.status() == 200 => {}
                    other => return format!("{other:?}"),
                }
                served.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    });
    let mut closed = Vec::new();
    for connection in slow {
        closed.push(connection.await.unwrap());
    }
    if normal.is_finished() {
        panic!(
            "a normal request failed under attack: {}",
            normal.await.unwrap()
        );
    }
    normal.abort();
    let served = served.load(Ordering::Relaxed);
    assert!(
        served >= 10,
        "the normal client was served only {served} times"
    );

    for connection in &closed {
        let timeout = match connection.kind {
            Slow::Headers | Slow::Silent => HEADER_TIMEOUT,
            Slow::Body => BODY_TIMEOUT,
            Slow::Idle => IDLE_TIMEOUT,
        };
        // The server's clock may start a little before the client's (an
        // idle one's when the answer was handed over, not when it was read).
        assert!(
            connection.after + Duration::from_millis(500) >= timeout,
            "closed before its timeout: {connection:?}"
        );
        assert!(
            connection.after <= timeout + SLACK,
            "closed late: {connection:?}"
        );
    }
    for connection in closed.iter().filter(|c| c.kind == Slow::Body) {
        assert!(
            connection.received.starts_with("HTTP/1.1 408"),
            "{connection:?}"
        );
        assert!(
            connection.received.contains("/problems/request-timeout"),
            "{connection:?}"
        );
    }
    for connection in closed.iter().filter(|c| c.kind == Slow::Headers) {
        assert_eq!(
            connection.received, "",
            "a slowloris connection got an answer"
        );
    }

    let metrics = system.scrape(0).await;
    for (reason, at_least) in [
        ("header_timeout", 2 * SLOW),
        ("body_timeout", SLOW),
        ("idle_timeout", SLOW),
    ] {
        let counted = sample(
            &metrics,
            "asynccheckout_api_connections_closed_total",
            &[("reason", reason)],
        )
        .unwrap_or(0.0);
        assert!(
            counted >= at_least as f64,
            "{counted} connections counted as closed by {reason}"
        );
    }
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn connections_past_the_cap_are_refused_and_the_api_recovers(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    const CAP: usize = 20;
    let options = Options {
        api_env: vec![("MAX_CONNECTIONS", CAP.to_string())],
        ..Options::without_workers()
    };
    let system = System::start("hostile_cap", &db, options).await;
    let addr = socket_address(&system.api);

    // Kept-alive connections, each served once: 19 of the 20 allowed.
    let mut held = Vec::new();
    for _ in 0..CAP - 1 {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        assert!(healthz_on(&mut stream).await.starts_with("HTTP/1.1 200"));
        held.push(stream);
    }

    // The 20th: /readyz says the process is near its cap.
    let probe = reqwest::Client::new();
    let ready = probe
        .get(format!("{}/readyz", system.api))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 503);
    let status: Value = ready.json().await.unwrap();
    assert!(
        status["status"]
            .as_str()
            .unwrap()
            .contains("near the connection cap"),
        "{status}"
    );

    // Past the cap: a clean 503 with Retry-After, then the close.
    for _ in 0..50 {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: api\r\n\r\n")
            .await
            .unwrap();
        let mut answer = Vec::new();
        tokio::time::timeout(DEADLINE, stream.read_to_end(&mut answer))
            .await
            .expect("a refused connection was left open")
            .expect("the refusal was a clean close, not a reset");
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
        assert!(answer.contains("retry-after: 1"), "{answer}");
        assert!(answer.contains("/problems/service-unavailable"), "{answer}");
    }

    // The connections it holds are still served.
    for stream in &mut held {
        assert!(healthz_on(stream).await.starts_with("HTTP/1.1 200"));
    }
    let refused = sample(
        &system.scrape(0).await,
        "asynccheckout_api_connections_refused_total",
        &[],
    );
    assert!(refused >= Some(50.0), "{refused:?} refusals counted");

    // When they close, new clients are served and /readyz is ready again.
    drop(held);
    drop(probe);
    let deadline = Instant::now() + DEADLINE;
    loop {
        let ready = reqwest::Client::new()
            .get(format!("{}/readyz", system.api))
            .send()
            .await;
        if ready.is_ok_and(|r| r.status() == 200) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the API did not recover from its cap"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let products = system
        .http
        .get(format!("{}/v1/products", system.api))
        .send()
        .await
        .unwrap();
    assert_eq!(products.status(), 200);
}

/// Sends `GET /healthz` on a kept-alive connection and returns the answer.
async fn healthz_on(stream: &mut TcpStream) -> String {
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: api\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(DEADLINE, async {
        while !String::from_utf8_lossy(&answer).contains("\"ok\"") {
            assert!(
                !read_some(stream, &mut answer).await,
                "closed before answering"
            );
        }
    })
    .await
    .expect("no answer");
    String::from_utf8_lossy(&answer).into_owned()
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_key_past_its_rate_gets_429s_while_another_key_is_unaffected(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let system = System::start("hostile_rate", &db, Options::without_workers()).await;
    system.create_product("MUG", 1250, 1_000).await;
    let (_, greedy) = system
        .create_key_with(
            "greedy",
            &["orders:write", "orders:read"],
            &["--rate-limit", "2", "--burst", "5"],
        )
        .await;
    let (polite_id, polite) = system
        .create_key("polite", &["orders:write", "orders:read"])
        .await;
    let http = reqwest::Client::new();
    let list = |key: &str| {
        http.get(format!("{}/v1/orders", system.api))
            .bearer_auth(key)
            .send()
    };

    // The same order placed again and again: a replay costs a token too.
    let order = System::order_body("tok_visa", &[("MUG", 1)]);
    let mut statuses = Vec::new();
    let mut limited = None;
    let started = Instant::now();
    for _ in 0..20 {
        let response = http
            .post(format!("{}/v1/orders", system.api))
            .bearer_auth(&greedy)
            .header("Idempotency-Key", "same-order")
            .json(&order)
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.headers()["ratelimit-policy"],
            "\"api-key\";q=2;w=1"
        );
        assert!(response.headers().contains_key("ratelimit"));
        statuses.push(response.status().as_u16());
        if response.status() == 429 && limited.is_none() {
            limited = Some(response);
        }
    }
    // The burst, and what 2/s refilled while the requests were made.
    let refilled = (started.elapsed().as_secs_f64() * 2.0).floor() as usize;
    let allowed = statuses.iter().filter(|s| **s == 202).count();
    assert!(
        (5..=5 + refilled).contains(&allowed),
        "a burst of 5 at 2/s let {allowed} of 20 through: {statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 202 || *s == 429),
        "{statuses:?}"
    );
    let limited = limited.expect("no 429");
    let retry_after: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        retry_after, 1,
        "at 2/s the next token is at most 0.5 s away"
    );
    // None left, and the burst of 5 back in 2.5 s or a little less: 3 s.
    assert_eq!(limited.headers()["ratelimit"], "\"api-key\";r=0;t=3");
    assert_eq!(
        limited.headers()["content-type"],
        "application/problem+json"
    );
    let problem: Value = limited.json().await.unwrap();
    assert_eq!(problem["type"], "/problems/rate-limited");
    assert_eq!(problem["status"], 429);
    let orders: i64 = sqlx::query_scalar("SELECT count(*) FROM orders")
        .fetch_one(&system.pool)
        .await
        .unwrap();
    assert_eq!(orders, 1, "the replays placed one order");

    // Meanwhile the other key has the default (100/s, burst 200) to itself.
    for i in 0..50 {
        let response = list(&polite).await.unwrap();
        assert_eq!(response.status(), 200, "request {i} of the polite key");
        assert_eq!(
            response.headers()["ratelimit-policy"],
            "\"api-key\";q=100;w=1"
        );
    }

    // An operator lowers the polite key's limit: from its next request on.
    assert!(
        system
            .keys_command(&["set-limit", &polite_id, "--rate-limit", "1", "--burst", "1"])
            .await
    );
    let after: Vec<u16> = futures_statuses(&list, &polite, 3).await;
    assert_eq!(after[0], 200, "{after:?}");
    assert!(after[1..].contains(&429), "a burst of 1 at 1/s: {after:?}");
    // And gives it back the default: learnt by the key's next request that
    // is let through, and in force from the one after.
    assert!(
        system
            .keys_command(&["set-limit", &polite_id, "--default"])
            .await
    );
    let deadline = Instant::now() + DEADLINE;
    loop {
        let response = list(&polite).await.unwrap();
        if response.headers()["ratelimit-policy"] == "\"api-key\";q=100;w=1" {
            assert_eq!(response.status(), 200);
            break;
        }
        assert!(Instant::now() < deadline, "the default never came back");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The statuses of `n` requests made one after another with `key`.
async fn futures_statuses<F, Fut>(request: &F, key: &str, n: usize) -> Vec<u16>
where
    F: Fn(&str) -> Fut,
    Fut: std::future::Future<Output = reqwest::Result<reqwest::Response>>,
{
    let mut statuses = Vec::new();
    for _ in 0..n {
        statuses.push(request(key).await.unwrap().status().as_u16());
    }
    statuses
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_client_that_stops_reading_its_answers_is_closed(_: PgPoolOptions, db: PgConnectOptions) {
    const REQUESTS: usize = 300;
    let options = Options {
        api_env: vec![("IDLE_TIMEOUT_SECS", "3".to_owned())],
        ..Options::without_workers()
    };
    let system = System::start("hostile_slow_reader", &db, options).await;
    let spec_len = system
        .http
        .get(format!("{}/openapi.json", system.api))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap()
        .len();

    // Hundreds of pipelined requests for the OpenAPI document, far more than
    // the sockets' buffers hold, and not one byte of the answers read.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stream = socket.connect(socket_address(&system.api)).await.unwrap();
    let request = b"GET /openapi.json HTTP/1.1\r\nHost: api\r\n\r\n".repeat(REQUESTS);
    stream.write_all(&request).await.unwrap();
    let sent = Instant::now();

    let deadline = sent + DEADLINE;
    loop {
        let closed = sample(
            &system.scrape(0).await,
            "asynccheckout_api_connections_closed_total",
            &[("reason", "send_timeout")],
        );
        if closed >= Some(1.0) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the slow reader was never closed"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        sent.elapsed() >= Duration::from_secs(3),
        "closed after {:?}, before the idle timeout",
        sent.elapsed()
    );
    let mut received = Vec::new();
    let _ = tokio::time::timeout(DEADLINE, stream.read_to_end(&mut received))
        .await
        .expect("the connection was left open");
    assert!(
        received.len() < REQUESTS * spec_len,
        "all {} bytes were sent",
        received.len()
    );
    // And the API serves others all along.
    let healthz = reqwest::get(format!("{}/healthz", system.api))
        .await
        .unwrap();
    assert_eq!(healthz.status(), 200);
}
