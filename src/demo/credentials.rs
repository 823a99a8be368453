//! Planning a provider's credentials and the outcome of checking each one.

use chrono::{Duration, Months, NaiveDate, NaiveDateTime};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::generator::UNSAVED_ID;
use super::names::{state_name, state_name_as_prefix, STATE_NAMES};
use super::taxonomy::certifying_boards;
use super::{at, date, pick, pick_weighted, time_between, DEMO_TODAY, LAST_VERIFICATION};
use crate::db::models::NewCredential;
use crate::domain::{CredentialKind, Degree, SourceType, VerificationStatus, VettingStatus};

/// What a provider's credentials depend on.
pub(super) struct CredentialContext<'a> {
    pub(super) degree: Degree,
    pub(super) family_name: &'a str,
    pub(super) primary_specialty: &'static str,
    pub(super) secondary_specialties: &'a [&'static str],
    pub(super) license_state: &'a str,
    pub(super) practice_start_year: i32,
    pub(super) vetting_status: VettingStatus,
    pub(super) created_at: NaiveDateTime,
    pub(super) training_issuers: &'static [&'static str],
}

/// A credential as issued, before anyone checked it.
struct IssuedCredential {
    kind: CredentialKind,
    issuer: String,
    identifier: Option<String>,
    jurisdiction: Option<String>,
    specialty_code: Option<&'static str>,
    issued_on: Option<NaiveDate>,
    expires_on: Option<NaiveDate>,
    /// Where a reviewer would check it.
    source: SourceType,
}

pub(super) fn plan_credentials(
    rng: &mut ChaCha8Rng,
    context: &CredentialContext,
) -> Vec<NewCredential> {
    let mut credentials = Vec::with_capacity(4);

    let license = state_license(rng, context);
    let license_status = license_outcome(rng, context.vetting_status);
    credentials.push(record_check(
        rng,
        license,
        license_status,
        context.created_at,
    ));

    let mut others = Vec::new();
    let is_physician = matches!(context.degree, Degree::Md | Degree::Do);
    let certification_chance = match context.degree {
        Degree::Md | Degree::Do => 0.88,
        Degree::Pa => 0.7,
        Degree::Dpm | Degree::Np => 0.5,
        Degree::Dds | Degree::Dmd => 0.4,
        Degree::Rn => 0.0,
    };
    if rng.gen_bool(certification_chance) {
        if let Some(certification) = board_certification(rng, context, context.primary_specialty) {
            others.push(certification);
        }
    }
    if is_physician {
        for &specialty in context.secondary_specialties {
            if rng.gen_bool(0.5) {
                if let Some(certification) = board_certification(rng, context, specialty) {
                    others.push(certification);
                }
            }
        }
    }
    let training_chance = if is_physician { 0.55 } else { 0.85 };
    if rng.gen_bool(training_chance) {
        others.push(injector_training(rng, context));
    }
    let dea_chance = match context.degree {
        Degree::Rn => 0.0,
        Degree::Np | Degree::Pa => 0.2,
        _ => 0.35,
    };
    if rng.gen_bool(dea_chance) {
        others.push(dea_registration(rng, context));
    }
    if rng.gen_bool(0.35) {
        others.push(education(rng, context));
    }

    for credential in others {
        let status = other_credential_outcome(rng, context.vetting_status);
        credentials.push(record_check(rng, credential, status, context.created_at));
    }
    credentials
}

/// A verified provider's licence has always been checked; the others are at various stages.
fn license_outcome(rng: &mut ChaCha8Rng, vetting: VettingStatus) -> VerificationStatus {
    use VerificationStatus::*;
    match vetting {
        VettingStatus::Verified => Verified,
        VettingStatus::Pending => Unverified,
        VettingStatus::UnderReview => *pick_weighted(rng, &[(Verified, 40), (Unverified, 60)]),
        VettingStatus::Rejected => *pick_weighted(rng, &[(Rejected, 60), (Unverified, 40)]),
        VettingStatus::Suspended => *pick_weighted(rng, &[(Revoked, 40), (Verified, 60)]),
        VettingStatus::Excluded => Revoked,
    }
}

fn other_credential_outcome(rng: &mut ChaCha8Rng, vetting: VettingStatus) -> VerificationStatus {
    use VerificationStatus::*;
    match vetting {
        VettingStatus::Verified => {
            *pick_weighted(rng, &[(Verified, 65), (Unverified, 27), (Rejected, 8)])
        }
        VettingStatus::Pending => Unverified,
        VettingStatus::UnderReview => *pick_weighted(rng, &[(Verified, 25), (Unverified, 75)]),
        VettingStatus::Rejected => *pick_weighted(rng, &[(Unverified, 80), (Rejected, 20)]),
        VettingStatus::Suspended => *pick_weighted(rng, &[(Verified, 60), (Unverified, 40)]),
        VettingStatus::Excluded => Unverified,
    }
}

