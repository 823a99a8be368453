//! The `clinic-finder` binary: parses the command line and hands over to the library.

use std::process::ExitCode;

use clap::Parser;
use clinic_finder::api::middleware::telemetry::init_logging;
use clinic_finder::clock::Clock;
use clinic_finder::config::{Cli, Command, ImportFormat, KeysCommand, Settings};
use clinic_finder::db::{self, Database};
use clinic_finder::directory::keys::{self, NewApiKeyInput};
use clinic_finder::directory::Principal;
use clinic_finder::startup::Application;

/// Errors at the binary's edge: printed, and the process exits 1.
type CliResult<T = ()> = Result<T, Box<dyn std::error::Error>>;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = cli.settings;
    let result = match cli.command.unwrap_or(Command::Serve { demo: false }) {
        Command::Serve { demo } => serve(settings, demo),
        Command::SeedDemo { providers, seed } => {
            seed_demo(&settings, providers, seed).map(|summary| println!("{summary}"))
        }
        Command::Migrate => open(&settings).map(|_| println!("migrations applied")),
        Command::Generate {
            providers,
            locations,
            seed,
            output,
        } => generate(providers, locations, seed, output),
        Command::Import {
            file,
            format,
            record_type,
            atomic,
            batch_size,
            trusted_source,
        } => import(
            &settings,
            &file,
            format,
            record_type,
            atomic,
            batch_size as usize,
            trusted_source,
        ),
        Command::ImportNppes {
            file,
            taxonomy,
            botulinum_relevant,
            states,
            batch_size,
        } => import_nppes(
            &settings,
            &file,
            taxonomy,
            botulinum_relevant,
            states,
            batch_size as usize,
        ),
        Command::ImportNucc { file } => import_nucc(&settings, &file),
        Command::ImportExclusions {
            source: _,
            file,
            supplement,
            as_of,
        } => import_exclusions(&settings, &file, supplement, as_of),
        Command::Screen => screen(&settings),
        Command::Openapi => {
            println!("{}", clinic_finder::openapi::document_json());
            Ok(())
        }
        Command::Keys {
            command: KeysCommand::Create { role, name },
        } => create_key(&settings, role, &name),
        Command::Healthcheck => healthcheck(&settings),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("clinic-finder: {message}");
            ExitCode::FAILURE
        }
    }
}

fn open(settings: &Settings) -> CliResult<Database> {
    Ok(Database::connect(
        &settings.database_url,
        2,
        std::time::Duration::from_secs(settings.pool_timeout_secs),
    )?)
}

fn seed_demo(settings: &Settings, providers: usize, seed: u64) -> CliResult<String> {
    let database = open(settings)?;
    let mut connection = database.connection()?;
    let summary = clinic_finder::demo::seed_demo(&mut connection, providers, seed)?;
    Ok(format!(
        "demo data loaded: {} clinics, {} locations, {} providers, {} credentials",
        summary.clinics, summary.locations, summary.providers, summary.credentials
    ))
}

fn serve(settings: Settings, demo: bool) -> CliResult {
    init_logging(&settings.log, settings.log_format);
    if demo {
        let database = open(&settings)?;
        let mut connection = database.connection()?;
        if db::providers::count(&mut connection)? == 0 {
            let summary = clinic_finder::demo::seed_demo(&mut connection, 3000, 20261126)?;
            tracing::info!(
                providers = summary.providers,
                locations = summary.locations,
                "demo data loaded"
            );
        }
    }
    let bind = settings.bind;
    actix_web::rt::System::new().block_on(async move {
        let application = Application::build(settings, Clock::default())?;
        tracing::info!(%bind, docs = %format!("http://{bind}/docs/"), "clinic-finder listening");
        application.run_until_stopped().await?;
        Ok(())
    })
}

