//! Crash safety and write concurrency, on the real binary.
//!
//! - Concurrent admin writes of every kind — creates, updates with `If-Match`, vetting
//!   transitions — after an import, the server SIGKILLed midway, restarted: every write
//!   acknowledged with a 2xx is there, at (at least) the version it was acknowledged at, with its
//!   audit row and its change-feed row; the restarted index lists exactly the providers the
//!   database says are verified; SQLite's `PRAGMA integrity_check` says `ok`. On SQLite and
//!   PostgreSQL (the PostgreSQL run is skipped with a notice when no server is reachable, unless
//!   `CI=true`).
//! - The settings that make an acknowledged write durable are the database's own (SQLite: WAL
//!   with `synchronous = FULL`; PostgreSQL: `synchronous_commit` not `off`, `fsync` on).
//! - Many writers and readers at once on SQLite: no 500 or 503, no "database is locked".
//!
//! What SIGKILL cannot show: a power cut. A killed process leaves its writes in the OS page cache,
//! so a setting that skips fsync (`synchronous = OFF`) would pass the kill test; that is why the
//! durability settings are asserted at start-up (the service refuses to start without them) and
//! by `durability_settings_are_the_safe_ones` below. See docs/security.md, "Durability".

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const BINARY: &str = env!("CARGO_BIN_EXE_clinic-finder");
const ADMIN_KEY: &str = "crash-test-admin-key-0123456789abcdef012345";

fn say(message: &str) {
    // Straight to the stream: libtest captures the output of passing tests.
    let _ = writeln!(std::io::stderr(), "{message}");
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// One HTTP/1.1 request on its own connection: (status, body), or None when the server is gone.
fn http(port: u16, method: &str, path: &str, body: Option<&str>) -> Option<(u16, String)> {
    http_if_match(port, method, path, body, None)
}

/// [`http`] with `If-Match: "<version>"`.
fn http_if_match(
    port: u16,
    method: &str,
    path: &str,
    body: Option<&str>,
    version: Option<i64>,
) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .ok()?;
    let body = body.unwrap_or("");
    let if_match = version
        .map(|v| format!("If-Match: \"{v}\"\r\n"))
        .unwrap_or_default();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {ADMIN_KEY}\r\n\
         Content-Type: application/json\r\n{if_match}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.split(' ').nth(1)?.parse().ok()?;
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default();
    Some((status, body))
}

/// A write the server acknowledged: the audit action it must have left, its target, and the
/// version the response gave (creates: 1).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Acknowledged {
    action: &'static str,
    entity: &'static str,
    id: i64,
    version: i64,
}

fn start(database_url: &str, port: u16) -> Child {
    start_with(database_url, port, &[])
}

