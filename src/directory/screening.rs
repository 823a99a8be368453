//! Exclusion screening: every provider is checked against the exclusion lists (OIG LEIE today)
//! after each list import, on every create or update that changes a name, NPI or date of birth,
//! and on demand (`clinic-finder screen`). The rules:
//!
//! - **NPI equal** (the list's `0000000000` is stored as no NPI and never matches): the provider
//!   is excluded at once by the service (`system`), audited with the source row; unless the row
//!   carries a waiver, which a reviewer weighs instead.
//! - **Name and date of birth equal** (names normalised: case, punctuation, middle names): a
//!   possible match in the reviewer queue.
//! - **Name and state only** (a date of birth missing on either side; two different dates rule a
//!   match out): a weaker match in the same queue.
//!
//! A row reinstated on or before today is no hit. A match is raised once per provider and source
//! row: a false positive stays cleared. Reviewers resolve matches (`confirmed` excludes the
//! provider, `false_positive` clears it), each decision audited.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::audit::REVIEWERS;
use super::vetting;
use super::{
    write, AuditAction, AuditEvent, Change, DirectoryError, DirectoryResult, Principal, Written,
};
use crate::db::change_log::Affected;
use crate::db::models::{ExclusionRow, NewScreeningMatch, ProviderRow, ScreeningMatchRow};
use crate::db::{self, DbConnection, DbResult};
use crate::domain::names::name_key;
use crate::domain::schemas::{CalendarDate, Id, JsonObject, ListName, Timestamp};
use crate::domain::{Checks, MatchStatus, ScreeningRule, VettingStatus};

pub use crate::domain::names::exclusion_source_name as source_name;

/// Where public screening stands for a provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ScreeningStatus {
    /// Screened against every list named, as of the date given: no exclusion.
    Clear,
    /// A possible match (name and date of birth) waits for a reviewer.
    UnderReview,
    /// No exclusion list has been loaded and screened against yet.
    NotScreened,
}

/// Exclusion screening as the public sees it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[schema(example = json!({"sources": ["OIG LEIE"], "as_of": "2026-07-01", "status": "clear"}))]
pub struct PublicScreening {
    /// The exclusion lists every provider has been screened against.
    #[schema(value_type = Vec<ListName>, inline, max_items = 16)]
    pub sources: Vec<String>,
    /// The date of the oldest of those lists (absent when none has been screened against).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<CalendarDate>, inline)]
    pub as_of: Option<NaiveDate>,
    pub status: ScreeningStatus,
}

/// The lists loaded and how far every provider has been screened against them: the same for
/// every provider (each write screens the provider it changes; a run after each list import
/// screens them all).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScreeningSummary {
    /// (list name, the list date every provider was screened against).
    pub screened: Vec<(String, NaiveDate)>,
}

impl ScreeningSummary {
    pub fn load(connection: &mut DbConnection) -> DbResult<ScreeningSummary> {
        Ok(ScreeningSummary {
            screened: db::exclusions::sources(connection)?
                .into_iter()
                .filter_map(|s| Some((source_name(&s.source).to_owned(), s.screened_as_of?)))
                .collect(),
        })
    }

    /// The public block for a provider with (or without) an open high-confidence match.
    pub fn public(&self, open_high_confidence_match: bool) -> PublicScreening {
        let status = if self.screened.is_empty() {
            ScreeningStatus::NotScreened
        } else if open_high_confidence_match {
            ScreeningStatus::UnderReview
        } else {
            ScreeningStatus::Clear
        };
        PublicScreening {
            sources: self.screened.iter().map(|(name, _)| name.clone()).collect(),
            as_of: self.screened.iter().map(|(_, as_of)| *as_of).min(),
            status,
        }
    }
}

/// A source row a provider matched, and on what.
struct Hit {
    row: ExclusionRow,
    rule: ScreeningRule,
    /// Excluded at once (an NPI match without a waiver).
    automatic: bool,
}

/// What a source row says, for the audit trail (no date of birth).
pub fn describe(row: &ExclusionRow) -> String {
    let who = match (&row.business_name, &row.last_name, &row.first_name) {
        (Some(business), _, _) if row.last_name.is_none() => business.clone(),
        (_, Some(last), Some(first)) => format!("{last}, {first}"),
        (_, Some(last), None) => last.clone(),
        _ => "unnamed".to_owned(),
    };
    format!(
        "{} row {}: {who}{}, exclusion {} since {}",
        source_name(&row.source),
        row.row_key,
        row.npi
            .as_deref()
            .map(|npi| format!(", NPI {npi}"))
            .unwrap_or_default(),
        row.exclusion_type,
        row.excluded_on
            .map(|d| d.to_string())
            .unwrap_or_else(|| "an unknown date".to_owned()),
    )
}