/// A two-year licence in the state of the provider's main location: about 5% already expired on
/// `DEMO_TODAY`, about 8% expiring within 60 days of it, the rest valid for longer. An expired
/// licence expired while the provider was on file, so it could be checked while still valid.
fn state_license(rng: &mut ChaCha8Rng, context: &CredentialContext) -> IssuedCredential {
    let state = context.license_state;
    let (issuer, number_prefix) = match context.degree {
        Degree::Md => (format!("Medical Board of {}", state_name(state)), "A"),
        Degree::Do => (format!("Medical Board of {}", state_name(state)), "DO"),
        Degree::Pa => (format!("Medical Board of {}", state_name(state)), "PA"),
        Degree::Np => (
            format!("{} Board of Nursing", state_name_as_prefix(state)),
            "NP",
        ),
        Degree::Rn => (
            format!("{} Board of Nursing", state_name_as_prefix(state)),
            "RN",
        ),
        Degree::Dds | Degree::Dmd => (format!("Dental Board of {}", state_name(state)), "D"),
        Degree::Dpm => (
            format!(
                "{} Board of Podiatric Medicine",
                state_name_as_prefix(state)
            ),
            "E",
        ),
    };
    let days_on_file = (DEMO_TODAY - context.created_at.date()).num_days();
    let days_from_today = match rng.gen_range(0..100) {
        0..5 if days_on_file > 31 => -rng.gen_range(1..=(days_on_file - 30).min(365)),
        0..13 => rng.gen_range(1..=60),
        _ => rng.gen_range(61..=700),
    };
    let expires_on = DEMO_TODAY + Duration::days(days_from_today);
    let issued_on = expires_on
        .checked_sub_months(Months::new(24))
        .unwrap_or(expires_on - Duration::days(730));
    IssuedCredential {
        kind: CredentialKind::StateLicense,
        issuer,
        identifier: Some(format!("{number_prefix}{:06}", rng.gen_range(0..1_000_000))),
        jurisdiction: Some(state.to_owned()),
        specialty_code: None,
        issued_on: Some(issued_on),
        expires_on: Some(expires_on),
        source: SourceType::StateMedicalBoard,
    }
}

/// A board certification in `specialty`: ABMS boards for MDs, ABMS or AOA boards for DOs, the
/// profession's own certifying body for the others.
fn board_certification(
    rng: &mut ChaCha8Rng,
    context: &CredentialContext,
    specialty: &'static str,
) -> Option<IssuedCredential> {
    let (issuer, source) = match context.degree {
        Degree::Md | Degree::Do => {
            let (abms_board, aoa_board) = certifying_boards(specialty)?;
            if context.degree == Degree::Do && rng.gen_bool(0.5) {
                (aoa_board, SourceType::AoaBoard)
            } else {
                (abms_board, SourceType::AbmsMemberBoard)
            }
        }
        Degree::Np => (
            "American Academy of Nurse Practitioners Certification Board",
            SourceType::Other,
        ),
        Degree::Pa => (
            "National Commission on Certification of Physician Assistants",
            SourceType::Other,
        ),
        Degree::Dpm => (
            "American Board of Foot and Ankle Surgery",
            SourceType::Other,
        ),
        Degree::Dds | Degree::Dmd if specialty == "1223S0112X" => (
            "American Board of Oral and Maxillofacial Surgery",
            SourceType::Other,
        ),
        Degree::Dds | Degree::Dmd => ("American Board of General Dentistry", SourceType::Other),
        Degree::Rn => return None,
    };
    // The current certificate: initial certification after training, or the latest renewal.
    let earliest = date(context.practice_start_year + 1, 7, 1);
    let mut issued_on = DEMO_TODAY - Duration::days(rng.gen_range(30..3650));
    if issued_on < earliest {
        issued_on = earliest + Duration::days(rng.gen_range(0..120));
    }
    let issued_on = issued_on.min(DEMO_TODAY - Duration::days(30));
    // Most boards issue ten-year certificates; some now certify continuously (no end date).
    let expires_on = rng
        .gen_bool(0.7)
        .then(|| issued_on.checked_add_months(Months::new(120)))
        .flatten();
    Some(IssuedCredential {
        kind: CredentialKind::BoardCertification,
        issuer: issuer.to_owned(),
        identifier: rng
            .gen_bool(0.7)
            .then(|| format!("{:06}", rng.gen_range(10_000..1_000_000))),
        jurisdiction: None,
        specialty_code: Some(specialty),
        issued_on: Some(issued_on),
        expires_on,
        source,
    })
}

