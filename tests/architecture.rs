//! The layering, checked on the source: `api` → `directory` → `db` / `search` → `domain`, with
//! the importers and the demo beside the API as other writers. A module that imports against the
//! arrows, or writes a table outside the one write path, fails this test with the line to move.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

/// Every line of the crate's sources under `src/<layer>` (a folder or a `.rs` file), as
/// (file, line number, text), comments left out.
fn lines_of(layer: &str) -> Vec<(String, usize, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    let folder = root.join(layer);
    if folder.is_dir() {
        rust_files(&folder, &mut files);
    } else {
        files.push(root.join(format!("{layer}.rs")));
    }
    files.sort();
    let mut lines = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let name = file.strip_prefix(&root).unwrap().display().to_string();
        for (number, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            if !code.trim().is_empty() {
                lines.push((name.clone(), number + 1, code.to_owned()));
            }
        }
    }
    lines
}

/// The lines of `layer` that mention any of `forbidden`.
fn violations(layer: &str, forbidden: &[&str]) -> Vec<String> {
    lines_of(layer)
        .into_iter()
        .filter(|(_, _, code)| forbidden.iter().any(|f| code.contains(f)))
        .map(|(file, number, code)| format!("src/{file}:{number}: {}", code.trim()))
        .collect()
}

fn assert_none(what: &str, found: Vec<String>) {
    assert!(found.is_empty(), "{what}:\n{}", found.join("\n"));
}

/// The HTTP layer and the process around it.
const HTTP: &[&str] = &["actix_web", "crate::api", "crate::state", "crate::startup"];

#[test]
fn the_layers_below_the_api_know_nothing_of_http() {
    for layer in ["domain", "db", "search", "directory", "import", "demo"] {
        assert_none(
            &format!("src/{layer} imports the HTTP layer"),
            violations(layer, HTTP),
        );
    }
}

#[test]
fn dependencies_point_down() {
    let above_domain = [
        "crate::db",
        "crate::search",
        "crate::directory",
        "crate::import",
        "crate::demo",
        "crate::config",
    ];
    assert_none(
        "src/domain imports a layer above it",
        violations("domain", &above_domain),
    );
    assert_none(
        "src/db imports a layer above it",
        violations(
            "db",
            &[
                "crate::search",
                "crate::directory",
                "crate::import",
                "crate::demo",
            ],
        ),
    );
    assert_none(
        "src/search imports a layer above it",
        violations(
            "search",
            &["crate::directory", "crate::import", "crate::demo"],
        ),
    );
    assert_none(
        "src/directory imports a writer that should call it",
        violations("directory", &["crate::import", "crate::demo"]),
    );
}

#[test]
fn only_the_directory_writes() {
    // SQL that changes rows lives in `db/`; the directory's use cases are its only callers.
    for layer in [
        "api",
        "directory",
        "search",
        "import",
        "demo",
        "domain",
        "state",
        "startup",
        "main",
    ] {
        assert_none(
            &format!("src/{layer} writes SQL itself"),
            violations(
                layer,
                &[
                    "insert_into(",
                    "diesel::update(",
                    "diesel::delete(",
                    "sql_query(\"INSERT",
                    "sql_query(\"UPDATE",
                    "sql_query(\"DELETE",
                ],
            ),
        );
    }
    let writes = [
        "::insert(",
        "::update(",
        "::delete(",
        "::replace_",
        "::set_",
        "::link_location(",
        "::unlink_location(",
        "::upsert_treatment(",
        "::remove_treatment(",
        "::revoke(",
        "db::bulk::",
        "db::audit::insert",
        "change_log::record(",
    ];
    for layer in [
        "api", "search", "import", "demo", "state", "startup", "main",
    ] {
        let found: Vec<String> = violations(layer, &writes)
            .into_iter()
            // Calls into the directory's own use cases are what writers are meant to make.
            .filter(|line| line.contains("db::") || line.contains("change_log::"))
            .collect();
        assert_none(
            &format!("src/{layer} calls a database write directly"),
            found,
        );
    }
    // One place appends audit rows, and one place calls it.
    let appenders: Vec<String> = [
        "api",
        "db",
        "directory",
        "search",
        "import",
        "demo",
        "domain",
    ]
    .iter()
    .flat_map(|layer| violations(layer, &["insert_into(audit_log", "audit_log::table)"]))
    .filter(|line| !line.contains("src/db/audit.rs"))
    .collect();
    assert_none("audit rows appended outside db/audit.rs", appenders);
    let callers: Vec<String> = ["api", "db", "directory", "search", "import", "demo"]
        .iter()
        .flat_map(|layer| violations(layer, &["audit::insert("]))
        .filter(|line| !line.contains("src/directory/audit.rs"))
        .collect();
    assert_none(
        "audit rows written outside directory::audit::record",
        callers,
    );
}