fn hits(
    connection: &mut DbConnection,
    provider: &ProviderRow,
    today: NaiveDate,
) -> DbResult<Vec<Hit>> {
    let mut hits: Vec<Hit> = db::exclusions::by_npi(connection, &provider.npi)?
        .into_iter()
        .filter(|row| row.in_force_on(today))
        .map(|row| Hit {
            automatic: row.waiver_state.is_none(),
            rule: ScreeningRule::Npi,
            row,
        })
        .collect();
    let Some(key) = name_key(&provider.family_name, &provider.given_name) else {
        return Ok(hits);
    };
    let mut states: Option<Vec<String>> = None;
    for row in db::exclusions::by_name_key(connection, &key)? {
        if !row.in_force_on(today) || hits.iter().any(|hit| hit.row.row_key == row.row_key) {
            continue;
        }
        let rule = match (provider.date_of_birth, row.date_of_birth) {
            (Some(ours), Some(theirs)) if ours == theirs => ScreeningRule::NameDob,
            (Some(_), Some(_)) => continue, // two different dates of birth: not the same person
            _ => {
                let states = match &states {
                    Some(states) => states,
                    None => states.insert(
                        db::providers::record(connection, provider.clone())?
                            .location_states
                            .into_iter()
                            .map(|(_, state)| state)
                            .collect(),
                    ),
                };
                if !row.state.as_ref().is_some_and(|s| states.contains(s)) {
                    continue;
                }
                ScreeningRule::NameState
            }
        };
        hits.push(Hit {
            row,
            rule,
            automatic: false,
        });
    }
    Ok(hits)
}

/// The evidence a reviewer sees: the source row (its date of birth included: reviewers compare
/// it with the provider's) and what matched.
fn evidence(hit: &Hit, provider: &ProviderRow) -> String {
    serde_json::json!({
        "source": source_name(&hit.row.source),
        "rule": hit.rule.as_str(),
        "matched_on": match hit.rule {
            ScreeningRule::Npi => vec!["npi"],
            ScreeningRule::NameDob => vec!["name", "date_of_birth"],
            ScreeningRule::NameState => vec!["name", "state"],
        },
        "provider": {"npi": provider.npi, "given_name": provider.given_name, "family_name": provider.family_name},
        "row": hit.row,
        "waiver": hit.row.waiver_state.as_ref().map(|state| serde_json::json!({"state": state, "since": hit.row.waiver_on})),
    })
    .to_string()
}

/// What screening one provider found.
#[derive(Debug, Default, Clone, Serialize)]
pub struct ScreeningOutcome {
    pub excluded: bool,
    pub matches_raised: usize,
}

/// Screens one provider, inside the caller's write: new matches recorded; an automatic hit
/// excludes the provider. The audit event: `provider.exclude` naming the row, or
/// `screening.run` for matches only; none when nothing new was found.
fn screen_in(
    connection: &mut DbConnection,
    provider_id: i64,
    today: NaiveDate,
) -> DirectoryResult<Change<ScreeningOutcome>> {
    let provider = db::providers::get(connection, provider_id)?;
    let mut outcome = ScreeningOutcome::default();
    let mut exclusion: Option<String> = None;
    let mut raised = Vec::new();
    for hit in hits(connection, &provider, today)? {
        if db::exclusions::find_match(connection, provider_id, &hit.row.source, &hit.row.row_key)?
            .is_some()
        {
            continue; // raised before: a false positive stays cleared
        }
        let now = db::now();
        let status = if hit.automatic {
            MatchStatus::Confirmed
        } else {
            MatchStatus::Open
        };
        let row = db::exclusions::insert_match(
            connection,
            &NewScreeningMatch {
                provider_id,
                source: hit.row.source.clone(),
                row_key: hit.row.row_key.clone(),
                rule: hit.rule.as_str().to_owned(),
                status: status.as_str().to_owned(),
                evidence: evidence(&hit, &provider),
                created_at: now,
                resolved_at: hit.automatic.then_some(now),
                resolution_reason: hit
                    .automatic
                    .then(|| "NPI on the exclusion list: excluded automatically".to_owned()),
            },
        )?;
        outcome.matches_raised += 1;
        raised.push(
            serde_json::json!({"match_id": row.id, "rule": row.rule, "row_key": row.row_key}),
        );
        if hit.automatic && exclusion.is_none() {
            exclusion = Some(describe(&hit.row));
        }
    }
    let status = VettingStatus::parse(&provider.vetting_status).unwrap_or(VettingStatus::Pending);
    if let Some(row) = exclusion.filter(|_| status != VettingStatus::Excluded) {
        let change = vetting::automatic_move(
            connection,
            provider_id,
            VettingStatus::Excluded,
            AuditAction::ProviderExclude,
            format!("NPI on an exclusion list: {row}"),
        )?;
        outcome.excluded = true;
        return Ok(Change {
            view: outcome,
            event: change.event,
            affected: change.affected,
        });
    }
    if raised.is_empty() {
        return Ok(Change::unchanged(outcome));
    }
    let event = AuditEvent::of(AuditAction::ScreeningRun, provider_id)
        .after(&serde_json::json!({"provider_id": provider_id, "matches": raised}));
    Ok(Change::new(outcome, event, Affected::provider(provider_id)))
}

