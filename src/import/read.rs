//! Reading import files: NDJSON (one record a line, `"type"` says which) and CSV (one record type
//! a file, lists `;`-separated, `treatments` as `code:volume;…`, `opening_hours` and
//! `verification` as JSON). Parsing runs on a thread of its own, a bounded queue ahead of the
//! writer.

use std::io::BufRead;

use super::{Format, RecordType};
use crate::directory::bulk::{BulkRecord, ParsedRecord};
use crate::domain::json::{self, JsonError};
use crate::domain::FieldError;

/// Parses on a thread of its own, a bounded queue ahead of the writer: on two cores the JSON and
/// CSV work overlaps the database work instead of adding to it, and memory stays flat. Records
/// travel in chunks: one hand-over per record would cost more in wake-ups than it saves.
pub(super) struct ParseAhead {
    queue: std::sync::mpsc::Receiver<Vec<ParsedRecord>>,
    chunk: std::vec::IntoIter<ParsedRecord>,
    parser: Option<std::thread::JoinHandle<()>>,
}

const PARSE_CHUNK: usize = 512;

impl ParseAhead {
    pub(super) fn start(input: impl BufRead + Send + 'static, format: Format) -> ParseAhead {
        let (sender, queue) = std::sync::mpsc::sync_channel(8);
        let parser = std::thread::spawn(move || {
            let mut records = read_records(input, format);
            loop {
                let chunk: Vec<ParsedRecord> = records.by_ref().take(PARSE_CHUNK).collect();
                if chunk.is_empty() || sender.send(chunk).is_err() {
                    break; // the end, or the writer stopped (an error aborted the import)
                }
            }
        });
        ParseAhead {
            queue,
            chunk: Vec::new().into_iter(),
            parser: Some(parser),
        }
    }
}

impl Iterator for ParseAhead {
    type Item = ParsedRecord;

    fn next(&mut self) -> Option<ParsedRecord> {
        loop {
            if let Some(parsed) = self.chunk.next() {
                return Some(parsed);
            }
            match self.queue.recv() {
                Ok(chunk) => self.chunk = chunk.into_iter(),
                Err(_) => {
                    // The parser is done; if it panicked, the import must not look complete.
                    if let Some(Err(panic)) = self.parser.take().map(|parser| parser.join()) {
                        std::panic::resume_unwind(panic);
                    }
                    return None;
                }
            }
        }
    }
}

fn read_records(
    input: impl BufRead + Send + 'static,
    format: Format,
) -> Box<dyn Iterator<Item = ParsedRecord> + Send> {
    match format {
        Format::Ndjson => Box::new(
            input
                .lines()
                .enumerate()
                .map(|(index, line)| (index + 1, line))
                .filter(|(_, line)| line.as_ref().map(|l| !l.trim().is_empty()).unwrap_or(true))
                .map(|(line_number, line)| {
                    let parsed = match line {
                        Ok(text) => parse_record(&text),
                        Err(error) => {
                            Err(vec![FieldError::body("", "unreadable", error.to_string())])
                        }
                    };
                    (line_number, parsed)
                }),
        ),
        Format::Csv(record_type) => {
            let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(input);
            let headers = reader.headers().cloned().unwrap_or_default();
            Box::new(reader.into_records().enumerate().map(move |(index, row)| {
                // Line 1 is the header.
                let line_number = index + 2;
                let parsed = match row {
                    Ok(row) => csv_record(record_type, &headers, &row),
                    Err(error) => Err(vec![FieldError::body(
                        "",
                        "malformed_csv",
                        error.to_string(),
                    )]),
                };
                (line_number, parsed)
            }))
        }
    }
}

fn field_errors(error: JsonError) -> Vec<FieldError> {
    match error {
        JsonError::Invalid(field) => vec![field],
        JsonError::Malformed(detail) => vec![FieldError::body("", "malformed_body", detail)],
    }
}

/// A CSV row as the same JSON object an NDJSON line would carry.
fn csv_record(
    record_type: RecordType,
    headers: &csv::StringRecord,
    row: &csv::StringRecord,
) -> Result<BulkRecord, Vec<FieldError>> {
    let mut object = serde_json::Map::new();
    object.insert("type".to_owned(), record_type.tag().into());
    for (name, value) in headers.iter().zip(row.iter()) {
        if value.is_empty() {
            continue;
        }
        let json = match name {
            "latitude" | "longitude" => value
                .parse::<f64>()
                .map(serde_json::Value::from)
                .unwrap_or_else(|_| value.into()),
            "practice_start_year" => value
                .parse::<i64>()
                .map(serde_json::Value::from)
                .unwrap_or_else(|_| value.into()),
            "accepting_new_patients" => match value {
                "true" => true.into(),
                "false" => false.into(),
                other => other.into(),
            },
            "other_specialty_codes" | "languages" | "location_external_ids" => value
                .split(';')
                .map(|v| serde_json::Value::from(v.trim()))
                .collect::<Vec<_>>()
                .into(),
            "treatments" => value
                .split(';')
                .map(|offer| {
                    let (code, volume) = offer.split_once(':').unwrap_or((offer, ""));
                    let mut treatment = serde_json::json!({"code": code.trim()});
                    if let Ok(volume) = volume.trim().parse::<i64>() {
                        treatment["annual_volume"] = volume.into();
                    }
                    treatment
                })
                .collect::<Vec<_>>()
                .into(),
            "opening_hours" | "verification" => serde_json::from_str(value).map_err(|e| {
                vec![FieldError::body(
                    format!("/{name}"),
                    "invalid_json",
                    e.to_string(),
                )]
            })?,
            _ => value.into(),
        };
        object.insert(name.to_owned(), json);
    }
    record_from_value(serde_json::Value::Object(object))
}

fn parse_record(line: &str) -> Result<BulkRecord, Vec<FieldError>> {
    let value: serde_json::Value = json::parse(line.as_bytes()).map_err(field_errors)?;
    record_from_value(value)
}

/// Dispatches on `"type"`, then deserializes the rest with JSON pointers to any bad field.
fn record_from_value(mut value: serde_json::Value) -> Result<BulkRecord, Vec<FieldError>> {
    let Some(object) = value.as_object_mut() else {
        return Err(vec![FieldError::body(
            "",
            "invalid_type",
            "a record is a JSON object",
        )]);
    };
    let tag = match object.remove("type") {
        Some(serde_json::Value::String(tag)) => tag,
        _ => {
            return Err(vec![FieldError::body(
                "/type",
                "required",
                "`type` is clinic, location, provider or credential",
            )])
        }
    };
    let record = match tag.as_str() {
        "clinic" => json::from_value(value).map(BulkRecord::Clinic),
        "location" => json::from_value(value).map(BulkRecord::Location),
        "provider" => json::from_value(value).map(BulkRecord::Provider),
        "credential" => json::from_value(value).map(BulkRecord::Credential),
        other => {
            return Err(vec![FieldError::body(
                "/type",
                "unknown_value",
                format!("`{other}`: clinic, location, provider or credential"),
            )])
        }
    };
    record.map_err(field_errors)
}
