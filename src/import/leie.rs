//! Reading the OIG List of Excluded Individuals/Entities (`UPDATED.csv`, and the monthly
//! `YYMMEXCL.csv` / `YYMMREIN.csv` supplements): 18 columns by name, values quoted, dates
//! YYYYMMDD with `00000000` for none, and `0000000000` for a missing NPI (stored as none: it must
//! never match). `EXCLTYPE` is kept as written (case matters: `1128b4`, `1128Aa`).

use std::io::Read;

use chrono::NaiveDate;
use sha2::{Digest, Sha256};

use crate::db::models::ExclusionRow;
use crate::domain::names::name_key;

pub const SOURCE: &str = "oig_leie";

const COLUMNS: [&str; 18] = [
    "LASTNAME",
    "FIRSTNAME",
    "MIDNAME",
    "BUSNAME",
    "GENERAL",
    "SPECIALTY",
    "UPIN",
    "NPI",
    "DOB",
    "ADDRESS",
    "CITY",
    "STATE",
    "ZIP",
    "EXCLTYPE",
    "EXCLDATE",
    "REINDATE",
    "WAIVERDATE",
    "WVRSTATE",
];

fn date(text: &str) -> Result<Option<NaiveDate>, String> {
    if text.is_empty() || text.bytes().all(|b| b == b'0') {
        return Ok(None);
    }
    NaiveDate::parse_from_str(text, "%Y%m%d")
        .map(Some)
        .map_err(|_| format!("`{text}` is not a date (YYYYMMDD)"))
}

/// Every row of the file, or the first problem (with its line): an exclusion list is loaded
/// whole or not at all.
pub fn read(input: impl Read) -> Result<Vec<ExclusionRow>, String> {
    let mut csv = csv::ReaderBuilder::new().flexible(true).from_reader(input);
    let header = csv.headers().map_err(|e| e.to_string())?.clone();
    let mut at = [0usize; 18];
    for (slot, name) in COLUMNS.iter().enumerate() {
        at[slot] = header
            .iter()
            .position(|h| h.trim().trim_start_matches('\u{feff}') == *name)
            .ok_or_else(|| format!("the file has no column `{name}` (the LEIE header)"))?;
    }
    let mut rows = Vec::new();
    for record in csv.records() {
        let record = record.map_err(|e| e.to_string())?;
        let line = record.position().map(|p| p.line()).unwrap_or_default();
        let field = |slot: usize| record.get(at[slot]).map(str::trim).unwrap_or("");
        let text = |slot: usize| Some(field(slot).to_owned()).filter(|v| !v.is_empty());
        let at_line = |e: String| format!("line {line}: {e}");
        let npi = Some(field(7).to_owned())
            .filter(|npi| npi.len() == 10 && npi.bytes().all(|b| b.is_ascii_digit()))
            .filter(|npi| npi != "0000000000");
        let exclusion_type = field(13).to_owned();
        if exclusion_type.is_empty() {
            return Err(at_line("EXCLTYPE is empty".to_owned()));
        }
        // Who and what: the same exclusion keeps its key through reloads, reinstatement and
        // waiver aside.
        let identity = [0, 1, 2, 3, 7, 8, 13, 14]
            .iter()
            .map(|&slot| field(slot))
            .collect::<Vec<_>>()
            .join("\u{1f}");
        let row_key = hex::encode(&Sha256::digest(identity.as_bytes())[..12]);
        let (last, first) = (field(0), field(1));
        rows.push(ExclusionRow {
            id: 0,
            source: SOURCE.to_owned(),
            row_key,
            last_name: text(0),
            first_name: text(1),
            middle_name: text(2),
            business_name: text(3),
            general: text(4),
            specialty: text(5),
            npi,
            date_of_birth: date(field(8)).map_err(at_line)?,
            address: text(9),
            city: text(10),
            state: text(11),
            zip: text(12),
            exclusion_type,
            excluded_on: date(field(14)).map_err(at_line)?,
            reinstated_on: date(field(15)).map_err(at_line)?,
            waiver_on: date(field(16)).map_err(at_line)?,
            waiver_state: text(17),
            name_key: name_key(last, first),
        });
    }
    Ok(rows)
}
