//! The clinical vocabulary: the taxonomy mirrored from the migrations, how a bio names it, the
//! certifying boards, and the clinic themes built on it.

use crate::domain::Degree;

// Mirrored from migrations/sqlite/*_seed_taxonomy/up.sql (a test checks it matches).

/// Which specialties usually treat an indication (`treatment_specialties`).
pub(super) const TREATMENT_SPECIALTIES: &[(&str, &str)] = &[
    ("chronic_migraine", "2084N0400X"),
    ("chronic_migraine", "2084N0402X"),
    ("chronic_migraine", "2081P2900X"),
    ("chronic_migraine", "208VP0014X"),
    ("cervical_dystonia", "2084N0400X"),
    ("cervical_dystonia", "208100000X"),
    ("spasticity_adult", "2084N0400X"),
    ("spasticity_adult", "208100000X"),
    ("spasticity_pediatric", "2084N0402X"),
    ("spasticity_pediatric", "208100000X"),
    ("spasticity_pediatric", "207X00000X"),
    ("blepharospasm", "207W00000X"),
    ("blepharospasm", "2084N0400X"),
    ("strabismus", "207W00000X"),
    ("axillary_hyperhidrosis", "207N00000X"),
    ("overactive_bladder", "208800000X"),
    ("neurogenic_detrusor_overactivity", "208800000X"),
    ("myofascial_back_pain", "2081P2900X"),
    ("myofascial_back_pain", "208100000X"),
    ("myofascial_back_pain", "208VP0014X"),
    ("myofascial_back_pain", "207L00000X"),
    ("tmj_bruxism", "1223S0112X"),
    ("tmj_bruxism", "122300000X"),
    ("tmj_bruxism", "207Y00000X"),
    ("plantar_fasciitis", "213E00000X"),
    ("plantar_fasciitis", "207XX0004X"),
    ("plantar_fasciitis", "208100000X"),
    ("sialorrhea", "2084N0400X"),
    ("sialorrhea", "207Y00000X"),
    ("sialorrhea", "208100000X"),
    ("glabellar_lines", "207N00000X"),
    ("glabellar_lines", "208200000X"),
    ("forehead_lines", "207N00000X"),
    ("forehead_lines", "208200000X"),
    ("lateral_canthal_lines", "207N00000X"),
    ("lateral_canthal_lines", "208200000X"),
    ("lateral_canthal_lines", "207W00000X"),
];

/// How a bio names each treatment.
pub(super) fn treatment_phrase(code: &str) -> &'static str {
    match code {
        "chronic_migraine" => "chronic migraine",
        "cervical_dystonia" => "cervical dystonia",
        "spasticity_adult" => "spasticity after stroke or brain injury",
        "spasticity_pediatric" => "spasticity in children",
        "blepharospasm" => "blepharospasm",
        "strabismus" => "strabismus",
        "axillary_hyperhidrosis" => "severe underarm sweating",
        "overactive_bladder" => "overactive bladder",
        "neurogenic_detrusor_overactivity" => "neurogenic bladder",
        "myofascial_back_pain" => "myofascial back pain",
        "tmj_bruxism" => "jaw pain from TMJ disorders or bruxism",
        "plantar_fasciitis" => "plantar fasciitis",
        "sialorrhea" => "excessive drooling",
        "glabellar_lines" => "frown lines",
        "forehead_lines" => "forehead lines",
        "lateral_canthal_lines" => "crow's feet",
        _ => "conditions that respond to botulinum toxin",
    }
}

/// How a bio names a practitioner of each specialty.
pub(super) fn practitioner_noun(specialty_code: &str) -> &'static str {
    match specialty_code {
        "2084N0400X" => "neurologist",
        "2084N0402X" => "child neurologist",
        "207N00000X" => "dermatologist",
        "2081P2900X" => "pain medicine physician",
        "208100000X" => "physiatrist",
        "208VP0014X" => "interventional pain specialist",
        "207L00000X" => "anesthesiologist",
        "207W00000X" => "ophthalmologist",
        "208800000X" => "urologist",
        "207Y00000X" => "otolaryngologist",
        "208200000X" => "plastic surgeon",
        "207X00000X" => "orthopaedic surgeon",
        "207XX0004X" => "foot and ankle surgeon",
        "213E00000X" => "podiatrist",
        "1223S0112X" => "oral and maxillofacial surgeon",
        "122300000X" => "dentist",
        "207Q00000X" => "family physician",
        "207R00000X" => "internist",
        "208000000X" => "pediatrician",
        "363L00000X" => "nurse practitioner",
        "363A00000X" => "physician assistant",
        "163W00000X" => "registered nurse injector",
        _ => "clinician",
    }
}

