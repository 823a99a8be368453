//! The binary as an operator uses it: key creation, serving with a bootstrap key, health checks,
//! and logs that never carry a secret.

use std::io::Read;
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BINARY: &str = env!("CARGO_BIN_EXE_clinic-finder");
const BOOTSTRAP_KEY: &str = "cli-test-bootstrap-key-9f8e7d6c5b4a39281706";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn http(port: u16, method: &str, path: &str, key: Option<&str>) -> u16 {
    let response = http_response(port, method, path, key);
    response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// The whole response, headers and body.
fn http_response(port: u16, method: &str, path: &str, key: Option<&str>) -> String {
    use std::io::Write;
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let auth = key
        .map(|k| format!("Authorization: Bearer {k}\r\n"))
        .unwrap_or_default();
    let body = if method == "POST" {
        "{\"name\": \"CLI clinic\"}"
    } else {
        ""
    };
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

#[test]
fn keys_are_shown_once_and_never_logged() {
    let directory = tempfile::tempdir().unwrap();
    let database = directory.path().join("cli.sqlite3");
    let database = database.to_str().unwrap();

    // `keys create` prints the secret once, on standard output.
    let created = Command::new(BINARY)
        .args([
            "keys",
            "create",
            "--role",
            "reviewer",
            "--name",
            "cli reviewer",
        ])
        .env("CLINIC_FINDER_DATABASE_URL", database)
        .output()
        .unwrap();
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let reviewer_key = String::from_utf8(created.stdout).unwrap().trim().to_owned();
    assert!(
        reviewer_key.starts_with("cf_") && reviewer_key.len() >= 46,
        "{reviewer_key}"
    );
    assert!(!String::from_utf8_lossy(&created.stderr).contains(&reviewer_key));

    let port = free_port();
    let mut server = Command::new(BINARY)
        .arg("serve")
        .env("CLINIC_FINDER_DATABASE_URL", database)
        .env("CLINIC_FINDER_BIND", format!("127.0.0.1:{port}"))
        .env("CLINIC_FINDER_ADMIN_KEY", BOOTSTRAP_KEY)
        .env("CLINIC_FINDER_LOG", "debug")
        .env("CLINIC_FINDER_WORKERS", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let healthcheck = || {
        Command::new(BINARY)
            .arg("healthcheck")
            .env("CLINIC_FINDER_BIND", format!("127.0.0.1:{port}"))
            .output()
            .unwrap()
            .status
            .success()
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while !healthcheck() {
        assert!(Instant::now() < deadline, "the server answers /readyz");
        std::thread::sleep(Duration::from_millis(100));
    }

    assert_eq!(http(port, "POST", "/v1/clinics", Some(BOOTSTRAP_KEY)), 201);
    // Both keys were created through the audited write path: by the operator at the command
    // line, and by the service at start-up.
    let audit = http_response(
        port,
        "GET",
        "/v1/admin/audit?target_type=api_key&action=api_key.create",
        Some(BOOTSTRAP_KEY),
    );
    let body = audit.split("\r\n\r\n").nth(1).unwrap_or_default();
    // `Connection: close` without chunking: the body is the rest of the stream.
    let audit: serde_json::Value = serde_json::from_str(body).unwrap_or_else(|_| panic!("{audit}"));
    let mut creators: Vec<(String, String)> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            (
                row["actor_role"].as_str().unwrap().to_owned(),
                row["after"]["name"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    creators.sort();
    assert_eq!(
        creators,
        [
            ("cli".to_owned(), "cli reviewer".to_owned()),
            ("system".to_owned(), "bootstrap".to_owned())
        ]
    );
    assert_eq!(
        http(port, "GET", "/v1/admin/queue/pending", Some(&reviewer_key)),
        200
    );
    assert_eq!(http(port, "POST", "/v1/clinics", Some(&reviewer_key)), 403);
    assert_eq!(
        http(
            port,
            "POST",
            "/v1/clinics",
            Some("cf_wrong_key_000000000000000000000000000000000")
        ),
        401
    );

    server.kill().unwrap();
    let _ = server.wait();
    assert!(
        !healthcheck(),
        "the health check fails once the server is gone"
    );
    let mut logs = String::new();
    server
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut logs)
        .unwrap();

    // Structured request logs with request ids…
    let request_lines: Vec<serde_json::Value> = logs
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|line| line["message"] == "request")
        .collect();
    assert!(request_lines.len() >= 4, "{logs}");
    assert!(request_lines
        .iter()
        .all(|line| line["request_id"].is_string() && line["status"].is_u64()));
    // …and no secret anywhere, even at debug level.
    assert!(
        !logs.contains(BOOTSTRAP_KEY),
        "the bootstrap key was logged"
    );
    assert!(!logs.contains(&reviewer_key), "a key was logged");
    assert!(!logs.contains("cf_wrong_key"), "a presented key was logged");
}

/// A request with a JSON body; the whole response.
fn send(port: u16, method: &str, path: &str, key: &str, body: &str) -> String {
    use std::io::Write;
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {key}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

#[test]
fn a_date_of_birth_is_never_logged() {
    let directory = tempfile::tempdir().unwrap();
    let database = directory.path().join("dob.sqlite3");
    let port = free_port();
    let mut server = Command::new(BINARY)
        .arg("serve")
        .env("CLINIC_FINDER_DATABASE_URL", database.to_str().unwrap())
        .env("CLINIC_FINDER_BIND", format!("127.0.0.1:{port}"))
        .env("CLINIC_FINDER_ADMIN_KEY", BOOTSTRAP_KEY)
        .env("CLINIC_FINDER_LOG", "trace")
        .env("CLINIC_FINDER_WORKERS", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the server listens");
        std::thread::sleep(Duration::from_millis(100));
    }
    let created = send(
        port,
        "POST",
        "/v1/providers",
        BOOTSTRAP_KEY,
        r#"{"npi": "1234567893", "given_name": "Lena", "family_name": "Hidden", "degree": "MD",
            "primary_specialty_code": "2084N0400X", "date_of_birth": "1968-02-29"}"#,
    );
    assert!(created.starts_with("HTTP/1.1 201"), "{created}");
    // A refused date (in the future) and an update, logged at trace level as requests.
    let refused = send(
        port,
        "POST",
        "/v1/providers",
        BOOTSTRAP_KEY,
        r#"{"npi": "1245319599", "given_name": "Lena", "family_name": "Hidden", "degree": "MD",
            "primary_specialty_code": "2084N0400X", "date_of_birth": "2999-07-14"}"#,
    );
    assert!(refused.starts_with("HTTP/1.1 422"), "{refused}");
    // The body only: a header such as `RateLimit-Remaining: 2999` may hold the digits by chance.
    let refusal_body = refused.split("\r\n\r\n").nth(1).unwrap_or_default();
    assert!(
        !refusal_body.is_empty() && !refusal_body.contains("2999"),
        "the refusal does not echo the date: {refused}"
    );
    let updated = send(
        port,
        "PATCH",
        "/v1/providers/1",
        BOOTSTRAP_KEY,
        r#"{"date_of_birth": "1968-03-01"}"#,
    );
    assert!(
        updated.contains("If-Match") || updated.starts_with("HTTP/1.1 428"),
        "{updated}"
    );
    server.kill().unwrap();
    let _ = server.wait();
    let mut logs = String::new();
    server
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut logs)
        .unwrap();
    server
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut logs)
        .unwrap();
    assert!(logs.contains("request"), "the requests were logged: {logs}");
    for date in ["1968-02-29", "2999-07-14", "1968-03-01", "19680229"] {
        assert!(!logs.contains(date), "{date} was logged: {logs}");
    }
}
