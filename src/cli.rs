//! The command line: subcommands, and every setting as a flag with an
//! environment fallback. `asynccheckout --help` and `asynccheckout <cmd>
//! --help` print these doc comments; the README's configuration table lists
//! the same names.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use mock_gateway::Faults;
use secrecy::SecretString;
use shared::db::Pooler;
use shared::keys::Scope;
use worker::WorkerConfig;
use worker::gateway::{GatewayCalls, GatewayConfig};
use worker::mailer::MailConfig;
use worker::webhooks::{UrlPolicyArgs, WebhookConfig};

/// Order orchestration on PostgreSQL alone: the API, the saga workers and the
/// task queue in one binary.
#[derive(Debug, Parser)]
#[command(name = "asynccheckout", version, propagate_version = true)]
pub struct Cli {
    /// Log format: `json` for machines, `pretty` for people.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Pretty, global = true)]
    pub log_format: LogFormat,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Json,
    Pretty,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply pending database migrations and exit.
    Migrate(DatabaseArgs),
    /// Run saga steps from the task queue; run as many as you like, anywhere.
    Worker(WorkerArgs),
    /// Serve the HTTP API: /v1, /docs (Swagger UI), /openapi.json, probes.
    Api(ApiArgs),
    /// Serve the Stripe-shaped payment gateway stand-in (state in memory).
    MockGateway(MockGatewayArgs),
    /// Print the OpenAPI document the API serves (the committed openapi.json).
    Openapi,
    /// Manage API keys: create (the key is shown once), list, revoke.
    Keys {
        #[command(flatten)]
        database: DatabaseArgs,
        #[command(subcommand)]
        action: KeysAction,
    },
    /// Find or start the development database, print its URL on one line
    /// (`ready database_url=…`), and keep a private cluster running until
    /// SIGTERM/SIGINT. The test script uses it.
    Database(DatabaseArgs),
    /// Everything in one process for development: database bootstrap,
    /// migrations, the API, workers, the mock gateway and a demo catalog.
    Dev(DevArgs),
}

/// `asynccheckout worker`.
#[derive(Debug, Clone, Args)]
pub struct WorkerArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,
    #[command(flatten)]
    pub worker: WorkerConfig,
    #[command(flatten)]
    pub gateway: GatewayConfig,
    #[command(flatten)]
    pub mail: MailConfig,
    #[command(flatten)]
    pub webhooks: WebhookConfig,
    #[command(flatten)]
    pub webhook_urls: UrlPolicyArgs,
    #[command(flatten)]
    pub metrics: MetricsArgs,
}

/// `asynccheckout api`.
#[derive(Debug, Clone, Args)]
pub struct ApiArgs {
    #[command(flatten)]
    pub serving: ApiServing,
    /// On SIGTERM/SIGINT, how long requests in flight get to finish.
    #[arg(long, env = "SHUTDOWN_GRACE_SECS", default_value_t = 25)]
    pub shutdown_grace_secs: u64,
}

/// What serving the API takes, in `api` and in `dev` alike.
#[derive(Debug, Clone, Args)]
pub struct ApiServing {
    #[command(flatten)]
    pub database: DatabaseArgs,
    #[command(flatten)]
    pub listen: ApiListen,
    #[command(flatten)]
    pub bootstrap: BootstrapKey,
    #[command(flatten)]
    pub metrics: MetricsArgs,
    #[command(flatten)]
    pub admission: AdmissionArgs,
    #[command(flatten)]
    pub connections: ConnectionArgs,
    #[command(flatten)]
    pub rate_limit: RateLimitArgs,
    #[command(flatten)]
    pub webhook_urls: UrlPolicyArgs,
    /// How long a request may run before it is answered 503 with Retry-After.
    #[arg(long, env = "REQUEST_TIMEOUT_SECS", default_value_t = api::http::request_id::DEFAULT_REQUEST_TIMEOUT.as_secs(), value_parser = clap::value_parser!(u64).range(1..=3_600))]
    pub request_timeout_secs: u64,
    /// How an order's payment is taken when its request does not say:
    /// `automatic` (charge, reserve the stock; refund a shortfall) or `manual`
    /// (authorize, reserve the stock, then capture; void a shortfall, so
    /// nothing is charged for it).
    #[arg(long, env = "CAPTURE_METHOD", default_value = "automatic")]
    pub capture_method: shared::orders::CaptureMethod,
}