/// Specialties a physician with this primary specialty plausibly also holds.
pub(super) fn secondary_specialty_options(primary: &str) -> &'static [&'static str] {
    match primary {
        "2084N0400X" => &["2084N0402X", "208VP0014X", "207R00000X"],
        "2084N0402X" => &["208000000X", "2084N0400X"],
        "207N00000X" => &["208200000X", "207Q00000X"],
        "208100000X" => &["2081P2900X", "208VP0014X"],
        "2081P2900X" => &["208100000X"],
        "208VP0014X" => &["207L00000X", "208100000X"],
        "207L00000X" => &["208VP0014X"],
        "207W00000X" => &["208200000X"],
        "207Y00000X" => &["208200000X"],
        "208200000X" => &["207Y00000X", "207N00000X"],
        "207X00000X" => &["207XX0004X"],
        "207XX0004X" => &["207X00000X"],
        "207Q00000X" => &["207R00000X"],
        "207R00000X" => &["207Q00000X"],
        "1223S0112X" => &["122300000X"],
        _ => &[],
    }
}

/// The certifying boards for a specialty: (ABMS member board, AOA board for DOs).
pub(super) fn certifying_boards(specialty_code: &str) -> Option<(&'static str, &'static str)> {
    Some(match specialty_code {
        "2084N0400X" | "2084N0402X" => (
            "American Board of Psychiatry and Neurology",
            "American Osteopathic Board of Neurology and Psychiatry",
        ),
        "207N00000X" => (
            "American Board of Dermatology",
            "American Osteopathic Board of Dermatology",
        ),
        "208100000X" | "2081P2900X" => (
            "American Board of Physical Medicine and Rehabilitation",
            "American Osteopathic Board of Physical Medicine and Rehabilitation",
        ),
        "208VP0014X" | "207L00000X" => (
            "American Board of Anesthesiology",
            "American Osteopathic Board of Anesthesiology",
        ),
        "207W00000X" => (
            "American Board of Ophthalmology",
            "American Osteopathic Board of Ophthalmology and Otolaryngology",
        ),
        "207Y00000X" => (
            "American Board of Otolaryngology - Head and Neck Surgery",
            "American Osteopathic Board of Ophthalmology and Otolaryngology",
        ),
        "208800000X" => (
            "American Board of Urology",
            "American Osteopathic Board of Surgery",
        ),
        "208200000X" => (
            "American Board of Plastic Surgery",
            "American Osteopathic Board of Surgery",
        ),
        "207X00000X" | "207XX0004X" => (
            "American Board of Orthopaedic Surgery",
            "American Osteopathic Board of Orthopedic Surgery",
        ),
        "207Q00000X" => (
            "American Board of Family Medicine",
            "American Osteopathic Board of Family Physicians",
        ),
        "207R00000X" => (
            "American Board of Internal Medicine",
            "American Osteopathic Board of Internal Medicine",
        ),
        "208000000X" => (
            "American Board of Pediatrics",
            "American Osteopathic Board of Pediatrics",
        ),
        _ => return None,
    })
}

// Clinic themes: what a clinic is known for decides its name, who works there and what they treat.

pub(super) struct ClinicTheme {
    /// How often clinics of this theme occur, relative to the others.
    pub(super) weight: u32,
    /// Name templates; `{city}` and `{surname}` are filled in.
    pub(super) names: &'static [&'static str],
    /// One sentence; `{city}` is filled in.
    pub(super) description: &'static str,
    /// Primary specialties of the physicians (MD/DO) who work here, weighted.
    pub(super) physician_specialties: &'static [(&'static str, u32)],
    /// Degrees of the providers who work here, weighted.
    pub(super) degrees: &'static [(Degree, u32)],
    /// What the clinic is known for; also what its nurses and physician assistants inject.
    pub(super) focus_treatments: &'static [&'static str],
    /// Who teaches the injection courses its providers took.
    pub(super) training_issuers: &'static [&'static str],
}

