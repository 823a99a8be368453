//! Reading the NUCC health care provider taxonomy code set (`nucc_taxonomy_*.csv`, header
//! `Code,Grouping,Classification,Specialization,Definition,Notes,Display Name,Section`), columns
//! by name. About 900 rows: read whole, then loaded in one write (`directory::taxonomy`).

use std::io::Read;

use crate::directory::taxonomy::NuccRow;

/// Every row; a missing column is an error naming it.
pub fn read(input: impl Read) -> Result<Vec<NuccRow>, String> {
    let mut csv = csv::ReaderBuilder::new().flexible(true).from_reader(input);
    let header = csv.headers().map_err(|e| e.to_string())?.clone();
    let at = |name: &str| {
        header
            .iter()
            .position(|h| h.trim().trim_start_matches('\u{feff}') == name)
            .ok_or_else(|| format!("the file has no column `{name}` (the NUCC CSV header)"))
    };
    let (code, grouping, classification, specialization, display, section) = (
        at("Code")?,
        at("Grouping")?,
        at("Classification")?,
        at("Specialization")?,
        at("Display Name")?,
        at("Section")?,
    );
    let mut rows = Vec::new();
    for record in csv.records() {
        let record = record.map_err(|e| e.to_string())?;
        let line = record.position().map(|p| p.line()).unwrap_or_default();
        let field = |at: usize| {
            record
                .get(at)
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        rows.push(NuccRow {
            line,
            code: field(code).unwrap_or_default(),
            grouping: field(grouping),
            classification: field(classification),
            specialization: field(specialization),
            display_name: field(display),
            section: field(section),
        });
    }
    Ok(rows)
}
