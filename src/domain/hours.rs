//! Weekly opening hours, local to a location's IANA timezone, and "is it open at this instant?".

use chrono::{DateTime, Datelike, Duration, NaiveTime, TimeZone, Timelike, Utc, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::FieldError;

/// One opening interval on a day, local time, `HH:MM` 24-hour; `closes` may be `24:00`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"opens": "09:00", "closes": "17:30"}))]
pub struct OpeningInterval {
    #[schema(
        min_length = 5,
        max_length = 5,
        pattern = "^([01][0-9]|2[0-3]):[0-5][0-9]$"
    )]
    pub opens: String,
    #[schema(
        min_length = 5,
        max_length = 5,
        pattern = "^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$"
    )]
    pub closes: String,
}

// Deserialized by hand, from JSON objects only: serde's derive would also take a struct from an
// array (`["09:00", "17:00"]`), which the documented schema does not allow.

impl<'de> Deserialize<'de> for OpeningInterval {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        const FIELDS: &[&str] = &["opens", "closes"];
        struct Fields;
        impl<'de> serde::de::Visitor<'de> for Fields {
            type Value = OpeningInterval;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object with `opens` and `closes`")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                use serde::de::Error;
                let (mut opens, mut closes) = (None, None);
                while let Some(key) = map.next_key::<String>()? {
                    let slot = match key.as_str() {
                        "opens" => &mut opens,
                        "closes" => &mut closes,
                        _ => return Err(A::Error::unknown_field(&key, FIELDS)),
                    };
                    if slot.is_some() {
                        return Err(A::Error::custom(format!("duplicate field `{key}`")));
                    }
                    *slot = Some(map.next_value::<String>()?);
                }
                Ok(OpeningInterval {
                    opens: opens.ok_or_else(|| A::Error::missing_field("opens"))?,
                    closes: closes.ok_or_else(|| A::Error::missing_field("closes"))?,
                })
            }
        }
        deserializer.deserialize_map(Fields)
    }
}

impl<'de> Deserialize<'de> for WeeklyHours {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        const FIELDS: &[&str] = &["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
        struct Days;
        impl<'de> serde::de::Visitor<'de> for Days {
            type Value = WeeklyHours;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object of days (`mon` … `sun`)")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                use serde::de::Error;
                let mut hours = WeeklyHours::default();
                let mut seen = [false; 7];
                while let Some(key) = map.next_key::<String>()? {
                    let Some(day) = FIELDS.iter().position(|d| *d == key) else {
                        return Err(A::Error::unknown_field(&key, FIELDS));
                    };
                    if std::mem::replace(&mut seen[day], true) {
                        return Err(A::Error::custom(format!("duplicate field `{key}`")));
                    }
                    let intervals = map.next_value::<Vec<OpeningInterval>>()?;
                    let slot = match day {
                        0 => &mut hours.mon,
                        1 => &mut hours.tue,
                        2 => &mut hours.wed,
                        3 => &mut hours.thu,
                        4 => &mut hours.fri,
                        5 => &mut hours.sat,
                        _ => &mut hours.sun,
                    };
                    *slot = intervals;
                }
                Ok(hours)
            }
        }
        deserializer.deserialize_map(Days)
    }
}

/// Opening hours for each day of the week in the location's own timezone. A missing day is closed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"mon": [{"opens": "08:30", "closes": "17:00"}], "tue": [{"opens": "08:30", "closes": "12:00"}, {"opens": "13:00", "closes": "17:00"}], "sat": []}))]
pub struct WeeklyHours {
    #[serde(default)]
    #[schema(max_items = 8)]
    pub mon: Vec<OpeningInterval>,
    #[serde(default)]
    #[schema(max_items = 8)]
    pub tue: Vec<OpeningInterval>,
    #[serde(default)]
    #[schema(max_items = 8)]
    pub wed: Vec<OpeningInterval>,
    #[serde(default)]
    #[schema(max_items = 8)]
    pub thu: Vec<OpeningInterval>,
    #[serde(default)]
    #[schema(max_items = 8)]
    pub fri: Vec<OpeningInterval>,
    #[serde(default)]
    #[schema(max_items = 8)]
    pub sat: Vec<OpeningInterval>,
    #[serde(default)]
    #[schema(max_items = 8)]
    pub sun: Vec<OpeningInterval>,
}

const DAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// Parsed hours: for each weekday (Monday first), sorted `[opens, closes)` minutes after midnight.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CompiledHours {
    days: [Vec<(u16, u16)>; 7],
}

fn parse_minutes(text: &str, allow_24: bool) -> Option<u16> {
    if allow_24 && text == "24:00" {
        return Some(24 * 60);
    }
    if text.len() != 5 || text.as_bytes()[2] != b':' {
        return None;
    }
    let time = NaiveTime::parse_from_str(text, "%H:%M").ok()?;
    Some((time.hour() * 60 + time.minute()) as u16)
}

impl WeeklyHours {
    fn days(&self) -> [&Vec<OpeningInterval>; 7] {
        [
            &self.mon, &self.tue, &self.wed, &self.thu, &self.fri, &self.sat, &self.sun,
        ]
    }

    /// Validates and compiles; errors point below `pointer_prefix` (e.g. `/opening_hours`).
    pub fn compile(&self, pointer_prefix: &str) -> Result<CompiledHours, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut compiled = CompiledHours::default();
        for (day, intervals) in self.days().into_iter().enumerate() {
            if intervals.len() > 8 {
                errors.push(FieldError::body(
                    format!("{pointer_prefix}/{}", DAY_NAMES[day]),
                    "too_many",
                    "at most 8 intervals a day",
                ));
                continue;
            }
            for (index, interval) in intervals.iter().enumerate() {
                let pointer = format!("{pointer_prefix}/{}/{index}", DAY_NAMES[day]);
                match (
                    parse_minutes(&interval.opens, false),
                    parse_minutes(&interval.closes, true),
                ) {
                    (Some(opens), Some(closes)) if opens < closes => {
                        compiled.days[day].push((opens, closes))
                    }
                    (Some(_), Some(_)) => errors.push(FieldError::body(
                        pointer,
                        "invalid_interval",
                        "opens must be before closes",
                    )),
                    _ => errors.push(FieldError::body(
                        pointer,
                        "invalid_time",
                        "times are HH:MM, 00:00 to 24:00",
                    )),
                }
            }
            compiled.days[day].sort_unstable();
            if compiled.days[day]
                .windows(2)
                .any(|pair| pair[0].1 > pair[1].0)
            {
                errors.push(FieldError::body(
                    format!("{pointer_prefix}/{}", DAY_NAMES[day]),
                    "overlapping_intervals",
                    "intervals on one day must not overlap",
                ));
            }
        }
        if errors.is_empty() {
            Ok(compiled)
        } else {
            Err(errors)
        }
    }
}

/// Whether a location is open at an instant, and when it next opens.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct OpenStatus {
    /// Open at the instant asked about (`open_at`, or now).
    pub open: bool,
    /// When it next opens, in the location's local time with its UTC offset; absent when open,
    /// or when it has no opening hours.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime, max_length = 35)]
    pub next_opening: Option<DateTime<chrono::FixedOffset>>,
}

impl CompiledHours {
    pub fn is_empty(&self) -> bool {
        self.days.iter().all(Vec::is_empty)
    }

    pub fn is_open_at(&self, timezone: Tz, instant: DateTime<Utc>) -> bool {
        let local = instant.with_timezone(&timezone);
        let day = local.weekday().num_days_from_monday() as usize;
        let minute = (local.hour() * 60 + local.minute()) as u16;
        self.days[day]
            .iter()
            .any(|&(opens, closes)| opens <= minute && minute < closes)
    }

    pub fn status_at(&self, timezone: Tz, instant: DateTime<Utc>) -> OpenStatus {
        let open = self.is_open_at(timezone, instant);
        let next_opening = if open {
            None
        } else {
            self.next_opening_after(timezone, instant)
        };
        OpenStatus { open, next_opening }
    }