fn create_key(settings: &Settings, role: clinic_finder::domain::Role, name: &str) -> CliResult {
    let database = open(settings)?;
    let mut connection = database.connection()?;
    let by = Principal::cli(chrono::Utc::now());
    let input = NewApiKeyInput {
        name: name.to_owned(),
        role: role.as_str().to_owned(),
        expires_in_days: None,
    };
    let created = keys::create(&mut connection, &by, input)?.view;
    eprintln!(
        "created {} key {} (id {}); it is shown once:",
        role, created.key.prefix, created.key.id
    );
    println!("{}", created.secret);
    Ok(())
}

/// Connects to the bind address (loopback when bound to all interfaces) and asks /readyz.
fn healthcheck(settings: &Settings) -> CliResult {
    use std::io::{Read, Write};
    let mut address = settings.bind;
    if address.ip().is_unspecified() {
        address.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    let timeout = std::time::Duration::from_secs(3);
    let mut stream = std::net::TcpStream::connect_timeout(&address, timeout)
        .map_err(|e| format!("{address}: {e}"))?;
    stream.set_read_timeout(Some(timeout))?;
    write!(
        stream,
        "GET /readyz HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    if response.starts_with("HTTP/1.1 200") {
        Ok(())
    } else {
        Err(format!(
            "not ready: {}",
            response.lines().next().unwrap_or("no answer")
        )
        .into())
    }
}

fn generate(
    providers: usize,
    locations: Option<usize>,
    seed: u64,
    output: Option<std::path::PathBuf>,
) -> CliResult {
    let summary = match output {
        Some(path) => {
            let file =
                std::fs::File::create(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            clinic_finder::demo::write_import_file(
                std::io::BufWriter::new(file),
                providers,
                locations,
                seed,
            )
        }
        None => clinic_finder::demo::write_import_file(
            std::io::BufWriter::new(std::io::stdout().lock()),
            providers,
            locations,
            seed,
        ),
    }?;
    eprintln!(
        "generated {} clinics, {} locations, {} providers, {} credentials",
        summary.clinics, summary.locations, summary.providers, summary.credentials
    );
    Ok(())
}

/// Exit status: 0 when every record was imported, 2 when some were rejected (reported with their
/// line numbers), 1 on a fatal error.
fn import(
    settings: &Settings,
    file: &std::path::Path,
    format: ImportFormat,
    record_type: Option<clinic_finder::import::RecordType>,
    atomic: bool,
    batch_size: usize,
    trusted_source: Option<String>,
) -> CliResult {
    use clinic_finder::import::{Format, ImportOptions};
    let format = match (format, record_type) {
        (ImportFormat::Csv, Some(record_type)) => Format::Csv(record_type),
        (ImportFormat::Csv, None) => {
            return Err("--format csv needs --type clinic|location|provider|credential".into())
        }
        (ImportFormat::Ndjson, _) => Format::Ndjson,
    };
    let input: Box<dyn std::io::BufRead + Send> = if file.as_os_str() == "-" {
        Box::new(std::io::BufReader::new(std::io::stdin()))
    } else {
        Box::new(std::io::BufReader::with_capacity(
            1 << 20,
            std::fs::File::open(file).map_err(|e| format!("{}: {e}", file.display()))?,
        ))
    };
    let options = ImportOptions {
        format,
        atomic,
        batch_size,
        trusted_source,
        file_name: file.display().to_string(),
    };
    let database = open(settings)?;
    let mut connection = database.connection()?;
    let started = std::time::Instant::now();
    let report = clinic_finder::import::import(&mut connection, input, &options)
        .map_err(|e| format!("import failed: {e:?}"))?;
    for rejected in &report.rejected {
        for error in &rejected.errors {
            eprintln!(
                "line {}: {} {}: {}",
                rejected.line,
                if error.pointer.is_empty() {
                    "/"
                } else {
                    &error.pointer
                },
                error.code,
                error.detail
            );
        }
    }
    println!(
        "read {} records in {:.1} s: {} created, {} updated, {} unchanged, {} rejected{}",
        report.read,
        started.elapsed().as_secs_f64(),
        report.created,
        report.updated,
        report.unchanged,
        report.rejected.len(),
        if report.rolled_back {
            " (--atomic: nothing was written)"
        } else {
            ""
        }
    );
    if report.rejected.is_empty() {
        Ok(())
    } else {
        std::process::exit(2)
    }
}

fn open_file(file: &std::path::Path) -> CliResult<Box<dyn std::io::Read + Send>> {
    if file.as_os_str() == "-" {
        return Ok(Box::new(std::io::stdin()));
    }
    Ok(Box::new(
        std::fs::File::open(file).map_err(|e| format!("{}: {e}", file.display()))?,
    ))
}

/// A progress line on standard error while `work` runs, only when it is a terminal: rows a
/// second, bytes read and, for a file of known size, the time left.
fn with_progress<T>(
    total_bytes: Option<u64>,
    progress: std::sync::Arc<clinic_finder::import::nppes::ScanProgress>,
    work: impl FnOnce() -> T,
) -> T {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return work();
    }
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let printer = {
        let (done, progress) = (done.clone(), progress.clone());
        std::thread::spawn(move || {
            let started = std::time::Instant::now();
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                std::thread::sleep(std::time::Duration::from_millis(500));
                let seconds = started.elapsed().as_secs_f64().max(0.001);
                let (rows, bytes) = (progress.rows(), progress.bytes());
                let eta = total_bytes
                    .filter(|_| bytes > 0)
                    .map(|total| {
                        let left = (total.saturating_sub(bytes)) as f64 / (bytes as f64 / seconds);
                        format!(", ETA {:.0} s", left)
                    })
                    .unwrap_or_default();
                eprint!(
                    "\r{rows} rows ({:.0} rows/s), {:.1} MB read, {} matched{eta}   ",
                    rows as f64 / seconds,
                    bytes as f64 / 1e6,
                    progress.matched()
                );
            }
            eprintln!();
        })
    };
    let outcome = work();
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = printer.join();
    outcome
}

