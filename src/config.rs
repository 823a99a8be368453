//! All configuration, in one place: command-line flags, each with an environment variable of the
//! `CLINIC_FINDER_` prefix (`clinic-finder --help` lists them with their defaults).

use clap::{Args, Parser, Subcommand};
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use crate::domain::Role;

#[derive(Debug, Parser)]
#[command(
    name = "clinic-finder",
    version,
    about = "Find a safe, qualified therapeutic Botox injector near you."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub settings: Settings,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP API (the default when no command is given).
    Serve {
        /// Load the demo dataset first when the database has no providers yet.
        #[arg(long)]
        demo: bool,
    },
    /// Load the deterministic demo dataset (providers, clinics and credentials around US cities).
    SeedDemo {
        /// Number of providers to generate.
        #[arg(long, default_value_t = 3000)]
        providers: usize,
        /// Random seed: the same seed gives the same dataset.
        #[arg(long, default_value_t = 20261126)]
        seed: u64,
    },
    /// Write the demo dataset as an NDJSON import file (for `import` and the benchmarks).
    Generate {
        /// Number of providers (about 0.68 locations each unless --locations is given).
        #[arg(long, default_value_t = 3000)]
        providers: usize,
        /// About this many practice locations (clinics follow from it); with fewer providers
        /// than locations each provider practises at a run of neighbouring sites.
        #[arg(long)]
        locations: Option<usize>,
        #[arg(long, default_value_t = 20261126)]
        seed: u64,
        /// Where to write; standard output when absent.
        #[arg(long)]
        output: Option<std::path::PathBuf>,
    },
    /// Import clinics, locations, providers and credentials from NDJSON or CSV (upserts; safe to re-run).
    Import {
        /// The file to read (`-` for standard input).
        file: std::path::PathBuf,
        /// `ndjson` (records of every type, `"type"` on each line) or `csv` (one type per file, see --type).
        #[arg(long, default_value = "ndjson")]
        format: ImportFormat,
        /// For CSV: the record type of every row (clinic, location, provider, credential).
        #[arg(long = "type")]
        record_type: Option<crate::import::RecordType>,
        /// All or nothing: one transaction, rolled back if any record is rejected.
        #[arg(long)]
        atomic: bool,
        /// Records per transaction (without --atomic).
        #[arg(long, default_value_t = 5000, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
        batch_size: u64,
        /// Accept vetting state from the file (`vetting_status`, `verification`), vouched for by
        /// this source (1–200 characters); recorded in the audit trail as the batch's reason.
        #[arg(long, value_parser = source_name)]
        trusted_source: Option<String>,
    },
    /// Import providers (entity type 1) and clinics (type 2) from the CMS NPPES monthly file
    /// (npidata_pfile_*.csv), filtered while streaming; everything imported is `pending`.
    ImportNppes {
        /// The NPPES V2 CSV file (`-` for standard input).
        file: std::path::PathBuf,
        /// Keep rows with any of these NUCC taxonomy codes (comma-separated).
        #[arg(long, value_delimiter = ',')]
        taxonomy: Vec<String>,
        /// Keep rows with a taxonomy of the specialties that inject botulinum toxin (the list is
        /// `import::nppes::BOTULINUM_RELEVANT`); adds to --taxonomy.
        #[arg(long)]
        botulinum_relevant: bool,
        /// Keep rows whose practice location is in one of these states (comma-separated USPS codes).
        #[arg(long, value_delimiter = ',')]
        states: Vec<String>,
        /// Rows per transaction.
        #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u64).range(1..=100_000))]
        batch_size: u64,
    },
    /// Load the NUCC health care provider taxonomy code set (nucc_taxonomy_*.csv) into the specialties.
    ImportNucc {
        /// The NUCC CSV file.
        file: std::path::PathBuf,
    },
    /// Load an exclusion list and screen every provider against it.
    ImportExclusions {
        /// The list: `oig-leie` (the OIG LEIE UPDATED.csv, or a monthly supplement).
        #[arg(long, value_enum)]
        source: ExclusionSource,
        /// The CSV file.
        file: std::path::PathBuf,
        /// A monthly supplement (YYMMEXCL.csv, YYMMREIN.csv): adds exclusions and reinstatements
        /// instead of replacing the list.
        #[arg(long)]
        supplement: bool,
        /// The list's date (YYYY-MM-DD); default: the file's modification date.
        #[arg(long)]
        as_of: Option<chrono::NaiveDate>,
    },
    /// Screen every provider against the exclusion lists loaded.
    Screen,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print the OpenAPI document (JSON) on standard output.
    Openapi,
    /// Manage API keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Exit 0 when the running service answers /readyz on the bind address (for container health checks).
    Healthcheck,
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create a key; the secret is printed once and only its hash is stored.
    Create {
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// A name that says whose key it is.
        #[arg(long, default_value = "created on the command line")]
        name: String,
    },
}