/// Mostly physicians; nurse practitioners and physician assistants often inject too.
const CLINICAL_TEAM: &[(Degree, u32)] = &[
    (Degree::Md, 58),
    (Degree::Do, 16),
    (Degree::Np, 12),
    (Degree::Pa, 11),
    (Degree::Rn, 3),
];
/// Aesthetic practices lean more on nurse injectors.
const AESTHETIC_TEAM: &[(Degree, u32)] = &[
    (Degree::Md, 46),
    (Degree::Do, 12),
    (Degree::Np, 20),
    (Degree::Pa, 14),
    (Degree::Rn, 8),
];
const DENTAL_TEAM: &[(Degree, u32)] = &[(Degree::Dds, 55), (Degree::Dmd, 45)];
const FOOT_TEAM: &[(Degree, u32)] = &[
    (Degree::Dpm, 75),
    (Degree::Md, 15),
    (Degree::Do, 6),
    (Degree::Pa, 4),
];

/// A `static`, not a `const`: clinics compare their themes by address.
pub(super) static THEMES: &[ClinicTheme] = &[
    ClinicTheme {
        weight: 18,
        names: &[
            "{city} Neurology & Headache Center",
            "{surname} Neurology Associates",
            "Headache & Migraine Institute of {city}",
            "{city} Neuroscience Clinic",
        ],
        description: "Neurologists treating chronic migraine, dystonia and spasticity with botulinum toxin in the {city} area.",
        physician_specialties: &[("2084N0400X", 85), ("2084N0402X", 8), ("208VP0014X", 7)],
        degrees: CLINICAL_TEAM,
        focus_treatments: &["chronic_migraine", "cervical_dystonia", "spasticity_adult", "blepharospasm", "sialorrhea"],
        training_issuers: &[
            "AAN Botulinum Toxin Injection Course",
            "American Headache Society Botulinum Toxin Workshop",
            "Allergan Medical Institute",
        ],
    },
    ClinicTheme {
        weight: 20,
        names: &["{surname} Dermatology", "{city} Dermatology & Skin Care", "{city} Skin & Laser Clinic"],
        description: "Medical and cosmetic dermatology in {city}, including treatment for excessive sweating.",
        physician_specialties: &[("207N00000X", 92), ("208200000X", 5), ("207Q00000X", 3)],
        degrees: CLINICAL_TEAM,
        focus_treatments: &["axillary_hyperhidrosis", "glabellar_lines", "forehead_lines", "lateral_canthal_lines"],
        training_issuers: &["Allergan Medical Institute", "ASDS Neuromodulator Injection Course"],
    },
    ClinicTheme {
        weight: 9,
        names: &[
            "Spasticity & Movement Clinic of {city}",
            "{city} Rehabilitation & Spasticity Center",
            "{city} Movement Disorders Center",
        ],
        description: "Spasticity, dystonia and movement disorder care for adults and children in {city}.",
        physician_specialties: &[("208100000X", 55), ("2084N0400X", 30), ("2084N0402X", 10), ("207X00000X", 5)],
        degrees: CLINICAL_TEAM,
        focus_treatments: &["spasticity_adult", "spasticity_pediatric", "cervical_dystonia", "sialorrhea"],
        training_issuers: &[
            "AAPM&R Spasticity Management Workshop",
            "AAN Botulinum Toxin Injection Course",
            "Allergan Medical Institute",
        ],
    },
    ClinicTheme {
        weight: 12,
        names: &["{city} Pain & Spine", "{surname} Pain Management", "Spine & Pain Institute of {city}"],
        description: "Interventional pain medicine in {city} for chronic headache, back and myofascial pain.",
        physician_specialties: &[("2081P2900X", 35), ("208VP0014X", 30), ("207L00000X", 20), ("208100000X", 15)],
        degrees: CLINICAL_TEAM,
        focus_treatments: &["myofascial_back_pain", "chronic_migraine"],
        training_issuers: &["AAPM Botulinum Toxin for Pain Course", "Allergan Medical Institute"],
    },
    ClinicTheme {
        weight: 7,
        names: &["{city} Eye Associates", "{surname} Eye & Oculoplastics", "{city} Eye Institute"],
        description: "Ophthalmology and oculoplastic care in {city}, including blepharospasm and strabismus treatment.",
        physician_specialties: &[("207W00000X", 100)],
        degrees: CLINICAL_TEAM,
        focus_treatments: &["blepharospasm", "strabismus", "lateral_canthal_lines"],
        training_issuers: &["AAO Oculoplastic Injection Course", "Allergan Medical Institute"],
    },
    ClinicTheme {
        weight: 6,
        names: &["{city} Urology Group", "{surname} Urology & Pelvic Health", "{city} Continence Center"],
        description: "Urology and pelvic health in {city}, including bladder botulinum toxin injections.",
        physician_specialties: &[("208800000X", 100)],
        degrees: CLINICAL_TEAM,
        focus_treatments: &["overactive_bladder", "neurogenic_detrusor_overactivity"],
        training_issuers: &["AUA Intradetrusor Botulinum Toxin Course", "Allergan Medical Institute"],
    },
    ClinicTheme {
        weight: 5,
        names: &["{city} Ear, Nose & Throat", "{surname} ENT & Facial Plastics", "{city} Head & Neck Specialists"],
        description: "Ear, nose and throat care in {city}, including salivary and jaw disorders.",
        physician_specialties: &[("207Y00000X", 100)],
        degrees: CLINICAL_TEAM,
        focus_treatments: &["sialorrhea", "tmj_bruxism"],
        training_issuers: &["AAO-HNS Botulinum Toxin Course", "Allergan Medical Institute"],
    },
    ClinicTheme {
        weight: 14,
        names: &["{city} Aesthetic & Plastic Surgery", "{surname} Plastic Surgery", "{city} Facial Aesthetics"],
        description: "Board-certified aesthetic care in {city}: neuromodulators for frown, forehead and crow's-feet lines.",
        physician_specialties: &[
            ("208200000X", 45),
            ("207N00000X", 30),
            ("207Y00000X", 8),
            ("207Q00000X", 10),
            ("207R00000X", 7),
        ],
        degrees: AESTHETIC_TEAM,
        focus_treatments: &["glabellar_lines", "forehead_lines", "lateral_canthal_lines"],
        training_issuers: &[
            "Allergan Medical Institute",
            "American Academy of Facial Esthetics",
            "National Laser Institute Neurotoxin Training",
        ],
    },
    ClinicTheme {
        weight: 5,
        names: &["{city} Oral & Facial Surgery", "{surname} Family Dentistry & TMJ", "{city} TMJ & Orofacial Pain"],
        description: "Oral surgery and TMJ care in {city}, including treatment for jaw pain and teeth grinding.",
        // Only dentists work here (see DENTAL_TEAM); listed for completeness.
        physician_specialties: &[("207Y00000X", 100)],
        degrees: DENTAL_TEAM,
        focus_treatments: &["tmj_bruxism"],
        training_issuers: &["American Academy of Facial Esthetics", "AAOMS Botulinum Toxin Course"],
    },
    ClinicTheme {
        weight: 4,
        names: &["{city} Foot & Ankle", "{surname} Podiatry", "{city} Foot & Ankle Specialists"],
        description: "Foot and ankle care in {city}, including treatment for chronic heel pain.",
        physician_specialties: &[("207XX0004X", 100)],
        degrees: FOOT_TEAM,
        focus_treatments: &["plantar_fasciitis"],
        training_issuers: &["APMA Botulinum Toxin Workshop"],
    },
];