/// Exit status 2 when rows were skipped or rejected (each reported with its line).
fn import_nppes(
    settings: &Settings,
    file: &std::path::Path,
    taxonomy: Vec<String>,
    botulinum_relevant: bool,
    states: Vec<String>,
    batch_size: usize,
) -> CliResult {
    use clinic_finder::import::nppes::{NppesFilter, ScanProgress, BOTULINUM_RELEVANT};
    let mut filter = NppesFilter {
        taxonomies: taxonomy.into_iter().map(|t| t.trim().to_owned()).collect(),
        states: states
            .into_iter()
            .map(|s| s.trim().to_uppercase())
            .collect(),
    };
    if botulinum_relevant {
        filter
            .taxonomies
            .extend(BOTULINUM_RELEVANT.iter().map(|code| (*code).to_owned()));
    }
    let total_bytes = std::fs::metadata(file).ok().map(|m| m.len());
    let input = open_file(file)?;
    let database = open(settings)?;
    let mut connection = database.connection()?;
    let progress = std::sync::Arc::new(ScanProgress::default());
    let started = std::time::Instant::now();
    let summary = with_progress(total_bytes, progress.clone(), || {
        clinic_finder::import::import_nppes(
            &mut connection,
            input,
            &file.display().to_string(),
            filter,
            batch_size,
            progress.clone(),
        )
    })
    .map_err(|e| format!("import-nppes failed: {e}"))?;
    for skipped in &summary.skipped {
        eprintln!("line {}: skipped: {}", skipped.line, skipped.reason);
    }
    for rejected in &summary.report.rejected {
        eprintln!("line {}: rejected: {}", rejected.line, rejected.reason);
    }
    let seconds = started.elapsed().as_secs_f64();
    let report = &summary.report;
    println!(
        "read {} rows ({:.1} MB) in {:.1} s ({:.1} MB/s): {} matched the filter, {} skipped",
        summary.rows,
        summary.bytes as f64 / 1e6,
        seconds,
        summary.bytes as f64 / 1e6 / seconds.max(0.001),
        summary.matched,
        summary.skipped.len()
    );
    println!(
        "providers: {} created, {} updated; clinics: {} created, {} updated; locations: {} created; \
         {} unchanged; {} deactivated, {} reactivated; {} rejected",
        report.providers_created,
        report.providers_updated,
        report.clinics_created,
        report.clinics_updated,
        report.locations_created,
        report.unchanged,
        report.deactivated,
        report.reactivated,
        report.rejected.len()
    );
    // Every provider created or changed is screened against the exclusion lists loaded.
    if report.providers_created + report.providers_updated + report.reactivated > 0 {
        screen_with(&mut connection)?;
    }
    if summary.skipped.is_empty() && report.rejected.is_empty() {
        Ok(())
    } else {
        std::process::exit(2)
    }
}

