//! A real SMTP server for the end-to-end tests: Python's aiosmtpd, writing
//! every message it receives to a maildir that the tests read.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use testkit::process;
use tokio::process::{Child, Command};

use crate::system::DEADLINE;

/// A real SMTP server (Python's aiosmtpd) writing what it receives to a
/// maildir.
pub struct MailSink {
    pub url: String,
    dir: PathBuf,
    _server: Child,
}

impl MailSink {
    /// Starts the server on a free port. The port is free when chosen but
    /// may be taken before Python binds it (by another test's process,
    /// bound to port 0): then the server exits, and it starts again on
    /// another port.
    pub async fn start(logs: &Path) -> Self {
        let dir = logs.join("maildir");
        let until = tokio::time::Instant::now() + DEADLINE;
        loop {
            let port = process::free_port().unwrap();
            let mut server = Command::new("python3")
                .args([
                    "-m",
                    "aiosmtpd",
                    "-n",
                    "-l",
                    &format!("127.0.0.1:{port}"),
                    "-c",
                    "aiosmtpd.handlers.Mailbox",
                ])
                .arg(&dir)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(logs.join("smtp.log")).unwrap())
                .kill_on_drop(true)
                .spawn()
                .expect("python3 is needed for the SMTP test server (pip install aiosmtpd)");
            loop {
                assert!(
                    tokio::time::Instant::now() < until,
                    "the SMTP test server did not start; is aiosmtpd installed? see {}",
                    logs.join("smtp.log").display()
                );
                if server.try_wait().unwrap().is_some() {
                    break; // It could not bind: try another port.
                }
                // Ours, and not whoever else holds the port, greets in SMTP.
                if greets_in_smtp(port).await {
                    return Self {
                        url: format!("smtp://127.0.0.1:{port}"),
                        dir,
                        _server: server,
                    };
                }
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
        }
    }

    /// Every message received so far, raw.
    pub fn messages(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(self.dir.join("new")) else {
            return Vec::new();
        };
        entries
            .flatten()
            .map(|e| std::fs::read_to_string(e.path()).unwrap())
            .collect()
    }
}

/// Whether the server on `port` answers a connection with an SMTP greeting.
async fn greets_in_smtp(port: u16) -> bool {
    use tokio::io::AsyncReadExt;
    let Ok(mut stream) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await else {
        return false;
    };
    let mut greeting = [0_u8; 4];
    matches!(
        tokio::time::timeout(Duration::from_secs(5), stream.read_exact(&mut greeting)).await,
        Ok(Ok(_))
    ) && greeting.starts_with(b"220")
}
