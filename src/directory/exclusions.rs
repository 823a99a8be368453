//! Loading an exclusion list (OIG LEIE): a full file replaces the source's rows; a monthly
//! supplement adds exclusions and records reinstatements. One write, audited
//! (`exclusions.import`), stamped with the file's date (`as_of`).

use chrono::NaiveDate;
use serde::Serialize;

use super::audit::EDITORS;
use super::{write, AuditAction, AuditEvent, Change, DirectoryResult, Principal, Written};
use crate::db::change_log::Affected;
use crate::db::models::ExclusionRow;
use crate::db::{self, DbConnection};

/// What a load did.
#[derive(Debug, Default, Clone, PartialEq, Serialize)]
pub struct ExclusionImportReport {
    pub rows: usize,
    pub added: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub removed: usize,
    /// Rows the source now holds.
    pub total: i64,
}

/// Loads `rows` of `source` as of `as_of`: replacing every row (a full file) or adding to them
/// (a supplement: new rows added, known rows' reinstatement and waiver updated).
pub fn import(
    connection: &mut DbConnection,
    by: &Principal,
    source: &str,
    as_of: NaiveDate,
    file_name: &str,
    rows: Vec<ExclusionRow>,
    supplement: bool,
) -> DirectoryResult<Written<ExclusionImportReport>> {
    by.require(EDITORS)?;
    write(connection, by, |c| {
        let mut report = ExclusionImportReport {
            rows: rows.len(),
            ..Default::default()
        };
        if supplement {
            let mut new = Vec::new();
            for row in rows {
                match db::exclusions::find_by_key(c, source, &row.row_key)? {
                    Some(held)
                        if held.reinstated_on == row.reinstated_on
                            && held.waiver_on == row.waiver_on
                            && held.waiver_state == row.waiver_state =>
                    {
                        report.unchanged += 1
                    }
                    Some(held) => {
                        db::exclusions::update_row(c, held.id, &row)?;
                        report.updated += 1;
                    }
                    None if new.iter().any(|r: &ExclusionRow| r.row_key == row.row_key) => {
                        report.unchanged += 1
                    }
                    None => new.push(row),
                }
            }
            report.added = new.len();
            db::exclusions::insert_rows(c, &new)?;
        } else {
            report.removed = db::exclusions::delete_rows(c, source)?;
            let mut unique: Vec<ExclusionRow> = Vec::with_capacity(rows.len());
            let mut keys = std::collections::HashSet::new();
            for row in rows {
                if keys.insert(row.row_key.clone()) {
                    unique.push(row);
                } else {
                    report.unchanged += 1;
                }
            }
            report.added = unique.len();
            db::exclusions::insert_rows(c, &unique)?;
        }
        report.total = db::exclusions::count(c, source)?;
        let id = db::exclusions::record_load(
            c,
            source,
            as_of,
            i32::try_from(report.total).unwrap_or(i32::MAX),
            db::now(),
        )?;
        let summary = serde_json::json!({
            "file": file_name, "source": source, "as_of": as_of,
            "mode": if supplement { "supplement" } else { "full" },
            "rows": report.rows, "added": report.added, "updated": report.updated,
            "removed": report.removed, "total": report.total,
        });
        let event = AuditEvent::of(AuditAction::ExclusionsImport, source).after(&summary);
        let affected = Affected {
            exclusion_sources: vec![id],
            ..Default::default()
        };
        Ok(Change::new(report, event, affected))
    })
}