fn import_nucc(settings: &Settings, file: &std::path::Path) -> CliResult {
    let rows = clinic_finder::import::nucc::read(open_file(file)?)
        .map_err(|e| format!("{}: {e}", file.display()))?;
    let database = open(settings)?;
    let mut connection = database.connection()?;
    let by = Principal::import(chrono::Utc::now());
    let report = clinic_finder::directory::taxonomy::import_nucc(
        &mut connection,
        &by,
        &file.display().to_string(),
        rows,
    )?
    .view;
    for (line, reason) in &report.rejected {
        eprintln!("line {line}: rejected: {reason}");
    }
    println!(
        "read {} taxonomy codes: {} added, {} updated, {} rejected (restart running servers to \
         list the new specialties)",
        report.rows,
        report.added,
        report.updated,
        report.rejected.len()
    );
    Ok(())
}

fn import_exclusions(
    settings: &Settings,
    file: &std::path::Path,
    supplement: bool,
    as_of: Option<chrono::NaiveDate>,
) -> CliResult {
    use clinic_finder::import::leie;
    let as_of = match as_of {
        Some(date) => date,
        None => std::fs::metadata(file)
            .and_then(|m| m.modified())
            .map(|modified| chrono::DateTime::<chrono::Utc>::from(modified).date_naive())
            .map_err(|e| format!("{}: {e} (give --as-of)", file.display()))?,
    };
    let rows = leie::read(open_file(file)?).map_err(|e| format!("{}: {e}", file.display()))?;
    let database = open(settings)?;
    let mut connection = database.connection()?;
    let by = Principal::import(chrono::Utc::now());
    let report = clinic_finder::directory::exclusions::import(
        &mut connection,
        &by,
        leie::SOURCE,
        as_of,
        &file.display().to_string(),
        rows,
        supplement,
    )?
    .view;
    println!(
        "OIG LEIE as of {as_of} ({}): {} rows read, {} added, {} updated, {} removed; {} held",
        if supplement {
            "supplement"
        } else {
            "full list"
        },
        report.rows,
        report.added,
        report.updated,
        report.removed,
        report.total
    );
    screen_with(&mut connection)
}

fn screen(settings: &Settings) -> CliResult {
    let database = open(settings)?;
    let mut connection = database.connection()?;
    screen_with(&mut connection)
}

fn screen_with(connection: &mut db::DbConnection) -> CliResult {
    let by = Principal::system(chrono::Utc::now());
    let started = std::time::Instant::now();
    let report = clinic_finder::directory::screening::screen_all(connection, &by, |_| {})?.view;
    if report.screened == 0 {
        println!("screening: no exclusion list loaded yet (import-exclusions)");
        return Ok(());
    }
    println!(
        "screened {} providers in {:.1} s: {} excluded (NPI on the list), {} possible matches \
         for review (GET /v1/admin/queue/screening)",
        report.screened,
        started.elapsed().as_secs_f64(),
        report.excluded,
        report.matches_raised.saturating_sub(report.excluded)
    );
    Ok(())
}