/// `asynccheckout mock-gateway`.
#[derive(Debug, Clone, Args)]
pub struct MockGatewayArgs {
    /// Address to serve on.
    #[arg(long, env = "LISTEN_ADDR", default_value = "127.0.0.1:8081")]
    pub listen_addr: String,
    #[command(flatten)]
    pub faults: Faults,
    /// How long a manual-capture payment intent's authorization lasts before
    /// it lapses (canceled, reason `automatic`) unless captured or cancelled.
    #[arg(long, env = "GATEWAY_AUTHORIZATION_TTL_SECS", default_value_t = mock_gateway::DEFAULT_AUTHORIZATION_TTL.as_secs(), value_parser = clap::value_parser!(u64).range(1..))]
    pub authorization_ttl_secs: u64,
}

/// `asynccheckout dev`: the API's settings, a worker's, and the mock
/// gateway's faults (its shutdown grace is the worker's).
#[derive(Debug, Clone, Args)]
pub struct DevArgs {
    /// Start over with empty development data: drop the database and
    /// delete the development key and the mailed confirmations first. When
    /// DATABASE_URL names the database, `--yes` must confirm the drop.
    #[arg(long)]
    pub reset: bool,
    /// Confirms that `--reset` may drop the database DATABASE_URL names.
    #[arg(long, requires = "reset")]
    pub yes: bool,
    #[command(flatten)]
    pub serving: ApiServing,
    #[command(flatten)]
    pub worker: WorkerConfig,
    /// Use this payment gateway instead of starting the mock one in-process.
    #[arg(long, env = "GATEWAY_URL")]
    pub gateway_url: Option<String>,
    #[command(flatten)]
    pub gateway_calls: GatewayCalls,
    #[command(flatten)]
    pub mail: MailConfig,
    #[command(flatten)]
    pub webhooks: WebhookConfig,
    #[command(flatten)]
    pub faults: Faults,
}

#[derive(Debug, Subcommand)]
pub enum KeysAction {
    /// Create a key and print it (the only time it is shown).
    Create {
        /// What the key is for, e.g. "storefront".
        #[arg(long)]
        name: String,
        /// A scope to grant: orders:write, orders:read, catalog:write,
        /// webhooks:write or admin.
        /// Repeat for several.
        #[arg(long = "scope", required = true)]
        scopes: Vec<Scope>,
        #[command(flatten)]
        limit: KeyRateLimit,
    },
    /// Change a key's rate limit; it applies from the key's next request.
    SetLimit {
        /// The key's id, as `keys list` shows it.
        id: uuid::Uuid,
        #[command(flatten)]
        limit: KeyRateLimit,
        /// Go back to the API's default (RATE_LIMIT_PER_SECOND).
        #[arg(long, conflicts_with_all = ["rate_limit", "burst"], required_unless_present = "rate_limit")]
        default: bool,
    },
    /// List every key (never the secrets).
    List,
    /// Revoke a key: it stops working at once.
    Revoke {
        /// The key's id, as `keys list` shows it.
        id: uuid::Uuid,
    },
}

/// A key's own rate limit, instead of the API's default.
#[derive(Debug, Clone, Args)]
pub struct KeyRateLimit {
    /// Requests per second this key may make to each API process.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=i64::from(i32::MAX)))]
    pub rate_limit: Option<u32>,
    /// Requests it may make at once: the bucket's size (default: twice the rate).
    #[arg(long, requires = "rate_limit", value_parser = clap::value_parser!(u32).range(1..=i64::from(i32::MAX)))]
    pub burst: Option<u32>,
}

impl KeyRateLimit {
    pub fn limit(&self) -> Option<shared::keys::RateLimit> {
        shared::keys::RateLimit::new(self.rate_limit?, self.burst)
    }
}