/// Screens one provider as its own write (after a create or an update, or on demand).
pub fn screen(
    connection: &mut DbConnection,
    by: &Principal,
    provider_id: i64,
) -> DirectoryResult<Written<ScreeningOutcome>> {
    by.require(REVIEWERS)?;
    let today = by.today();
    write(connection, by, |c| screen_in(c, provider_id, today))
}

/// What a screening run over every provider found.
#[derive(Debug, Default, Clone, Serialize)]
pub struct RunReport {
    pub screened: usize,
    pub excluded: usize,
    pub matches_raised: usize,
}

/// Screens every provider, a page at a time (a write each), then records that the lists loaded
/// have been screened against (every process reloads the public facts through the change feed).
pub fn screen_all(
    connection: &mut DbConnection,
    by: &Principal,
    mut progress: impl FnMut(&RunReport),
) -> DirectoryResult<Written<RunReport>> {
    by.require(REVIEWERS)?;
    let today = by.today();
    let mut report = RunReport::default();
    let mut affected = Affected::default();
    if db::exclusions::sources(connection)?.is_empty() {
        // No list loaded: nothing to screen against.
        return Ok(Written {
            view: report,
            affected,
        });
    }
    let mut after = 0;
    loop {
        let ids = db::exclusions::provider_ids(connection, after, 500)?;
        let Some(&last) = ids.last() else { break };
        after = last;
        for id in ids {
            let written = write(connection, by, |c| screen_in(c, id, today))?;
            report.screened += 1;
            report.excluded += usize::from(written.view.excluded);
            report.matches_raised += written.view.matches_raised;
            affected.providers.extend(written.affected.providers);
        }
        progress(&report);
    }
    let finished = write(connection, by, |c| {
        let sources = db::exclusions::sources(c)?;
        let mut touched = Affected::default();
        for source in &sources {
            db::exclusions::set_screened(c, source.id, source.as_of)?;
            touched.exclusion_sources.push(source.id);
        }
        if sources.is_empty() {
            return Ok(Change::unchanged(()));
        }
        let summary = serde_json::json!({
            "screened": report.screened, "excluded": report.excluded, "matches_raised": report.matches_raised,
            "sources": sources.iter().map(|s| serde_json::json!({"source": source_name(&s.source), "as_of": s.as_of})).collect::<Vec<_>>(),
        });
        let event = AuditEvent::of(AuditAction::ScreeningRun, "all").after(&summary);
        Ok(Change::new((), event, touched))
    })?;
    affected.exclusion_sources = finished.affected.exclusion_sources;
    Ok(Written {
        view: report,
        affected,
    })
}

/// A reviewer's decision on a match.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"resolution": "false_positive", "reason": "Different person: the provider's licence history shows another middle name and city."}))]
pub struct ResolutionInput {
    /// `confirmed` (the provider is excluded) or `false_positive` (cleared; not raised again for
    /// this source row).
    #[schema(value_type = MatchResolution)]
    pub resolution: String,
    /// Why: kept in the audit trail.
    #[validate(length(min = 3, max = 1000))]
    #[schema(min_length = 3, max_length = 1000, pattern = "^[^\\x00]*$")]
    pub reason: String,
}

