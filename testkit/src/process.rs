//! One process of the product binary: started with its settings, its stderr
//! in a log file, and ready once it prints its `ready key=value …` line on
//! stdout (every long-running role prints one, with its addresses).

use std::net::{Ipv4Addr, TcpListener};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// How long a process may take to print its `ready` line.
pub const READY_WITHIN: Duration = Duration::from_secs(60);

/// Starts `binary args…` with `env`, its stderr written to `log`, and waits
/// for its `ready` line, which it returns. The child is killed when dropped;
/// the rest of its stdout is read and dropped so it never blocks on it.
pub async fn start(
    binary: &Path,
    args: &[&str],
    env: &[(&str, String)],
    log: &Path,
) -> anyhow::Result<(Child, String)> {
    let log_file =
        std::fs::File::create(log).with_context(|| format!("creating {}", log.display()))?;
    let mut child = Command::new(binary)
        .args(args)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log_file)
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("cannot start {} {args:?}", binary.display()))?;
    let stdout = child.stdout.take().context("the child's stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let ready = tokio::time::timeout(READY_WITHIN, async {
        while let Ok(Some(line)) = lines.next_line().await {
            if line.starts_with("ready ") {
                return Some(line);
            }
        }
        None
    })
    .await;
    let ready = match ready {
        Ok(Some(line)) => line,
        Ok(None) => bail!("{args:?} exited before it was ready; see {}", log.display()),
        Err(_) => bail!(
            "{args:?} was not ready within {READY_WITHIN:?}; see {}",
            log.display()
        ),
    };
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Ok((child, ready))
}

/// `name=value` out of a `ready` line.
pub fn field(ready: &str, name: &str) -> anyhow::Result<String> {
    ready
        .split_whitespace()
        .find_map(|part| part.strip_prefix(&format!("{name}=")))
        .map(str::to_owned)
        .with_context(|| format!("no {name}= in the ready line {ready:?}"))
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
        .local_addr()?
        .port())
}

/// A fresh admin key, for `BOOTSTRAP_ADMIN_KEY`.
pub fn admin_key() -> String {
    format!("ak_{}", uuid::Uuid::new_v4().simple())
}

/// VmHWM (the kernel's record of peak resident memory) of `pid`, in kB.
pub fn peak_kib(pid: u32) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Sends `signal` (as `kill` names it: `-STOP`, `-CONT`, `-TERM`, `-KILL`)
/// to process `pid`.
pub fn signal(pid: u32, signal: &str) -> anyhow::Result<()> {
    let sent = std::process::Command::new("kill")
        .args([signal, &pid.to_string()])
        .status()
        .context("cannot run kill")?;
    if !sent.success() {
        bail!("kill {signal} {pid} failed ({sent})");
    }
    Ok(())
}
