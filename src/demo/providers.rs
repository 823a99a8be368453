//! Planning one provider: who they are, where they practise, what they treat, and their bio.

use std::collections::{HashMap, HashSet};

use chrono::Duration;
use rand::seq::SliceRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::credentials::{plan_credentials, CredentialContext};
use super::generator::{PlannedClinic, PlannedLocation, PlannedProvider};
use super::names::{EXTRA_LANGUAGES, FAMILY_NAMES, GIVEN_NAMES};
use super::taxonomy::{
    practitioner_noun, secondary_specialty_options, treatment_phrase, ClinicTheme,
    TREATMENT_SPECIALTIES,
};
use super::{pick, pick_weighted, time_between, DATASET_BASE};
use crate::db::models::NewProvider;
use crate::domain::{Degree, Npi, VettingStatus};

/// Where a planned provider works.
pub(super) enum Practice {
    /// A site of this clinic, sometimes a second one nearby.
    HomeClinic(usize),
    /// Exactly these sites (the first one's clinic is home).
    Sites(Vec<usize>),
}

pub(super) fn plan_provider(
    rng: &mut ChaCha8Rng,
    clinics: &[PlannedClinic],
    locations: &[PlannedLocation],
    clinics_by_city: &HashMap<usize, Vec<usize>>,
    practice: Practice,
    npi_bases: &mut HashSet<u32>,
) -> PlannedProvider {
    let home_clinic_index = match &practice {
        Practice::HomeClinic(clinic) => *clinic,
        Practice::Sites(sites) => locations[sites[0]].clinic_index,
    };
    let home_clinic = &clinics[home_clinic_index];
    let theme = home_clinic.theme;
    let degree = *pick_weighted(rng, theme.degrees);
    let primary_specialty = match degree {
        Degree::Md | Degree::Do => *pick_weighted(rng, theme.physician_specialties),
        Degree::Dds | Degree::Dmd => *pick_weighted(rng, &[("1223S0112X", 40), ("122300000X", 60)]),
        Degree::Dpm => "213E00000X",
        Degree::Np => "363L00000X",
        Degree::Pa => "363A00000X",
        Degree::Rn => "163W00000X",
    };
    let is_physician = matches!(degree, Degree::Md | Degree::Do);
    let mut secondary_specialties = Vec::new();
    let secondary_options = secondary_specialty_options(primary_specialty);
    if is_physician && !secondary_options.is_empty() && rng.gen_bool(0.25) {
        secondary_specialties.push(pick(rng, secondary_options));
    }

    let given_name = pick(rng, GIVEN_NAMES);
    let family_name = pick(rng, FAMILY_NAMES);
    let npi = unique_npi(rng, npi_bases);
    let practice_start_year: i32 = rng.gen_range(1985..=2024);
    let languages = spoken_languages(rng);
    let accepting_new_patients = rng.gen_bool(0.8);
    let vetting_status = *pick_weighted(
        rng,
        &[
            (VettingStatus::Verified, 75),
            (VettingStatus::Pending, 10),
            (VettingStatus::UnderReview, 8),
            (VettingStatus::Rejected, 4),
            (VettingStatus::Suspended, 3),
        ],
    );
    let created_at = time_between(rng, home_clinic.row.created_at, DATASET_BASE);
    // Reviewed providers were last touched when the review happened.
    let updated_at = match vetting_status {
        VettingStatus::Pending => created_at,
        _ => time_between(rng, created_at, created_at + Duration::days(30)),
    };

    let (home_location, location_indexes) = match practice {
        Practice::Sites(sites) => (sites[0], sites),
        Practice::HomeClinic(_) => {
            let home_location = pick(rng, &home_clinic.location_indexes);
            let mut location_indexes = vec![home_location];
            if rng.gen_bool(0.25) {
                if let Some(second) = second_location(
                    rng,
                    clinics,
                    clinics_by_city,
                    home_clinic_index,
                    home_location,
                ) {
                    location_indexes.push(second);
                }
            }
            (home_location, location_indexes)
        }
    };

    let mut specialties_held = vec![primary_specialty];
    specialties_held.extend(&secondary_specialties);
    let treatments: Vec<(&'static str, Option<i32>)> =
        choose_treatments(rng, &specialties_held, theme)
            .into_iter()
            .map(|code| (code, rng.gen_bool(0.6).then(|| rng.gen_range(20..=600))))
            .collect();

    let title = match degree {
        Degree::Md | Degree::Do | Degree::Dds | Degree::Dmd | Degree::Dpm => {
            format!("Dr. {family_name}")
        }
        _ => format!("{given_name} {family_name}, {degree},"),
    };
    let treated: Vec<&str> = treatments
        .iter()
        .take(3)
        .map(|(code, _)| treatment_phrase(code))
        .collect();
    let noun = practitioner_noun(primary_specialty);
    let article = if noun.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    let bio = format!(
        "{title} is {article} {noun} at {} who treats {} with botulinum toxin and has been in practice since {practice_start_year}.",
        home_clinic.row.name,
        join_phrases(&treated),
    );

    let context = CredentialContext {
        degree,
        family_name,
        primary_specialty,
        secondary_specialties: &secondary_specialties,
        license_state: &locations[home_location].row.state,
        practice_start_year,
        vetting_status,
        created_at,
        training_issuers: theme.training_issuers,
    };
    let credentials = plan_credentials(rng, &context);

    PlannedProvider {
        row: NewProvider {
            npi: npi.as_str().to_owned(),
            given_name: given_name.to_owned(),
            family_name: family_name.to_owned(),
            degree: Some(degree.as_str().to_owned()),
            primary_specialty_code: primary_specialty.to_owned(),
            practice_start_year: Some(practice_start_year),
            languages,
            accepting_new_patients,
            bio: Some(bio),
            vetting_status: vetting_status.as_str().to_owned(),
            external_id: None,
            created_at,
            updated_at,
            credential_text: None,
            date_of_birth: None,
            source: crate::domain::ProviderSource::Import.as_str().to_owned(),
        },
        secondary_specialties,
        location_indexes,
        treatments,
        credentials,
    }
}

/// An NPI not used yet in this dataset. Real NPIs begin with 1 or 2, so the demo's do too.
fn unique_npi(rng: &mut ChaCha8Rng, used_bases: &mut HashSet<u32>) -> Npi {
    loop {
        let base = rng.gen_range(100_000_000..300_000_000);
        if used_bases.insert(base) {
            return Npi::from_base(base);
        }
    }
}

/// A JSON array of ISO 639-1 codes: always English, often one or two more.
fn spoken_languages(rng: &mut ChaCha8Rng) -> String {
    let mut languages = vec!["en"];
    let extra = *pick_weighted(rng, &[(0usize, 60), (1, 32), (2, 8)]);
    while languages.len() < 1 + extra {
        let language = *pick_weighted(rng, EXTRA_LANGUAGES);
        if !languages.contains(&language) {
            languages.push(language);
        }
    }
    serde_json::to_string(&languages).unwrap_or_else(|_| r#"["en"]"#.to_owned())
}

/// Another site of the home clinic, or a site of another clinic in the same city (preferably one
/// with the same theme).
fn second_location(
    rng: &mut ChaCha8Rng,
    clinics: &[PlannedClinic],
    clinics_by_city: &HashMap<usize, Vec<usize>>,
    home_clinic_index: usize,
    home_location: usize,
) -> Option<usize> {
    let home_clinic = &clinics[home_clinic_index];
    let other_sites: Vec<usize> = home_clinic
        .location_indexes
        .iter()
        .copied()
        .filter(|&index| index != home_location)
        .collect();
    if !other_sites.is_empty() && rng.gen_bool(0.6) {
        return Some(pick(rng, &other_sites));
    }
    let neighbours: Vec<usize> = clinics_by_city
        .get(&home_clinic.city_index)
        .map(|indexes| {
            indexes
                .iter()
                .copied()
                .filter(|&index| index != home_clinic_index)
                .collect()
        })
        .unwrap_or_default();
    let same_theme: Vec<usize> = neighbours
        .iter()
        .copied()
        .filter(|&index| std::ptr::eq(clinics[index].theme, home_clinic.theme))
        .collect();
    let chosen_clinic = if !same_theme.is_empty() {
        pick(rng, &same_theme)
    } else if !neighbours.is_empty() && rng.gen_bool(0.5) {
        pick(rng, &neighbours)
    } else {
        return other_sites.first().copied();
    };
    Some(pick(rng, &clinics[chosen_clinic].location_indexes))
}

/// One to five treatments: those the provider's specialties usually treat, the clinic's focus
/// first; for nurses, physician assistants and generalists, the clinic's focus.
fn choose_treatments(
    rng: &mut ChaCha8Rng,
    specialties: &[&str],
    theme: &ClinicTheme,
) -> Vec<&'static str> {
    let mut candidates: Vec<&'static str> = Vec::new();
    for (treatment, specialty) in TREATMENT_SPECIALTIES {
        if specialties.contains(specialty) && !candidates.contains(treatment) {
            candidates.push(treatment);
        }
    }
    if candidates.is_empty() {
        candidates = theme.focus_treatments.to_vec();
    }
    let (mut chosen, mut others): (Vec<&'static str>, Vec<&'static str>) = candidates
        .into_iter()
        .partition(|treatment| theme.focus_treatments.contains(treatment));
    chosen.shuffle(rng);
    others.shuffle(rng);
    chosen.extend(others);
    let count = *pick_weighted(rng, &[(1usize, 20), (2, 30), (3, 25), (4, 15), (5, 10)]);
    chosen.truncate(count.max(1));
    chosen
}

fn join_phrases(phrases: &[&str]) -> String {
    match phrases {
        [] => "patients".to_owned(),
        [only] => (*only).to_owned(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use diesel::prelude::*;

    use super::*;
    use crate::db::schema::providers;
    use crate::demo::seeded;

    #[test]
    fn npis_are_valid_and_unique() {
        let (_directory, mut connection, _) = seeded(300, 11);
        let npis: Vec<String> = providers::table
            .select(providers::npi)
            .load(&mut connection)
            .expect("load NPIs");
        assert_eq!(npis.len(), 300);
        for npi in &npis {
            assert!(Npi::parse(npi).is_ok(), "{npi} is not a valid NPI");
        }
        assert_eq!(npis.iter().collect::<HashSet<_>>().len(), npis.len());
    }
}