fn injector_training(rng: &mut ChaCha8Rng, context: &CredentialContext) -> IssuedCredential {
    let issued_on = DEMO_TODAY - Duration::days(rng.gen_range(30..2200));
    // Some courses ask for a refresher every three years.
    let expires_on = rng
        .gen_bool(0.3)
        .then(|| issued_on.checked_add_months(Months::new(36)))
        .flatten();
    IssuedCredential {
        kind: CredentialKind::InjectorTraining,
        issuer: pick(rng, context.training_issuers).to_owned(),
        identifier: Some(format!("CERT-{:06}", rng.gen_range(0..1_000_000))),
        jurisdiction: None,
        specialty_code: None,
        issued_on: Some(issued_on),
        expires_on,
        source: SourceType::TrainingProvider,
    }
}

/// A DEA registration (three years) with a well-formed number: registrant type, the initial of
/// the family name, six digits and the DEA check digit.
fn dea_registration(rng: &mut ChaCha8Rng, context: &CredentialContext) -> IssuedCredential {
    let registrant_type = match context.degree {
        Degree::Np | Degree::Pa => 'M',
        _ => pick(rng, &['A', 'B', 'F']),
    };
    let initial = context
        .family_name
        .chars()
        .next()
        .filter(char::is_ascii_alphabetic)
        .map_or('9', |c| c.to_ascii_uppercase());
    let digits: Vec<u32> = (0..6).map(|_| rng.gen_range(0..10)).collect();
    let check = (digits[0] + digits[2] + digits[4] + 2 * (digits[1] + digits[3] + digits[5])) % 10;
    let number: String = digits
        .iter()
        .chain(std::iter::once(&check))
        .map(|d| char::from(b'0' + *d as u8))
        .collect();
    let issued_on = DEMO_TODAY - Duration::days(rng.gen_range(30..1000));
    IssuedCredential {
        kind: CredentialKind::DeaRegistration,
        issuer: "Drug Enforcement Administration".to_owned(),
        identifier: Some(format!("{registrant_type}{initial}{number}")),
        jurisdiction: Some(context.license_state.to_owned()),
        specialty_code: None,
        issued_on: Some(issued_on),
        expires_on: issued_on.checked_add_months(Months::new(36)),
        source: SourceType::Dea,
    }
}

/// The professional degree, from a school in the licence state or another one.
fn education(rng: &mut ChaCha8Rng, context: &CredentialContext) -> IssuedCredential {
    let state = if rng.gen_bool(0.6) {
        context.license_state
    } else {
        pick(rng, &STATE_NAMES[..51]).0
    };
    let state = state_name_as_prefix(state);
    let (issuer, years_before_practice) = match context.degree {
        Degree::Md => (format!("University of {state} School of Medicine"), 4),
        Degree::Do => (format!("{state} College of Osteopathic Medicine"), 4),
        Degree::Np | Degree::Rn => (format!("University of {state} School of Nursing"), 0),
        Degree::Pa => (format!("{state} University Physician Assistant Program"), 0),
        Degree::Dds | Degree::Dmd => (format!("University of {state} School of Dentistry"), 1),
        Degree::Dpm => (format!("{state} College of Podiatric Medicine"), 3),
    };
    IssuedCredential {
        kind: CredentialKind::Education,
        issuer,
        identifier: None,
        jurisdiction: None,
        specialty_code: None,
        issued_on: Some(date(
            context.practice_start_year - years_before_practice,
            5,
            rng.gen_range(15..=31),
        )),
        expires_on: None,
        source: SourceType::EducationInstitution,
    }
}