/// [`start`] with more environment (the power-cut shim).
fn start_with(database_url: &str, port: u16, env: &[(&str, String)]) -> Child {
    let child = Command::new(BINARY)
        .arg("serve")
        .envs(env.iter().map(|(name, value)| (*name, value.as_str())))
        .env("CLINIC_FINDER_DATABASE_URL", database_url)
        .env("CLINIC_FINDER_BIND", format!("127.0.0.1:{port}"))
        .env("CLINIC_FINDER_ADMIN_KEY", ADMIN_KEY)
        .env("CLINIC_FINDER_LOG", "warn")
        .env("CLINIC_FINDER_WORKERS", "2")
        // The test hammers the server from one address and one key.
        .env("CLINIC_FINDER_RATE_LIMIT_STAFF", "0")
        .env("CLINIC_FINDER_RATE_LIMIT_PUBLIC", "0")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the server starts");
    let deadline = Instant::now() + Duration::from_secs(60);
    while http(port, "GET", "/readyz", None).map(|(s, _)| s) != Some(200) {
        assert!(Instant::now() < deadline, "the server answers /readyz");
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or(serde_json::Value::Null)
}

/// A 2xx or a panic naming what was asked.
fn ok(port: u16, method: &str, path: &str, body: &str, version: Option<i64>) -> serde_json::Value {
    match http_if_match(port, method, path, Some(body), version) {
        Some((status, text)) if (200..300).contains(&status) => json(&text),
        other => panic!("{method} {path}: {other:?}"),
    }
}

/// Each writer's own clinic and provider (verified, at `location`), for updates and transitions.
fn prepare_writer(port: u16, writer: usize, location: i64) -> (i64, i64) {
    let clinic = ok(
        port,
        "POST",
        "/v1/clinics",
        &format!("{{\"name\": \"writer {writer}\"}}"),
        None,
    )["id"]
        .as_i64()
        .unwrap();
    let npi = clinic_finder::domain::Npi::from_base(200_000_000 + writer as u32).to_string();
    let provider = ok(
        port,
        "POST",
        "/v1/providers",
        &format!(
            "{{\"npi\": \"{npi}\", \"given_name\": \"Crash\", \"family_name\": \"Writer {writer}\", \
             \"degree\": \"MD\", \"primary_specialty_code\": \"2084N0400X\"}}"
        ),
        None,
    )["id"]
        .as_i64()
        .unwrap();
    let licence = ok(
        port,
        "POST",
        &format!("/v1/providers/{provider}/credentials"),
        r#"{"kind": "state_license", "issuer": "Board", "jurisdiction": "NY", "expires_on": "2099-12-31"}"#,
        None,
    )["id"]
        .as_i64()
        .unwrap();
    ok(
        port,
        "POST",
        &format!("/v1/credentials/{licence}/verification"),
        r#"{"outcome": "verified", "source_type": "state_medical_board", "reference": "https://example.org", "reason": "checked"}"#,
        Some(1),
    );
    ok(
        port,
        "PUT",
        &format!("/v1/providers/{provider}/locations/{location}"),
        "",
        None,
    );
    let mut version = 1;
    for to in ["under_review", "verified"] {
        version = ok(
            port,
            "POST",
            &format!("/v1/admin/providers/{provider}/transitions"),
            &format!("{{\"to\": \"{to}\", \"reason\": \"crash test\"}}"),
            Some(version),
        )["version"]
            .as_i64()
            .unwrap();
    }
    (clinic, provider)
}

/// Writers create clinics, update their own clinic with `If-Match` and move their provider
/// between verified and suspended, until the server dies; returns the acknowledged writes and
/// what the writers saw that was neither a 2xx nor a dropped connection.
fn write_until_killed(
    server: &mut Child,
    port: u16,
    writers: usize,
    location: i64,
    kill_after: usize,
) -> (Vec<Acknowledged>, Vec<String>) {
    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let unexpected = Arc::new(Mutex::new(Vec::new()));
    let gone = Arc::new(AtomicBool::new(false));
    let own: Vec<(i64, i64)> = (0..writers)
        .map(|writer| prepare_writer(port, writer, location))
        .collect();
    let threads: Vec<_> = own
        .into_iter()
        .enumerate()
        .map(|(writer, (clinic, provider))| {
            let (acknowledged, unexpected, gone) =
                (acknowledged.clone(), unexpected.clone(), gone.clone());
            std::thread::spawn(move || {
                let (mut clinic_version, mut provider_version, mut verified) = (1, 3, true);
                let mut n = 0;
                while !gone.load(Ordering::Relaxed) {
                    n += 1;
                    let (action, entity, id, outcome) = match n % 3 {
                        0 => {
                            let body = format!("{{\"name\": \"crash {writer}-{n}\"}}");
                            let outcome = http(port, "POST", "/v1/clinics", Some(&body));
                            let id = outcome.as_ref().and_then(|(_, b)| json(b)["id"].as_i64());
                            ("clinic.create", "clinic", id.unwrap_or(0), outcome)
                        }
                        1 => {
                            let body = format!("{{\"phone\": \"+1-212-555-{:04}\"}}", n % 10_000);
                            let path = format!("/v1/clinics/{clinic}");
                            let outcome = http_if_match(
                                port,
                                "PATCH",
                                &path,
                                Some(&body),
                                Some(clinic_version),
                            );
                            ("clinic.update", "clinic", clinic, outcome)
                        }
                        _ => {
                            let to = if verified { "suspended" } else { "verified" };
                            let body = format!("{{\"to\": \"{to}\", \"reason\": \"crash test\"}}");
                            let path = format!("/v1/admin/providers/{provider}/transitions");
                            let outcome = http_if_match(
                                port,
                                "POST",
                                &path,
                                Some(&body),
                                Some(provider_version),
                            );
                            ("provider.transition", "provider", provider, outcome)
                        }
                    };
                    match outcome {
                        Some((status, body)) if (200..300).contains(&status) => {
                            let version = json(&body)["version"].as_i64().unwrap_or(1);
                            match action {
                                "clinic.update" => clinic_version = version,
                                "provider.transition" => {
                                    provider_version = version;
                                    verified = !verified;
                                }
                                _ => {}
                            }
                            acknowledged.lock().unwrap().push(Acknowledged {
                                action,
                                entity,
                                id,
                                version,
                            });
                        }
                        Some((status, body)) => unexpected
                            .lock()
                            .unwrap()
                            .push(format!("{action}: {status} {body}")),
                        // Refused, reset or cut short: the server is gone; nothing was promised.
                        None => {}
                    }
                }
            })
        })
        .collect();
    // Kill once a good number of writes are in, with more in flight.
    let deadline = Instant::now() + Duration::from_secs(30);
    while acknowledged.lock().unwrap().len() < kill_after && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    server.kill().expect("SIGKILL");
    let _ = server.wait();
    gone.store(true, Ordering::Relaxed);
    for thread in threads {
        thread.join().expect("writer");
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    let unexpected = unexpected.lock().unwrap().clone();
    (acknowledged, unexpected)
}

/// An import of `clinics` clinics through the command line, to completion: the external ids it
/// acknowledged (exit status 0).
fn import_clinics(database_url: &str, directory: &std::path::Path, clinics: usize) -> Vec<String> {
    let file = directory.join("crash-import.ndjson");
    let ids: Vec<String> = (0..clinics).map(|n| format!("crash-import-{n}")).collect();
    let lines: String = ids
        .iter()
        .map(|id| format!("{{\"type\": \"clinic\", \"external_id\": \"{id}\", \"name\": \"Imported {id}\"}}\n"))
        .collect();
    std::fs::write(&file, lines).unwrap();
    let status = Command::new(BINARY)
        .args(["import", file.to_str().unwrap(), "--batch-size", "50"])
        .env("CLINIC_FINDER_DATABASE_URL", database_url)
        .env("CLINIC_FINDER_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("the importer runs");
    assert!(status.success(), "the import is acknowledged");
    ids
}

/// What the database holds after the restart, read directly.
struct Stored {
    /// (action, target id, version in the after view) of every audit row.
    audit: std::collections::HashSet<(String, String, i64)>,
    /// (entity, id) → change-log rows.
    changes: std::collections::HashMap<(String, i64), usize>,
    versions: std::collections::HashMap<(String, i64), i64>,
    imported: std::collections::HashMap<String, i64>,
    import_batches: usize,
    verified: std::collections::BTreeSet<i64>,
}

fn read_stored(database_url: &str) -> Stored {
    use clinic_finder::db::schema::{audit_log, change_log, clinics, providers};
    use diesel::prelude::*;
    let database = clinic_finder::db::Database::connect(database_url, 1, Duration::from_secs(5))
        .expect("the database opens");
    let mut c = database.connection().unwrap();
    let mut audit = std::collections::HashSet::new();
    let mut import_batches = 0;
    let rows: Vec<(String, String, Option<String>)> = audit_log::table
        .select((
            audit_log::action,
            audit_log::target_id,
            audit_log::after_json,
        ))
        .load(&mut *c)
        .unwrap();
    for (action, target, after) in rows {
        if action == "import.batch" {
            import_batches += 1;
        }
        let version = after
            .as_deref()
            .map(json)
            .and_then(|after| after["version"].as_i64())
            .unwrap_or(0);
        audit.insert((action, target, version));
    }
    let mut changes = std::collections::HashMap::new();
    for (entity, id) in change_log::table
        .select((change_log::entity, change_log::entity_id))
        .load::<(String, i64)>(&mut *c)
        .unwrap()
    {
        *changes.entry((entity, id)).or_insert(0) += 1;
    }
    let mut versions = std::collections::HashMap::new();
    let mut imported = std::collections::HashMap::new();
    for (id, version, external) in clinics::table
        .select((clinics::id, clinics::version, clinics::external_id))
        .load::<(i64, i64, Option<String>)>(&mut *c)
        .unwrap()
    {
        versions.insert(("clinic".to_owned(), id), version);
        if let Some(external) = external {
            imported.insert(external, id);
        }
    }
    let mut verified = std::collections::BTreeSet::new();
    for (id, version, status) in providers::table
        .select((providers::id, providers::version, providers::vetting_status))
        .load::<(i64, i64, String)>(&mut *c)
        .unwrap()
    {
        versions.insert(("provider".to_owned(), id), version);
        if status == "verified" {
            verified.insert(id);
        }
    }
    Stored {
        audit,
        changes,
        versions,
        imported,
        import_batches,
        verified,
    }
}

/// A simulated power cut for the server (SQLite): the shim of `tests/powerloss/shim.c` and the
/// directory its undo logs go to.
struct PowerCut {
    shim: std::path::PathBuf,
    undo: tempfile::TempDir,
    /// The database file's name (the files the shim watches contain it).
    file_name: String,
}

fn crash_and_recover(label: &str, database_url: &str) {
    crash_and_recover_with(label, database_url, None)
}

fn crash_and_recover_with(label: &str, database_url: &str, power_cut: Option<&PowerCut>) {
    let directory = tempfile::tempdir().unwrap();
    let port = free_port();
    let env: Vec<(&str, String)> = power_cut
        .map(|cut| {
            vec![
                ("LD_PRELOAD", cut.shim.display().to_string()),
                ("POWERLOSS_DIR", cut.undo.path().display().to_string()),
                ("POWERLOSS_MATCH", cut.file_name.clone()),
            ]
        })
        .unwrap_or_default();
    let mut server = start_with(database_url, port, &env);
    // The importer is another process, outside the power-cut shim (which sees only the server's
    // syncs): under a simulated power cut it is left out.
    let imported = match power_cut {
        None => import_clinics(database_url, directory.path(), 200),
        Some(_) => Vec::new(),
    };
    let clinic = ok(
        port,
        "POST",
        "/v1/clinics",
        r#"{"name": "crash site"}"#,
        None,
    )["id"]
        .as_i64()
        .unwrap();
    let location = ok(
        port,
        "POST",
        "/v1/locations",
        &format!(
            "{{\"clinic_id\": {clinic}, \"address_line1\": \"1 Main St\", \"city\": \"New York\", \
             \"state\": \"NY\", \"postal_code\": \"10001\", \"latitude\": 40.75, \"longitude\": -73.99, \
             \"timezone\": \"America/New_York\"}}"
        ),
        None,
    )["id"]
        .as_i64()
        .unwrap();
    // A power cut comes early, while SQLite's WAL is small: past 1,000 pages every commit
    // checkpoints, and a checkpoint syncs even with `synchronous = NORMAL`, which would hide
    // what the cut can lose.
    let (writers, kill_after) = match power_cut {
        None => (8, 300),
        Some(_) => (2, 20),
    };
    let (acknowledged, unexpected) =
        write_until_killed(&mut server, port, writers, location, kill_after);
    if let Some(cut) = power_cut {
        // The power goes: every write the server had not synced is lost.
        let undone = apply_undo_logs(cut.undo.path(), database_url);
        say(&format!(
            "power cut ({label}): {undone} unsynced writes undone"
        ));
    }
    assert!(unexpected.is_empty(), "{label}: {unexpected:?}");
    assert!(
        acknowledged.len() >= kill_after.min(50),
        "{label}: only {} writes acknowledged",
        acknowledged.len()
    );

    let port = free_port();
    let mut server = start(database_url, port);
    let stored = read_stored(database_url);
    let mut lost = Vec::new();
    let mut writes_of: std::collections::HashMap<(String, i64), usize> = Default::default();
    for write in &acknowledged {
        let key = (write.entity.to_owned(), write.id);
        *writes_of.entry(key.clone()).or_insert(0) += 1;
        let version = stored.versions.get(&key).copied();
        if version.is_none_or(|v| v < write.version) {
            lost.push(format!("{write:?}: stored at {version:?}"));
        }
        if !stored
            .audit
            .contains(&(write.action.to_owned(), write.id.to_string(), write.version))
        {
            lost.push(format!("{write:?}: no audit row"));
        }
    }
    for (key, writes) in &writes_of {
        let rows = stored.changes.get(key).copied().unwrap_or(0);
        if rows < *writes {
            lost.push(format!("{key:?}: {writes} writes, {rows} change-log rows"));
        }
    }
    for external in &imported {
        match stored.imported.get(external) {
            Some(id) if stored.changes.contains_key(&("clinic".to_owned(), *id)) => {}
            other => lost.push(format!("import {external}: {other:?}")),
        }
    }
    if stored.import_batches < imported.len() / 50 {
        lost.push(format!("{} import.batch audit rows", stored.import_batches));
    }
    // The restarted index lists exactly the providers the database says are verified.
    let (_, body) = http(
        port,
        "GET",
        "/v1/search/providers?lat=40.75&lon=-73.99&radius=5&limit=50",
        None,
    )
    .expect("search");
    let listed: std::collections::BTreeSet<i64> = json(&body)["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter_map(|r| r["provider"]["id"].as_i64())
        .collect();
    // And the service takes writes again.
    let after = http(
        port,
        "POST",
        "/v1/clinics",
        Some("{\"name\": \"after the crash\"}"),
    );
    server.kill().expect("stop");
    let _ = server.wait();
    let kinds = |action: &str| acknowledged.iter().filter(|w| w.action == action).count();
    say(&format!(
        "crash test ({label}): {} writes acknowledged before SIGKILL ({} creates, {} updates, {} \
         transitions) after an import of {} clinics; {} problems after restart",
        acknowledged.len(),
        kinds("clinic.create"),
        kinds("clinic.update"),
        kinds("provider.transition"),
        imported.len(),
        lost.len()
    ));
    assert!(lost.is_empty(), "{label}: acknowledged but lost: {lost:#?}");
    assert_eq!(listed, stored.verified, "{label}: the index after restart");
    assert_eq!(
        after.map(|(s, _)| s),
        Some(201),
        "{label}: a write after restart"
    );
}

/// The settings that make an acknowledged write durable, as each database reports them.
#[test]
fn durability_settings_are_the_safe_ones() {
    use clinic_finder::db::{Database, Durability};
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("durable.sqlite3");
    let database = Database::connect(path.to_str().unwrap(), 2, Duration::from_secs(5)).unwrap();
    for _ in 0..2 {
        // Every pooled connection, not only the first.
        let mut connection = database.connection().unwrap();
        assert_eq!(
            Durability::of(&mut connection).unwrap(),
            Durability::Sqlite {
                journal_mode: "wal".to_owned(),
                synchronous: 2
            }
        );
    }
    let admin_url = std::env::var("CLINIC_FINDER_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    // A plain session (no migrations on the shared database).
    clinic_finder::db::init_tls_library(); // before libpq's first connection
    match <diesel::PgConnection as diesel::Connection>::establish(&admin_url) {
        Ok(connection) => {
            let mut connection = clinic_finder::db::DbConnection::Postgres(connection);
            let durability = Durability::of(&mut connection).unwrap();
            say(&format!("durability (PostgreSQL): {durability:?}"));
            assert_eq!(durability.problem(), None);
        }
        Err(error) => assert!(
            std::env::var("CI").map_or(true, |ci| ci != "true"),
            "CI=true and PostgreSQL is not reachable: {error}"
        ),
    }
    // What start-up refuses.
    let unsafe_settings = [
        Durability::Sqlite {
            journal_mode: "wal".to_owned(),
            synchronous: 1,
        },
        Durability::Sqlite {
            journal_mode: "delete".to_owned(),
            synchronous: 2,
        },
        Durability::Postgres {
            synchronous_commit: "off".to_owned(),
            fsync: "on".to_owned(),
        },
        Durability::Postgres {
            synchronous_commit: "on".to_owned(),
            fsync: "off".to_owned(),
        },
    ];
    for settings in unsafe_settings {
        assert!(settings.problem().is_some(), "{settings:?}");
    }
}

#[test]
fn acknowledged_writes_survive_kill_9_on_sqlite() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("crash.sqlite3");
    let path = path.to_str().unwrap();
    crash_and_recover("SQLite", path);

    assert_eq!(integrity_check("SQLite", path), ["ok"]);
}

/// SQLite's `PRAGMA integrity_check` of the file at `path`.
fn integrity_check(label: &str, path: &str) -> Vec<String> {
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct Check {
        #[diesel(sql_type = diesel::sql_types::Text)]
        integrity_check: String,
    }
    let mut connection = diesel::SqliteConnection::establish(path).unwrap();
    let checks: Vec<Check> = diesel::sql_query("PRAGMA integrity_check")
        .load(&mut connection)
        .unwrap();
    let checks: Vec<String> = checks.into_iter().map(|c| c.integrity_check).collect();
    say(&format!(
        "crash test ({label}): PRAGMA integrity_check = {checks:?}"
    ));
    checks
}

#[test]
fn acknowledged_writes_survive_kill_9_on_postgres() {
    use diesel::connection::SimpleConnection;
    use diesel::Connection;
    let admin_url = std::env::var("CLINIC_FINDER_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    clinic_finder::db::init_tls_library(); // before libpq's first connection
    let mut admin = match diesel::PgConnection::establish(&admin_url) {
        Ok(connection) => connection,
        Err(error) => {
            assert!(
                std::env::var("CI").map_or(true, |ci| ci != "true"),
                "CI=true and PostgreSQL is not reachable at {admin_url}: {error}"
            );
            say(&format!(
                "crash test (PostgreSQL) SKIPPED: no PostgreSQL at {admin_url} ({error})"
            ));
            return;
        }
    };
    let name = format!("cf_crash_{}", std::process::id());
    // Two statements: CREATE DATABASE cannot run in the implicit transaction of a batch.
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .unwrap();
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .unwrap();
    let base = admin_url
        .rsplit_once('/')
        .map_or(admin_url.as_str(), |(base, _)| base);
    let outcome =
        std::panic::catch_unwind(|| crash_and_recover("PostgreSQL", &format!("{base}/{name}")));
    let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

#[test]
fn parallel_writers_and_readers_on_sqlite_never_see_a_locked_database() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("busy.sqlite3");
    let port = free_port();
    let mut server = start(path.to_str().unwrap(), port);
    let started = Instant::now();
    let failures = Arc::new(Mutex::new(Vec::new()));
    let threads: Vec<_> = (0..16)
        .map(|thread| {
            let failures = failures.clone();
            std::thread::spawn(move || {
                for n in 0..40 {
                    // Even threads write (creates), odd threads read (lists of up to 100).
                    let (method, path, body) = if thread % 2 == 0 {
                        (
                            "POST",
                            "/v1/clinics",
                            Some(format!("{{\"name\": \"busy {thread}-{n}\"}}")),
                        )
                    } else {
                        ("GET", "/v1/clinics?limit=100", None)
                    };
                    match http(port, method, path, body.as_deref()) {
                        Some((status, _)) if (200..300).contains(&status) => {}
                        other => failures
                            .lock()
                            .unwrap()
                            .push(format!("{method} {path}: {other:?}")),
                    }
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    let listed = http(port, "GET", "/v1/admin/audit?limit=1", None);
    server.kill().unwrap();
    let _ = server.wait();
    let failures = failures.lock().unwrap();
    say(&format!(
        "concurrency test (SQLite): 8 writers × 40 creates and 8 readers × 40 lists in {:.1} s, {} failures",
        started.elapsed().as_secs_f64(),
        failures.len()
    ));
    // A "database is locked" would surface as a 503 (or a 500) here.
    assert!(failures.is_empty(), "{failures:?}");
    assert_eq!(listed.map(|(s, _)| s), Some(200));
}

/// Rolls every file the shim watched back to what a disk would hold after a power cut at the
/// moment of the kill: its size when last synced, and the bytes unsynced writes overwrote.
/// Returns how many writes were undone. The memory-mapped `-shm` index is dropped (SQLite
/// rebuilds it from the WAL).
fn apply_undo_logs(undo: &std::path::Path, database_url: &str) -> usize {
    use std::io::{Seek, SeekFrom};
    let database = std::path::Path::new(database_url);
    let folder = database.parent().unwrap();
    let mut undone = 0;
    for log in std::fs::read_dir(undo).unwrap() {
        let log = log.unwrap().path();
        let name = log.file_name().unwrap().to_str().unwrap();
        let target = folder.join(name.trim_end_matches(".undo"));
        let data = std::fs::read(&log).unwrap();
        let (mut size, mut writes, mut at) = (None, Vec::new(), 0);
        let number = |at: usize| {
            data.get(at..at + 8)
                .map(|bytes| u64::from_le_bytes(bytes.try_into().unwrap()))
        };
        // The kill can land in the middle of the shim's own bookkeeping. A record cut short is
        // one whose write had not happened yet (the shim logs before it writes): it is dropped.
        while at < data.len() {
            match data[at] {
                b'S' => {
                    let Some(synced) = number(at + 1) else { break };
                    size = Some(synced);
                    at += 9;
                }
                b'W' => {
                    let (Some(offset), Some(length)) = (number(at + 1), number(at + 9)) else {
                        break;
                    };
                    let Some(bytes) = data.get(at + 17..at + 17 + length as usize) else {
                        break;
                    };
                    writes.push((offset, bytes));
                    at += 17 + length as usize;
                }
                other => panic!("{}: unknown record {other}", log.display()),
            }
        }
        // No size: the kill came after an fsync had returned and emptied the log, before the
        // new size was written (or just after the file was opened). The file as it stands is
        // what the disk holds, and no write can have followed: the shim holds its lock.
        let Some(size) = size else {
            assert!(
                writes.is_empty(),
                "{}: writes without a size",
                log.display()
            );
            continue;
        };
        let Ok(mut file) = std::fs::OpenOptions::new().write(true).open(&target) else {
            continue; // deleted since (a rolled-back journal)
        };
        file.set_len(size).unwrap();
        for (offset, bytes) in writes.iter().rev() {
            file.seek(SeekFrom::Start(*offset)).unwrap();
            file.write_all(bytes).unwrap();
        }
        undone += writes.len();
    }
    let _ = std::fs::remove_file(format!("{database_url}-shm"));
    undone
}

/// Builds the power-cut shim with the C compiler (`cc`, which the Rust toolchain links with).
fn power_cut_shim() -> Option<std::path::PathBuf> {
    let source = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/powerloss/shim.c");
    let shim = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("libpowerloss.so");
    let built = Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".to_owned()))
        .args(["-shared", "-fPIC", "-O2", "-o"])
        .arg(&shim)
        .arg(&source)
        .arg("-ldl")
        .status();
    match built {
        Ok(status) if status.success() => Some(shim),
        other => {
            assert!(
                std::env::var("CI").map_or(true, |ci| ci != "true"),
                "CI=true and the power-cut shim does not build: {other:?}"
            );
            say(&format!(
                "power-cut test SKIPPED: no C compiler ({other:?})"
            ));
            None
        }
    }
}

/// The shim itself, checked on a plain SQLite client (Python's): with `synchronous = NORMAL`
/// a power cut loses acknowledged commits, with `FULL` it loses none. Without this the test
/// below could pass because the simulation drops nothing.
fn shim_loses_what_normal_does_not_sync(shim: &std::path::Path) {
    let child = r#"
import os, signal, sqlite3, sys
db, sync, acked = sys.argv[1], sys.argv[2], sys.argv[3]
c = sqlite3.connect(db, isolation_level=None)
c.execute("PRAGMA journal_mode=WAL"); c.execute(f"PRAGMA synchronous={sync}")
c.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
for i in range(100):
    c.execute("BEGIN IMMEDIATE"); c.execute("INSERT INTO t (v) VALUES ('x')"); c.execute("COMMIT")
    with open(acked, "a") as f: f.write("1")
os.kill(os.getpid(), signal.SIGKILL)
"#;
    for (synchronous, expected_lost) in [("NORMAL", true), ("FULL", false)] {
        let (folder, undo) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let database = folder.path().join("control.sqlite3");
        let acked = undo.path().join("acknowledged");
        let ran = Command::new("python3")
            .args(["-c", child, database.to_str().unwrap(), synchronous])
            .arg(&acked)
            .env("LD_PRELOAD", shim)
            .env("POWERLOSS_DIR", undo.path())
            .env("POWERLOSS_MATCH", "control.sqlite3")
            .status();
        if ran.is_err() {
            assert!(
                std::env::var("CI").map_or(true, |ci| ci != "true"),
                "CI=true and no python3 for the power-cut control"
            );
            say("power-cut control SKIPPED: no python3");
            return;
        }
        let acknowledged = std::fs::read(&acked).map_or(0, |a| a.len());
        std::fs::remove_file(&acked).unwrap();
        apply_undo_logs(undo.path(), database.to_str().unwrap());
        use diesel::prelude::*;
        #[derive(QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let mut connection =
            diesel::SqliteConnection::establish(database.to_str().unwrap()).unwrap();
        let kept = diesel::sql_query("SELECT count(*) AS n FROM t")
            .get_result::<Count>(&mut connection)
            .map_or(0, |c| c.n as usize);
        say(&format!(
            "power-cut control: synchronous = {synchronous}: {acknowledged} commits acknowledged, {kept} kept"
        ));
        assert_eq!(acknowledged, 100);
        assert_eq!(
            kept < acknowledged,
            expected_lost,
            "synchronous = {synchronous}"
        );
    }
}

#[test]
fn acknowledged_writes_survive_a_power_cut_on_sqlite() {
    let Some(shim) = power_cut_shim() else { return };
    shim_loses_what_normal_does_not_sync(&shim);
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("power.sqlite3");
    let cut = PowerCut {
        shim,
        undo: tempfile::tempdir().unwrap(),
        file_name: "power.sqlite3".to_owned(),
    };
    crash_and_recover_with("SQLite, power cut", path.to_str().unwrap(), Some(&cut));
    assert_eq!(
        integrity_check("SQLite, power cut", path.to_str().unwrap()),
        ["ok"]
    );
}