/// An admin key accepted from first start.
#[derive(Debug, Clone, Args)]
pub struct BootstrapKey {
    /// An admin API key to accept from first start (at least 32 characters;
    /// e.g. `ak_` + 32 random hex digits). Registered once; revoke it with
    /// `keys revoke` once you have made your own keys.
    #[arg(long, env = "BOOTSTRAP_ADMIN_KEY", hide_env_values = true)]
    pub bootstrap_admin_key: Option<SecretString>,
}

impl Command {
    /// The name this process reports in traces, e.g. `asynccheckout-worker`.
    pub fn service_name(&self) -> String {
        let role = match self {
            Command::Migrate(_) => "migrate",
            Command::Worker(_) => "worker",
            Command::Api(_) => "api",
            Command::MockGateway(_) => "mock-gateway",
            Command::Openapi => "openapi",
            Command::Keys { .. } => "keys",
            Command::Database(_) => "database",
            Command::Dev(_) => "dev",
        };
        format!("asynccheckout-{role}")
    }
}

/// Where `/metrics`, `/healthz` and `/readyz` are served.
#[derive(Debug, Clone, Args)]
pub struct MetricsArgs {
    /// Address of the metrics and probes port; `0` picks a free port on 127.0.0.1.
    #[arg(long, env = "METRICS_ADDR", default_value = "127.0.0.1:9090")]
    pub metrics_addr: String,
}

/// Load shedding for `POST /v1/orders`.
#[derive(Debug, Clone, Args)]
pub struct AdmissionArgs {
    /// When the oldest due task has waited longer than this many seconds,
    /// `POST /v1/orders` answers 503 with `Retry-After` instead of piling on.
    /// 0 turns admission control off.
    #[arg(long, env = "ADMISSION_MAX_QUEUE_AGE_SECS", default_value_t = 0)]
    pub admission_max_queue_age_secs: u64,
}

/// How long a client may stall, and how many connections it may hold.
#[derive(Debug, Clone, Args)]
pub struct ConnectionArgs {
    /// Seconds from a request's first byte to the end of its headers; a
    /// connection slower than that is closed.
    #[arg(long, env = "HEADER_READ_TIMEOUT_SECS", default_value_t = api::server::DEFAULT_HEADER_READ_TIMEOUT.as_secs(), value_parser = clap::value_parser!(u64).range(1..=3_600))]
    pub header_read_timeout_secs: u64,
    /// Longest wait, in seconds, for the next piece of a request body; past
    /// it the answer is 408 and the connection is closed.
    #[arg(long, env = "BODY_READ_TIMEOUT_SECS", default_value_t = api::server::DEFAULT_BODY_READ_TIMEOUT.as_secs(), value_parser = clap::value_parser!(u64).range(1..=3_600))]
    pub body_read_timeout_secs: u64,
    /// Seconds a kept-alive connection may wait for its next request before
    /// it is closed; also how long a client may take none of an answer.
    #[arg(long, env = "IDLE_TIMEOUT_SECS", default_value_t = api::server::DEFAULT_IDLE_TIMEOUT.as_secs(), value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub idle_timeout_secs: u64,
    /// Most connections open at once; past it new ones get a 503 and are
    /// closed. Default: what the process's file descriptor limit (raised to
    /// its hard limit at start) allows, less 512 and the database pool; at
    /// least 64, at most 32768.
    #[arg(long, env = "MAX_CONNECTIONS", value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub max_connections: Option<u64>,
}

/// The rate limit of API keys without one of their own.
#[derive(Debug, Clone, Args)]
pub struct RateLimitArgs {
    /// Requests per second each API key may make to this process, unless
    /// the key has a limit of its own (`keys create --rate-limit`). 0: keys
    /// without their own limit are not limited.
    #[arg(long, env = "RATE_LIMIT_PER_SECOND", default_value_t = 100)]
    pub rate_limit_per_second: u32,
    /// Requests a key may make at once (the token bucket's size). Default:
    /// twice the rate.
    #[arg(long, env = "RATE_LIMIT_BURST", value_parser = clap::value_parser!(u32).range(1..))]
    pub rate_limit_burst: Option<u32>,
}