/// What a reviewer can decide about a match.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)] // Only its schema is used: the use case parses the resolution itself.
pub enum MatchResolution {
    Confirmed,
    FalsePositive,
}

/// A screening match, as reviewers see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"id": 3, "provider_id": 42, "source": "OIG LEIE", "rule": "name_dob", "status": "open",
    "evidence": {"source": "OIG LEIE", "rule": "name_dob", "matched_on": ["name", "date_of_birth"],
        "provider": {"npi": "1234567893", "given_name": "Maya", "family_name": "Okafor"},
        "row": {"source": "oig_leie", "row_key": "5f0c6b1e9d7a4c21", "last_name": "OKAFOR", "first_name": "MAYA", "exclusion_type": "1128a1", "excluded_on": "2020-03-19", "state": "NY"},
        "waiver": null},
    "created_at": "2026-12-01T09:00:00Z", "version": 1}))]
pub struct ScreeningMatchView {
    #[schema(value_type = Id, inline)]
    pub id: i64,
    #[schema(value_type = Id, inline)]
    pub provider_id: i64,
    /// The list, e.g. `OIG LEIE`.
    #[schema(min_length = 1, max_length = 64, pattern = "^[^\\x00]*$")]
    pub source: String,
    pub rule: ScreeningRule,
    pub status: MatchStatus,
    /// The source row and what matched (with any waiver).
    #[schema(value_type = JsonObject)]
    pub evidence: serde_json::Value,
    #[serde(serialize_with = "crate::domain::utc::serialize")]
    #[schema(value_type = Timestamp, inline)]
    pub created_at: chrono::NaiveDateTime,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[serde(serialize_with = "crate::domain::utc::serialize_option")]
    #[schema(value_type = Option<Timestamp>, inline)]
    pub resolved_at: Option<chrono::NaiveDateTime>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Id>, inline)]
    pub resolved_by_key_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 3, max_length = 1000, pattern = "^[^\\x00]*$")]
    pub resolution_reason: Option<String>,
    #[schema(minimum = 1, maximum = 9_007_199_254_740_991_i64)]
    pub version: i64,
}

impl From<ScreeningMatchRow> for ScreeningMatchView {
    fn from(row: ScreeningMatchRow) -> ScreeningMatchView {
        ScreeningMatchView {
            id: row.id,
            provider_id: row.provider_id,
            source: source_name(&row.source).to_owned(),
            rule: ScreeningRule::parse(&row.rule).unwrap_or(ScreeningRule::NameState),
            status: MatchStatus::parse(&row.status).unwrap_or(MatchStatus::Open),
            evidence: serde_json::from_str(&row.evidence).unwrap_or_default(),
            created_at: row.created_at,
            resolved_at: row.resolved_at,
            resolved_by_key_id: row.resolved_by_key_id,
            resolution_reason: row.resolution_reason,
            version: row.version,
        }
    }
}

/// Resolves an open match: `confirmed` excludes the provider (audited as `provider.exclude`,
/// naming the match and the source row), `false_positive` clears it (`screening.resolve`).
pub fn resolve(
    connection: &mut DbConnection,
    by: &Principal,
    match_id: i64,
    input: ResolutionInput,
) -> DirectoryResult<Written<ScreeningMatchView>> {
    by.require(REVIEWERS)?;
    let mut checks = Checks::of(&input);
    let resolution = checks.enum_value(
        "/resolution",
        &input.resolution,
        |text| match text {
            "confirmed" => Some(MatchStatus::Confirmed),
            "false_positive" => Some(MatchStatus::FalsePositive),
            _ => None,
        },
        "confirmed, false_positive".to_owned(),
    );
    let resolution = checks.finish_with(resolution)?;
    write(connection, by, |c| {
        let before = db::exclusions::get_match(c, match_id)?;
        if before.status != MatchStatus::Open.as_str() {
            return Err(DirectoryError::Conflict {
                code: "already_resolved",
                detail: format!("match {match_id} is already {}", before.status),
            });
        }
        let row = db::exclusions::resolve_match(
            c,
            match_id,
            before.version,
            resolution.as_str(),
            by.key_id(),
            &input.reason,
            db::now(),
        )?
        .ok_or_else(|| super::raced(before.version))?;
        let (before, after) = (
            ScreeningMatchView::from(before),
            ScreeningMatchView::from(row),
        );
        if resolution == MatchStatus::FalsePositive {
            let event = AuditEvent::of(AuditAction::ScreeningResolve, match_id)
                .before(&before)
                .after(&after)
                .reason(input.reason);
            return Ok(Change::new(
                after.clone(),
                event,
                Affected::provider(after.provider_id),
            ));
        }
        let source_row = db::exclusions::find_by_key(c, &after_source(&after), &row_key(&after))?
            .map(|row| describe(&row))
            .unwrap_or_else(|| format!("source row {}", row_key(&after)));
        let provider = db::providers::get(c, after.provider_id)?;
        let reason = format!(
            "screening match {match_id} confirmed ({source_row}): {}",
            input.reason
        );
        if provider.vetting_status == VettingStatus::Excluded.as_str() {
            let event = AuditEvent::of(AuditAction::ScreeningResolve, match_id)
                .before(&before)
                .after(&after)
                .reason(reason);
            return Ok(Change::new(
                after.clone(),
                event,
                Affected::provider(after.provider_id),
            ));
        }
        let change = vetting::automatic_move(
            c,
            after.provider_id,
            VettingStatus::Excluded,
            AuditAction::ProviderExclude,
            reason,
        )?;
        Ok(Change {
            view: after,
            event: change.event,
            affected: change.affected,
        })
    })
}

