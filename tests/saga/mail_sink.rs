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
    pub async fn start(logs: &Path) -> Self {
        let dir = logs.join("maildir");
        let port = process::free_port().unwrap();
        let server = Command::new("python3")
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
        let until = tokio::time::Instant::now() + DEADLINE;
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            assert!(
                tokio::time::Instant::now() < until,
                "the SMTP test server did not start; is aiosmtpd installed? see {}",
                logs.join("smtp.log").display()
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        Self {
            url: format!("smtp://127.0.0.1:{port}"),
            dir,
            _server: server,
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