fn parse_role(text: &str) -> Result<Role, String> {
    Role::parse(text).ok_or_else(|| format!("expected one of {}", Role::expected()))
}

#[derive(Debug, Clone, Args)]
pub struct Settings {
    /// Address and port to listen on.
    #[arg(
        long,
        env = "CLINIC_FINDER_BIND",
        default_value = "127.0.0.1:8080",
        global = true
    )]
    pub bind: SocketAddr,

    /// Database: a SQLite file path (or sqlite://path). The directory is created if missing.
    #[arg(
        long,
        env = "CLINIC_FINDER_DATABASE_URL",
        default_value = "data/clinic-finder.sqlite3",
        global = true
    )]
    pub database_url: String,

    /// A PostgreSQL streaming replica for reads that may be slightly stale: public lists and
    /// profiles, FHIR reads, the search index's load and the change feed. Writes, admin reads and
    /// requests with `Consistency: primary` (or an admin or reviewer key) use the primary. Needs
    /// a PostgreSQL primary. Never logged.
    #[arg(long, env = "CLINIC_FINDER_READ_DATABASE_URL", hide_env_values = true, global = true,
          value_parser = postgres_url)]
    pub read_database_url: Option<String>,

    /// Milliseconds the read replica may lag behind the primary; further behind (or down), reads
    /// go to the primary until it has caught up.
    #[arg(long, env = "CLINIC_FINDER_MAX_REPLICA_LAG_MS", default_value_t = 5000, global = true,
          value_parser = clap::value_parser!(u64).range(100..=3_600_000))]
    pub max_replica_lag_ms: u64,

    /// Redis for rate limits shared by every process (`redis://[:password@]host:port[/db]`);
    /// unset, or while Redis does not answer within 50 ms, each process keeps its own buckets.
    /// Never logged.
    #[arg(long, env = "CLINIC_FINDER_REDIS_URL", hide_env_values = true, global = true,
          value_parser = redis_url)]
    pub redis_url: Option<String>,

    /// Maximum database connections in the pool.
    #[arg(long, env = "CLINIC_FINDER_POOL_SIZE", default_value_t = 8, global = true,
          value_parser = clap::value_parser!(u32).range(1..=256))]
    pub pool_size: u32,

    /// Seconds a request waits for a database connection before it gets 503.
    #[arg(long, env = "CLINIC_FINDER_POOL_TIMEOUT_SECS", default_value_t = 5, global = true,
          value_parser = clap::value_parser!(u64).range(1..=120))]
    pub pool_timeout_secs: u64,

    /// Log filter (tracing's EnvFilter syntax), e.g. `info` or `clinic_finder=debug,info`.
    #[arg(long, env = "CLINIC_FINDER_LOG", default_value = "info", global = true)]
    pub log: String,

    /// Log format: `json` (one object a line) or `text`.
    #[arg(
        long,
        env = "CLINIC_FINDER_LOG_FORMAT",
        default_value = "json",
        global = true
    )]
    pub log_format: LogFormat,

    /// Bootstrap admin API key (32–256 visible ASCII characters). Registered at start-up as the
    /// bootstrap key (a new value revokes the previous one); prefer `clinic-finder keys create
    /// --role admin` and revoke this one later.
    #[arg(long, env = "CLINIC_FINDER_ADMIN_KEY", hide_env_values = true, global = true, value_parser = parse_secret)]
    pub admin_key: Option<Secret>,

    /// Largest accepted request body, bytes.
    #[arg(long, env = "CLINIC_FINDER_MAX_BODY_BYTES", default_value_t = 64 * 1024, global = true)]
    pub max_body_bytes: usize,

    /// Milliseconds between polls of the change feed, through which writes made by other
    /// processes on the same database reach this one's search index (0: never poll).
    #[arg(
        long,
        env = "CLINIC_FINDER_CHANGE_FEED_MS",
        default_value_t = 500,
        global = true
    )]
    pub change_feed_ms: u64,

    /// Milliseconds a gap in the change feed's ids may stay open (a transaction that took its id
    /// but has not committed yet) before the reader moves past it; a skipped id that commits later
    /// is still applied, on the next poll after it appears.
    #[arg(long, env = "CLINIC_FINDER_CHANGE_FEED_GAP_MS", default_value_t = 30_000, global = true,
          value_parser = clap::value_parser!(u64).range(100..=3_600_000))]
    pub change_feed_gap_ms: u64,

    /// Seconds between full reconciles of the search index against the database (the index is
    /// rebuilt beside the live one and swapped in); 0: never.
    #[arg(
        long,
        env = "CLINIC_FINDER_INDEX_RECONCILE_SECS",
        default_value_t = 3600,
        global = true
    )]
    pub index_reconcile_secs: u64,

    /// Most candidate locations one search may visit; a search that reaches it answers with the
    /// results it is sure of and `meta.partial: true`.
    #[arg(long, env = "CLINIC_FINDER_SEARCH_BUDGET", default_value_t = 20_000, global = true,
          value_parser = clap::value_parser!(u64).range(100..=10_000_000))]
    pub search_budget: u64,

    /// Searches run at once, off the HTTP workers (0: one per core); others wait for a slot up
    /// to the pool timeout, then get 503.
    #[arg(
        long,
        env = "CLINIC_FINDER_SEARCH_CONCURRENCY",
        default_value_t = 0,
        global = true
    )]
    pub search_concurrency: usize,

    /// The key that signs search cursors (HMAC-SHA256, at least 32 characters). Unset: a key is
    /// generated on first start and kept in the database, so that every replica shares it.
    #[arg(long, env = "CLINIC_FINDER_CURSOR_KEY", hide_env_values = true, global = true, value_parser = parse_secret)]
    pub cursor_key: Option<Secret>,

    /// HTTP worker threads (0: one per core).
    #[arg(
        long,
        env = "CLINIC_FINDER_WORKERS",
        default_value_t = 0,
        global = true
    )]
    pub workers: usize,

    /// Requests a minute per client IP for traffic without a valid API key (a token bucket: this
    /// many at once, refilled evenly over a minute). 0 turns the limit off.
    #[arg(
        long,
        env = "CLINIC_FINDER_RATE_LIMIT_PUBLIC",
        default_value_t = 300,
        global = true
    )]
    pub rate_limit_public: u32,

    /// Requests a minute per partner key. 0 turns the limit off.
    #[arg(
        long,
        env = "CLINIC_FINDER_RATE_LIMIT_PARTNER",
        default_value_t = 1200,
        global = true
    )]
    pub rate_limit_partner: u32,

    /// Requests a minute per admin or reviewer key. 0 turns the limit off.
    #[arg(
        long,
        env = "CLINIC_FINDER_RATE_LIMIT_STAFF",
        default_value_t = 3000,
        global = true
    )]
    pub rate_limit_staff: u32,

    /// IPv6 clients without a key share a bucket per network of this prefix length (one
    /// subscriber usually holds a whole /64).
    #[arg(long, env = "CLINIC_FINDER_RATE_LIMIT_IPV6_PREFIX", default_value_t = 64, global = true,
          value_parser = clap::value_parser!(u8).range(32..=128))]
    pub rate_limit_ipv6_prefix: u8,

    /// Proxies whose `X-Forwarded-For` is believed: comma-separated IPs or CIDRs. Empty (the
    /// default): the client is the TCP peer and `X-Forwarded-For` is ignored.
    #[arg(long, env = "CLINIC_FINDER_TRUSTED_PROXIES", value_delimiter = ',', global = true,
          value_parser = IpNetwork::parse)]
    pub trusted_proxies: Vec<IpNetwork>,

    /// Longest accepted query string, bytes (longer: 414).
    #[arg(long, env = "CLINIC_FINDER_MAX_QUERY_BYTES", default_value_t = 2048, global = true,
          value_parser = clap::value_parser!(u64).range(64..=65536))]
    pub max_query_bytes: u64,

    /// Origins allowed to call the API from a browser (CORS): comma-separated, exact origins such
    /// as `https://app.example.org`, which may make any request, keyed or not. `*` (the default)
    /// admits every other origin too, but only for public GET and HEAD requests without an
    /// `Authorization` header: front ends on any site can search. `none`: no CORS headers at all.
    #[arg(
        long,
        env = "CLINIC_FINDER_CORS_ORIGINS",
        value_delimiter = ',',
        default_value = "*",
        global = true
    )]
    pub cors_origins: Vec<String>,

    /// `Strict-Transport-Security: max-age=<this>` on every response; 0 (the default) sends none.
    /// Set it when the service is reached over HTTPS only.
    #[arg(
        long,
        env = "CLINIC_FINDER_HSTS_MAX_AGE",
        default_value_t = 0,
        global = true
    )]
    pub hsts_max_age: u64,

    /// Days a verified credential still counts after its re-verification date (`next_due_on`);
    /// past that it no longer counts (search, profiles, vetting) and the expiring queue shows it
    /// as overdue.
    #[arg(long, env = "CLINIC_FINDER_REVERIFY_GRACE_DAYS", default_value_t = 30, global = true,
          value_parser = clap::value_parser!(u32).range(0..=3650))]
    pub reverify_grace_days: u32,

    /// Serves `/metrics` (Prometheus) to requests carrying `Authorization: Bearer <this>`
    /// (at least 32 characters). Unset (the default): `/metrics` answers 404. Never logged.
    #[arg(long, env = "CLINIC_FINDER_METRICS_TOKEN", hide_env_values = true, global = true, value_parser = parse_secret)]
    pub metrics_token: Option<Secret>,
}

