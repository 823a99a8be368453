//! Timestamps on the wire: the database holds UTC as `NaiveDateTime`; responses write them as
//! RFC 3339 with `Z` (e.g. `2026-11-20T14:03:00Z`), which is what `format: date-time` promises.

use chrono::{NaiveDateTime, SecondsFormat};
use serde::Serializer;

pub fn serialize<S: Serializer>(at: &NaiveDateTime, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&at.and_utc().to_rfc3339_opts(SecondsFormat::AutoSi, true))
}

pub fn serialize_option<S: Serializer>(
    at: &Option<NaiveDateTime>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match at {
        Some(at) => serialize(at, serializer),
        None => serializer.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn timestamps_are_rfc_3339_utc() {
        #[derive(serde::Serialize)]
        struct View {
            #[serde(serialize_with = "super::serialize")]
            at: chrono::NaiveDateTime,
        }
        let at = chrono::NaiveDate::from_ymd_opt(2026, 11, 20)
            .and_then(|d| d.and_hms_micro_opt(14, 3, 0, 470_501))
            .map(|at| View { at });
        let json = serde_json::to_string(&at.expect("a date")).expect("json");
        assert_eq!(json, r#"{"at":"2026-11-20T14:03:00.470501Z"}"#);
    }
}