    fn next_opening_after(
        &self,
        timezone: Tz,
        instant: DateTime<Utc>,
    ) -> Option<DateTime<chrono::FixedOffset>> {
        let local_date = instant.with_timezone(&timezone).date_naive();
        for offset in 0..=7 {
            let date = local_date + Duration::days(offset);
            let day = date.weekday().num_days_from_monday() as usize;
            for &(opens, _) in &self.days[day] {
                let naive = date.and_hms_opt(u32::from(opens / 60), u32::from(opens % 60), 0)?;
                // A time skipped by a DST change opens at the first instant after the gap.
                let start = timezone
                    .from_local_datetime(&naive)
                    .earliest()
                    .or_else(|| {
                        timezone
                            .from_local_datetime(&(naive + Duration::hours(1)))
                            .earliest()
                    })?;
                if start.with_timezone(&Utc) > instant {
                    return Some(start.fixed_offset());
                }
            }
        }
        None
    }
}

pub fn weekday_index(weekday: Weekday) -> usize {
    weekday.num_days_from_monday() as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    fn weekdays_nine_to_five() -> CompiledHours {
        let interval = || {
            vec![OpeningInterval {
                opens: "09:00".into(),
                closes: "17:00".into(),
            }]
        };
        WeeklyHours {
            mon: interval(),
            tue: interval(),
            wed: interval(),
            thu: interval(),
            fri: interval(),
            ..Default::default()
        }
        .compile("/opening_hours")
        .unwrap()
    }

    #[test]
    fn a_los_angeles_clinic_is_judged_in_its_own_time() {
        let hours = weekdays_nine_to_five();
        // 12:30 in New York on a Wednesday is 09:30 in Los Angeles: open there.
        let instant = "2026-06-10T16:30:00Z".parse().unwrap();
        assert!(hours.is_open_at(chrono_tz::America::Los_Angeles, instant));
        // 11:30 in New York is 08:30 in Los Angeles: not yet; it opens at 09:00 local.
        let instant = "2026-06-10T15:30:00Z".parse().unwrap();
        let status = hours.status_at(chrono_tz::America::Los_Angeles, instant);
        assert!(!status.open);
        assert_eq!(
            status.next_opening.unwrap().to_rfc3339(),
            "2026-06-10T09:00:00-07:00"
        );
    }

    #[test]
    fn rejects_bad_times_and_overlaps() {
        let hours = WeeklyHours {
            mon: vec![
                OpeningInterval {
                    opens: "09:00".into(),
                    closes: "13:00".into(),
                },
                OpeningInterval {
                    opens: "12:00".into(),
                    closes: "17:00".into(),
                },
            ],
            tue: vec![OpeningInterval {
                opens: "25:00".into(),
                closes: "26:00".into(),
            }],
            wed: vec![OpeningInterval {
                opens: "17:00".into(),
                closes: "09:00".into(),
            }],
            ..Default::default()
        };
        let errors = hours.compile("/opening_hours").unwrap_err();
        let codes: Vec<_> = errors
            .iter()
            .map(|e| (e.pointer.as_str(), e.code.as_str()))
            .collect();
        assert_eq!(
            codes,
            vec![
                ("/opening_hours/mon", "overlapping_intervals"),
                ("/opening_hours/tue/0", "invalid_time"),
                ("/opening_hours/wed/0", "invalid_interval"),
            ]
        );
    }
}

#[cfg(test)]
mod object_only_tests {
    use super::{OpeningInterval, WeeklyHours};

    #[test]
    fn hours_come_from_objects_only() {
        let hours: WeeklyHours =
            serde_json::from_str(r#"{"mon": [{"opens": "09:00", "closes": "17:00"}]}"#).unwrap();
        assert_eq!(hours.mon[0].closes, "17:00");
        assert!(hours.tue.is_empty());
        assert!(serde_json::from_str::<WeeklyHours>(r#"{"mon": [["09:00", "17:00"]]}"#).is_err());
        assert!(serde_json::from_str::<WeeklyHours>(r#"[[]]"#).is_err());
        assert!(serde_json::from_str::<WeeklyHours>(r#"{"moon": []}"#).is_err());
        assert!(serde_json::from_str::<OpeningInterval>(r#"{"opens": "09:00"}"#).is_err());
    }
}