impl Settings {
    /// Defaults for a given database, as tests and tools use them.
    pub fn for_database(database_url: &str) -> Settings {
        let mut settings = Cli::parse_from(["clinic-finder"]).settings;
        settings.database_url = database_url.to_owned();
        settings
    }
}

/// `--read-database-url`: a PostgreSQL URL (a replica is a PostgreSQL feature).
fn postgres_url(text: &str) -> Result<String, String> {
    if text.starts_with("postgres://") || text.starts_with("postgresql://") {
        Ok(text.to_owned())
    } else {
        Err("a postgres:// or postgresql:// URL".to_owned())
    }
}

/// `--redis-url`: a URL the Redis client can use (parsed, not connected).
fn redis_url(text: &str) -> Result<String, String> {
    if !(text.starts_with("redis://") || text.starts_with("redis+unix://")) {
        return Err("a redis:// or redis+unix:// URL".to_owned());
    }
    redis::Client::open(text)
        .map(|_| text.to_owned())
        .map_err(|_| "not a valid Redis URL".to_owned())
}

/// `--trusted-source`: a name, as the audit trail's `reason` holds it (1–200 characters, no NUL).
fn source_name(text: &str) -> Result<String, String> {
    if (1..=200).contains(&text.chars().count()) && !text.contains('\0') {
        Ok(text.to_owned())
    } else {
        Err("1 to 200 characters".to_owned())
    }
}