fn after_source(view: &ScreeningMatchView) -> String {
    view.evidence
        .pointer("/row/source")
        .and_then(|v| v.as_str())
        .unwrap_or("oig_leie")
        .to_owned()
}

fn row_key(view: &ScreeningMatchView) -> String {
    view.evidence
        .pointer("/row/row_key")
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_owned()
}

/// A provider's screening: the lists, and every match ever raised with its outcome.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"provider_id": 42, "vetting_status": "verified",
    "screening": {"sources": ["OIG LEIE"], "as_of": "2026-07-01", "status": "clear"},
    "lists": [{"source": "OIG LEIE", "as_of": "2026-07-01", "imported_at": "2026-07-02T03:00:00Z", "rows": 82143, "screened_as_of": "2026-07-01"}],
    "matches": []}))]
pub struct ProviderScreening {
    #[schema(value_type = Id, inline)]
    pub provider_id: i64,
    pub vetting_status: VettingStatus,
    /// What the public sees.
    pub screening: PublicScreening,
    /// The lists loaded (one per source).
    #[schema(max_items = 16)]
    pub lists: Vec<ExclusionList>,
    /// Every match raised for this provider, oldest first, with its resolution (at most 1,000,
    /// the newest).
    #[schema(max_items = 1000)]
    pub matches: Vec<ScreeningMatchView>,
}

/// An exclusion list as loaded.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ExclusionList {
    #[schema(min_length = 1, max_length = 64, pattern = "^[^\\x00]*$")]
    pub source: String,
    /// The date of the file loaded last.
    #[schema(value_type = CalendarDate, inline)]
    pub as_of: NaiveDate,
    #[serde(serialize_with = "crate::domain::utc::serialize")]
    #[schema(value_type = Timestamp, inline)]
    pub imported_at: chrono::NaiveDateTime,
    #[schema(minimum = 0, maximum = 2_147_483_647)]
    pub rows: i32,
    /// The list date every provider was last screened against.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<CalendarDate>, inline)]
    pub screened_as_of: Option<NaiveDate>,
}

pub fn provider_screening(
    connection: &mut DbConnection,
    provider_id: i64,
) -> DbResult<ProviderScreening> {
    let record = db::providers::get_record(connection, provider_id)?;
    let summary = ScreeningSummary::load(connection)?;
    let lists = db::exclusions::sources(connection)?
        .into_iter()
        .map(|s| ExclusionList {
            source: source_name(&s.source).to_owned(),
            as_of: s.as_of,
            imported_at: s.imported_at,
            rows: s.row_count,
            screened_as_of: s.screened_as_of,
        })
        .collect();
    Ok(ProviderScreening {
        provider_id,
        vetting_status: VettingStatus::parse(&record.row.vetting_status)
            .unwrap_or(VettingStatus::Pending),
        screening: summary.public(record.open_high_confidence_matches),
        lists,
        matches: db::exclusions::matches_of(
            connection,
            provider_id,
            db::exclusions::MAX_MATCHES_PER_PROVIDER,
        )?
        .into_iter()
        .map(ScreeningMatchView::from)
        .collect(),
    })
}
