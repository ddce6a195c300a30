//! A real PgBouncer (Debian's package) in transaction pooling mode in front
//! of a test database: the pooler the product must work behind.
//!
//! It runs in the foreground as a child process, killed when dropped. As
//! root it switches to the `postgres` system user (`-u`), because PgBouncer
//! refuses to run as root.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use sqlx::postgres::PgConnectOptions;
use tokio::process::{Child, Command};

use crate::process::free_port;

/// How long PgBouncer gets to accept connections.
const READY_WITHIN: Duration = Duration::from_secs(10);

/// A running PgBouncer; dropping it stops it.
#[derive(Debug)]
pub struct PgBouncer {
    /// The URL clients use: the test database, through the pooler.
    pub url: String,
    /// The pooler's own folder: configuration, log, pid file.
    pub dir: PathBuf,
    child: Child,
    target: Target,
}

/// What the configuration says, but for the server's port.
#[derive(Debug)]
struct Target {
    database: String,
    user: String,
    host: String,
    server_pool: u32,
    listen_port: u16,
}

impl Target {
    fn config(&self, server_port: u16, dir: &Path) -> String {
        format!(
            "[databases]\n\
             {database} = host={host} port={server_port} dbname={database} user={user} pool_size={pool}\n\
             [pgbouncer]\n\
             listen_addr = 127.0.0.1\n\
             listen_port = {listen}\n\
             unix_socket_dir =\n\
             auth_type = any\n\
             pool_mode = transaction\n\
             max_client_conn = 2000\n\
             default_pool_size = {pool}\n\
             max_db_connections = {pool}\n\
             server_lifetime = 3600\n\
             server_login_retry = 1\n\
             logfile = {log}\n\
             pidfile = {pid}\n",
            database = self.database,
            host = self.host,
            user = self.user,
            pool = self.server_pool,
            listen = self.listen_port,
            log = dir.join("pgbouncer.log").display(),
            pid = dir.join("pgbouncer.pid").display(),
        )
    }
}

impl PgBouncer {
    /// Starts PgBouncer in transaction mode in front of `db`, with at most
    /// `server_pool` server connections to it. Its folder is new, under the
    /// system's temporary folder (which the postgres user can reach).
    pub async fn start(db: &PgConnectOptions, server_pool: u32) -> anyhow::Result<Self> {
        let port = free_port()?;
        let dir = std::env::temp_dir().join(format!("asynccheckout-pgbouncer-{port}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let root = shared::db::bootstrap::running_as_root();
        if root {
            // The postgres user writes its log and pid file here.
            open_to_all(&dir)?;
        }
        let target = Target {
            database: db
                .get_database()
                .context("the test database has a name")?
                .to_owned(),
            user: db.get_username().to_owned(),
            host: db.get_host().to_owned(),
            server_pool,
            listen_port: port,
        };
        let config = target.config(db.get_port(), &dir);
        let ini = dir.join("pgbouncer.ini");
        std::fs::write(&ini, config).with_context(|| format!("writing {}", ini.display()))?;
        if root {
            open_to_all(&ini)?;
        }
        let mut command = Command::new(program());
        if root {
            command.args(["-u", "postgres"]);
        }
        let child = command
            .arg(&ini)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context("cannot start pgbouncer: install it (Debian: apt-get install pgbouncer)")?;
        let url = format!(
            "postgres://{}@127.0.0.1:{port}/{}",
            target.user, target.database
        );
        let mut bouncer = Self {
            url,
            dir,
            child,
            target,
        };
        bouncer.wait_until_it_accepts(port).await?;
        Ok(bouncer)
    }

    /// Points the pooler at the server on `server_port` of the same host
    /// (a promoted standby), as an operator would: a new configuration,
    /// then SIGHUP. Clients keep their connections to the pooler.
    pub fn point_at(&self, server_port: u16) -> anyhow::Result<()> {
        let ini = self.dir.join("pgbouncer.ini");
        std::fs::write(&ini, self.target.config(server_port, &self.dir))
            .with_context(|| format!("writing {}", ini.display()))?;
        let pid = self.child.id().context("pgbouncer has exited")?;
        crate::process::signal(pid, "-HUP")
    }

    /// What PgBouncer logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("pgbouncer.log")).unwrap_or_default()
    }

    async fn wait_until_it_accepts(&mut self, port: u16) -> anyhow::Result<()> {
        let started = Instant::now();
        loop {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return Ok(());
            }
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "pgbouncer exited ({status}) before it listened:\n{}",
                    self.log()
                );
            }
            if started.elapsed() > READY_WITHIN {
                bail!(
                    "pgbouncer did not listen within {READY_WITHIN:?}:\n{}",
                    self.log()
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// `pgbouncer` on the PATH, or where Debian puts it (`/usr/sbin`, which is
/// not on an ordinary user's PATH).
fn program() -> PathBuf {
    let debian = Path::new("/usr/sbin/pgbouncer");
    let on_path = std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|dir| dir.join("pgbouncer").is_file())
    });
    if !on_path && debian.is_file() {
        debian.to_owned()
    } else {
        PathBuf::from("pgbouncer")
    }
}

fn open_to_all(path: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o777))
        .with_context(|| format!("opening {} to the postgres user", path.display()))
}

impl Drop for PgBouncer {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