/// How an import file is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ImportFormat {
    /// One JSON record a line, each with its `"type"`.
    Ndjson,
    /// One record type a file (see `--type`), with a header row.
    Csv,
}

/// An exclusion list `import-exclusions` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExclusionSource {
    /// The OIG List of Excluded Individuals/Entities.
    OigLeie,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// One JSON object a line.
    Json,
    /// Human-readable text.
    Text,
}

/// An IP network (`10.0.0.0/8`, `::1/128`, or a bare address), for `--trusted-proxies`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNetwork {
    address: IpAddr,
    prefix: u8,
}

impl IpNetwork {
    pub fn parse(text: &str) -> Result<IpNetwork, String> {
        let text = text.trim();
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let address = IpAddr::from_str(address)
            .map_err(|_| format!("`{text}` is not an IP address or CIDR"))?;
        let max = if address.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(prefix) => prefix
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("`{text}`: the prefix length must be 0–{max}"))?,
        };
        Ok(IpNetwork { address, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical_ip(ip);
        match (self.address, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// The network of `ip` for rate limits: IPv6 addresses cut to their first `ipv6_prefix` bits,
/// IPv4 addresses whole.
pub fn rate_limit_network(ip: IpAddr, ipv6_prefix: u8) -> IpAddr {
    match canonical_ip(ip) {
        IpAddr::V6(v6) => {
            let mask = u128::MAX
                .checked_shl(128 - u32::from(ipv6_prefix.min(128)))
                .unwrap_or(0);
            IpAddr::V6((u128::from(v6) & mask).into())
        }
        v4 => v4,
    }
}

/// IPv4-mapped IPv6 addresses (`::ffff:1.2.3.4`) count as the IPv4 address.
pub fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        ip => ip,
    }
}

/// A secret: never printed by `Debug` or logs.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Secret {
        Secret(value)
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(**redacted**)")
    }
}

fn parse_secret(text: &str) -> Result<Secret, String> {
    if text.len() < 32 {
        return Err("an API key needs at least 32 characters".to_owned());
    }
    if !is_token_shaped(text) {
        return Err(format!(
            "a key has at most {MAX_TOKEN_LEN} characters, visible ASCII without spaces"
        ));
    }
    Ok(Secret(text.to_owned()))
}

/// Longest bearer token the service looks up.
pub const MAX_TOKEN_LEN: usize = 256;

/// Whether `token` could be a key at all: 32–256 visible ASCII characters. Anything else is
/// refused without a database query.
pub fn is_token_shaped(token: &str) -> bool {
    (32..=MAX_TOKEN_LEN).contains(&token.len()) && token.bytes().all(|b| b.is_ascii_graphic())
}