#[cfg(test)]
mod tests {
    use std::collections::{BTreeSet, HashSet};

    use diesel::prelude::*;

    use super::*;
    use crate::db::schema::{specialties, treatment_specialties};
    use crate::demo::seeded;

    #[test]
    fn the_built_in_taxonomy_matches_the_migration() {
        let (_directory, mut connection, _) = seeded(1, 1);
        let in_database: BTreeSet<(String, String)> = treatment_specialties::table
            .select((
                treatment_specialties::treatment_code,
                treatment_specialties::specialty_code,
            ))
            .load::<(String, String)>(&mut connection)
            .expect("load treatment_specialties")
            .into_iter()
            .collect();
        let built_in: BTreeSet<(String, String)> = TREATMENT_SPECIALTIES
            .iter()
            .map(|(treatment, specialty)| ((*treatment).to_owned(), (*specialty).to_owned()))
            .collect();
        assert_eq!(built_in, in_database);

        let known: HashSet<String> = specialties::table
            .select(specialties::code)
            .load(&mut connection)
            .expect("specialties")
            .into_iter()
            .collect();
        for theme in THEMES {
            for (code, _) in theme.physician_specialties {
                assert!(known.contains(*code), "{code}");
                assert!(certifying_boards(code).is_some(), "no board for {code}");
                for secondary in secondary_specialty_options(code) {
                    assert!(known.contains(*secondary), "{secondary}");
                }
            }
        }
    }
}
