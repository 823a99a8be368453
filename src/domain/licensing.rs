//! When a verified credential still counts: unexpired, and not overdue for re-verification by
//! more than the grace period (`CLINIC_FINDER_REVERIFY_GRACE_DAYS`). Judged at the moment of the
//! request, with the service's clock, by search, profiles and the vetting rules alike.

use chrono::{Days, NaiveDate};

/// The grace period when none is configured.
pub const DEFAULT_REVERIFY_GRACE_DAYS: u32 = 30;

/// The day credentials are judged on, and the re-verification grace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Freshness {
    pub today: NaiveDate,
    pub reverify_grace_days: u32,
}

impl Freshness {
    pub fn new(today: NaiveDate, reverify_grace_days: u32) -> Freshness {
        Freshness {
            today,
            reverify_grace_days,
        }
    }

    /// With the default grace.
    pub fn on(today: NaiveDate) -> Freshness {
        Freshness::new(today, DEFAULT_REVERIFY_GRACE_DAYS)
    }

    /// Past its re-verification date by more than the grace.
    pub fn overdue(&self, next_due_on: Option<NaiveDate>) -> bool {
        next_due_on.is_some_and(|due| {
            due.checked_add_days(Days::new(u64::from(self.reverify_grace_days)))
                .is_some_and(|last_day| last_day < self.today)
        })
    }

    /// A verified credential with these dates still counts today.
    pub fn counts(&self, expires_on: Option<NaiveDate>, next_due_on: Option<NaiveDate>) -> bool {
        expires_on.is_none_or(|expires| expires >= self.today) && !self.overdue(next_due_on)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grace_ends_a_credential_after_its_last_day() {
        let due = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        let on = |y, m, d| Freshness::new(NaiveDate::from_ymd_opt(y, m, d).unwrap(), 30);
        assert!(
            on(2026, 1, 31).counts(None, Some(due)),
            "day 30 of the grace"
        );
        assert!(!on(2026, 2, 1).counts(None, Some(due)), "day 31: overdue");
        assert!(on(2026, 2, 1).counts(None, None), "nothing due");
        assert!(!on(2026, 2, 1).counts(Some(due), None), "expired");
    }
}