/// Records the outcome of checking `credential`. A checked credential (verified, rejected or
/// revoked) has a verification time, source and reference; a verified one is due for a recheck
/// when it expires, or three years after the check when it does not expire.
fn record_check(
    rng: &mut ChaCha8Rng,
    credential: IssuedCredential,
    status: VerificationStatus,
    created_at: NaiveDateTime,
) -> NewCredential {
    let mut row = NewCredential {
        provider_id: UNSAVED_ID,
        kind: credential.kind.as_str().to_owned(),
        issuer: credential.issuer,
        identifier: credential.identifier,
        jurisdiction: credential.jurisdiction,
        specialty_code: credential.specialty_code.map(str::to_owned),
        issued_on: credential.issued_on,
        expires_on: credential.expires_on,
        verification_status: status.as_str().to_owned(),
        verified_at: None,
        verified_by_key_id: None,
        verification_source_type: None,
        verification_reference: None,
        next_due_on: None,
        created_at,
        updated_at: created_at,
    };
    if status == VerificationStatus::Unverified {
        return row;
    }
    // Checked after the record existed and the credential was issued, within weeks, and before
    // the credential expired when it was found valid.
    let issued_at = credential.issued_on.map_or(created_at, |day| at(day, 9, 0));
    let earliest = created_at.max(issued_at).min(LAST_VERIFICATION);
    // A reviewer does not verify a credential that had already expired when it was submitted.
    let status = match credential.expires_on {
        Some(expires_on)
            if status == VerificationStatus::Verified && at(expires_on, 17, 0) < earliest =>
        {
            VerificationStatus::Rejected
        }
        _ => status,
    };
    row.verification_status = status.as_str().to_owned();
    let mut latest = LAST_VERIFICATION;
    if status == VerificationStatus::Verified {
        if let Some(expires_on) = credential.expires_on {
            latest = latest.min(at(expires_on, 17, 0));
        }
    }
    let verified_at = time_between(rng, earliest, latest.min(earliest + Duration::days(45)));
    row.verified_at = Some(verified_at);
    row.updated_at = verified_at.max(created_at);
    row.verification_source_type = Some(credential.source.as_str().to_owned());
    row.verification_reference = Some(
        match (
            credential.kind,
            row.identifier.as_deref(),
            row.jurisdiction.as_deref(),
        ) {
            (CredentialKind::StateLicense, Some(number), Some(state)) if rng.gen_bool(0.6) => {
                format!("https://example.org/license-lookup/{state}/{number}")
            }
            _ => format!("doc-{:08x}", rng.gen::<u32>()),
        },
    );
    if status == VerificationStatus::Verified {
        let recheck = verified_at.date().checked_add_months(Months::new(36));
        row.next_due_on = credential.expires_on.or(recheck);
    }
    row
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use diesel::prelude::*;

    use super::*;
    use crate::db::schema::{credentials, providers};
    use crate::demo::seeded;

    #[test]
    fn credentials_are_in_a_realistic_mix_of_states() {
        let (_directory, mut connection, _) = seeded(300, 20261126);
        let verified_licences = || {
            credentials::table
                .inner_join(providers::table)
                .filter(providers::vetting_status.eq("verified"))
                .filter(credentials::kind.eq("state_license"))
                .filter(credentials::verification_status.eq("verified"))
                .select(credentials::provider_id)
                .distinct()
        };
        let current: Vec<i64> = verified_licences()
            .filter(credentials::expires_on.ge(DEMO_TODAY))
            .load(&mut connection)
            .expect("current licences");
        let expired: Vec<i64> = verified_licences()
            .filter(credentials::expires_on.lt(DEMO_TODAY))
            .load(&mut connection)
            .expect("expired licences");
        let expiring: Vec<i64> = verified_licences()
            .filter(credentials::expires_on.between(DEMO_TODAY, DEMO_TODAY + Duration::days(60)))
            .load(&mut connection)
            .expect("expiring licences");
        assert!(
            current.len() > 150,
            "{} verified providers with a current licence",
            current.len()
        );
        assert!(
            !expired.is_empty(),
            "some verified providers' licences have expired"
        );
        assert!(
            !expiring.is_empty(),
            "some verified providers' licences expire within 60 days"
        );

        let with_unverified: Vec<i64> = credentials::table
            .filter(credentials::verification_status.eq("unverified"))
            .select(credentials::provider_id)
            .distinct()
            .load(&mut connection)
            .expect("unverified credentials");
        assert!(!with_unverified.is_empty());

        // Every provider has a licence in a two-letter jurisdiction; every checked credential
        // says when and how it was checked.
        let licences: i64 = credentials::table
            .filter(credentials::kind.eq("state_license"))
            .count()
            .get_result(&mut connection)
            .expect("count licences");
        assert!(licences >= 300);
        let checked_without_source: i64 = credentials::table
            .filter(credentials::verification_status.ne("unverified"))
            .filter(
                credentials::verified_at
                    .is_null()
                    .or(credentials::verification_source_type.is_null()),
            )
            .count()
            .get_result(&mut connection)
            .expect("count checked credentials");
        assert_eq!(checked_without_source, 0);
        let statuses: BTreeSet<String> = providers::table
            .select(providers::vetting_status)
            .distinct()
            .load::<String>(&mut connection)
            .expect("vetting statuses")
            .into_iter()
            .collect();
        assert!(
            statuses.contains("verified") && statuses.contains("pending"),
            "{statuses:?}"
        );
    }
}