/// Where the API listens.
#[derive(Debug, Clone, Args)]
pub struct ApiListen {
    /// Address to serve the API on.
    #[arg(long, env = "LISTEN_ADDR", default_value = "127.0.0.1:8080")]
    pub listen_addr: String,
}

/// Where the database is, and how to reach it.
#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// PostgreSQL connection string. When unset: a server on 127.0.0.1:5432
    /// (as $PGUSER, default postgres) if one answers, otherwise a private
    /// cluster started from the machine's PostgreSQL binaries in DATA_DIR.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<SecretString>,

    /// Folder for the private PostgreSQL cluster, when one is needed.
    #[arg(long, env = "DATA_DIR", default_value = ".asynccheckout")]
    pub data_dir: PathBuf,

    /// Connections this process may open.
    #[arg(long, env = "DATABASE_MAX_CONNECTIONS", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub database_max_connections: u32,

    /// Create the database when it does not exist (this connects to the
    /// server's `postgres` database). `migrate`, `dev` and `database` always
    /// may, and so may every command when DATABASE_URL is unset (a
    /// development server); otherwise `api`, `worker` and `keys` only touch
    /// the database DATABASE_URL names, as a pooler or a least-privilege role
    /// requires, unless this is set.
    #[arg(long, env = "CREATE_DATABASE", default_value_t = false, action = clap::ArgAction::Set)]
    pub create_database: bool,

    /// What DATABASE_URL reaches PostgreSQL through: `none` (the server
    /// itself, or a session-mode pooler) or `transaction` (PgBouncer in
    /// transaction mode: every unit of work runs as one transaction, and no
    /// session state is relied on). See SCALING.md.
    #[arg(long, env = "DATABASE_POOLER", default_value = "none")]
    pub database_pooler: Pooler,

    /// A direct connection to PostgreSQL for LISTEN, when DATABASE_URL goes
    /// through a transaction pooler (which cannot LISTEN). Unset: LISTEN on
    /// DATABASE_URL, or, behind a transaction pooler, poll every 250 ms.
    #[arg(long, env = "LISTEN_DATABASE_URL", hide_env_values = true)]
    pub listen_database_url: Option<SecretString>,

    /// Apply pending migrations at start (they take an advisory lock, so
    /// processes starting together are safe). Turn off when a separate
    /// `migrate` step owns the schema. Behind a transaction pooler, which
    /// cannot hold that lock, the process only checks that the schema is
    /// current.
    #[arg(long, env = "MIGRATE_ON_START", default_value_t = true, action = clap::ArgAction::Set)]
    pub migrate_on_start: bool,
}

impl DatabaseArgs {
    /// `DATABASE_URL`, unless it is unset or empty (as `DATABASE_URL=` in an
    /// env file leaves it): then the server is found or started.
    pub fn configured_url(&self) -> Option<&str> {
        non_empty(self.database_url.as_ref())
    }

    /// `LISTEN_DATABASE_URL`, unless it is unset or empty.
    pub fn listen_url(&self) -> Option<&str> {
        non_empty(self.listen_database_url.as_ref())
    }
}

fn non_empty(secret: Option<&SecretString>) -> Option<&str> {
    use secrecy::ExposeSecret;
    secret
        .map(|url| url.expose_secret())
        .filter(|url| !url.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::{Cli, Command};

    fn migrate_args(args: &[&str]) -> super::DatabaseArgs {
        let cli = Cli::try_parse_from([&["asynccheckout", "migrate"], args].concat())
            .unwrap_or_else(|e| panic!("{e}"));
        match cli.command {
            Command::Migrate(args) => args,
            _ => panic!("not migrate"),
        }
    }

    #[test]
    fn an_empty_database_url_counts_as_unset() {
        let args = migrate_args(&["--database-url", "", "--listen-database-url", " "]);
        assert_eq!(args.configured_url(), None);
        assert_eq!(args.listen_url(), None);
        let args = migrate_args(&["--database-url", "postgres://db/shop"]);
        assert_eq!(args.configured_url(), Some("postgres://db/shop"));
    }
}
