//! The demo dataset: a realistic, deterministic directory of clinics, locations, providers and
//! credentials around real US cities, for trying the API (`seed-demo`, `serve --demo`).
//!
//! Everything is drawn from one ChaCha8 stream seeded by the caller, and every timestamp is an
//! offset from fixed dates (never the wall clock), so the same seed always gives the same rows.
//! Credential expiry is placed around [`DEMO_TODAY`] so the data holds a mix of valid,
//! soon-to-expire and expired licences.
//!
//! The whole dataset is generated in memory first, then written in one write transaction with
//! multi-row inserts.

use std::collections::{HashMap, HashSet};
use std::f64::consts::TAU;

use chrono::{Duration, Months, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rstar::primitives::GeomWithData;
use rstar::RTree;
use serde::Serialize;

use crate::api::error::{ApiError, ApiResult};
use crate::db::models::{
    NewClinic, NewCredential, NewLocation, NewProvider, ProviderLocationRow, ProviderSpecialtyRow,
};
use crate::db::schema::{
    clinics, credentials, locations, provider_locations, provider_specialties, provider_treatments,
    providers,
};
use crate::db::{write_transaction, DbConnection};
use crate::domain::{
    CredentialKind, Degree, Npi, OpeningInterval, SourceType, VerificationStatus, VettingStatus,
    WeeklyHours,
};

/// What [`seed_demo`] inserted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct DemoSummary {
    pub clinics: usize,
    pub locations: usize,
    pub providers: usize,
    pub credentials: usize,
}

/// Generates a realistic dataset of `providers` providers (and about half as many clinics) and
/// inserts it in one write transaction. The same `seed` always gives the same data.
///
/// It always inserts: the caller decides whether the database is empty enough to seed (NPIs are
/// unique, so seeding twice with the same seed fails with a conflict and changes nothing).
pub fn seed_demo(
    connection: &mut DbConnection,
    providers: usize,
    seed: u64,
) -> ApiResult<DemoSummary> {
    if providers == 0 {
        return Ok(DemoSummary::default());
    }
    let dataset = generate(providers, None, seed)?;
    write_transaction(connection, |connection| insert(connection, &dataset))
}

// ---------------------------------------------------------------------------------------------
// Fixed dates: the dataset never reads the clock.

const fn date(year: i32, month: u32, day: u32) -> NaiveDate {
    match NaiveDate::from_ymd_opt(year, month, day) {
        Some(date) => date,
        None => panic!("invalid constant date"),
    }
}

const fn at(date: NaiveDate, hour: u32, minute: u32) -> NaiveDateTime {
    match date.and_hms_opt(hour, minute, 0) {
        Some(time) => time,
        None => panic!("invalid constant time"),
    }
}

/// The "today" credential expiry is relative to: some licences expired before it, some expire
/// within 60 days of it, most long after.
pub const DEMO_TODAY: NaiveDate = date(2026, 11, 26);
/// When the oldest demo records were created.
const HISTORY_START: NaiveDateTime = at(date(2024, 1, 15), 9, 0);
/// When the newest demo records were created.
const DATASET_BASE: NaiveDateTime = at(date(2026, 11, 1), 9, 0);
/// Verifications are recorded no later than the evening before `DEMO_TODAY`.
const LAST_VERIFICATION: NaiveDateTime = at(date(2026, 11, 25), 18, 0);

/// Rows a multi-row INSERT carries: 500 rows × at most 15 columns stays well under SQLite's
/// bound-variable limit (32,766 in the bundled build).
const INSERT_CHUNK_ROWS: usize = 500;

/// Foreign keys of planned rows are filled in at insert time, when the parent's id is known.
const UNSAVED_ID: i64 = 0;

// ---------------------------------------------------------------------------------------------
// Taxonomy, mirrored from migrations/sqlite/*_seed_taxonomy/up.sql (a test checks it matches).

/// Which specialties usually treat an indication (`treatment_specialties`).
const TREATMENT_SPECIALTIES: &[(&str, &str)] = &[
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
fn treatment_phrase(code: &str) -> &'static str {
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
fn practitioner_noun(specialty_code: &str) -> &'static str {
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
fn secondary_specialty_options(primary: &str) -> &'static [&'static str] {
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
fn certifying_boards(specialty_code: &str) -> Option<(&'static str, &'static str)> {
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

// ---------------------------------------------------------------------------------------------
// Clinic themes: what a clinic is known for decides its name, who works there and what they treat.

struct ClinicTheme {
    /// How often clinics of this theme occur, relative to the others.
    weight: u32,
    /// Name templates; `{city}` and `{surname}` are filled in.
    names: &'static [&'static str],
    /// One sentence; `{city}` is filled in.
    description: &'static str,
    /// Primary specialties of the physicians (MD/DO) who work here, weighted.
    physician_specialties: &'static [(&'static str, u32)],
    /// Degrees of the providers who work here, weighted.
    degrees: &'static [(Degree, u32)],
    /// What the clinic is known for; also what its nurses and physician assistants inject.
    focus_treatments: &'static [&'static str],
    /// Who teaches the injection courses its providers took.
    training_issuers: &'static [&'static str],
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
static THEMES: &[ClinicTheme] = &[
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

// ---------------------------------------------------------------------------------------------
// Names and places.

const GIVEN_NAMES: &[&str] = &[
    "James",
    "Maria",
    "Wei",
    "Aisha",
    "Carlos",
    "Priya",
    "Olivia",
    "Mohammed",
    "Sofia",
    "Hiroshi",
    "Ngozi",
    "David",
    "Fatima",
    "Liam",
    "Mei",
    "Jose",
    "Anjali",
    "Emily",
    "Dmitri",
    "Grace",
    "Kwame",
    "Sarah",
    "Minh",
    "Elena",
    "Omar",
    "Rachel",
    "Arjun",
    "Isabella",
    "Michael",
    "Yuki",
    "Chinedu",
    "Hannah",
    "Luis",
    "Soo-jin",
    "Ahmed",
    "Catherine",
    "Rafael",
    "Leila",
    "Thomas",
    "Ana",
    "Benjamin",
    "Nadia",
    "Samuel",
    "Lucia",
    "Daniel",
    "Amara",
    "Andrew",
    "Ingrid",
    "Kenji",
    "Rosa",
    "Jonathan",
    "Zainab",
    "Matthew",
    "Tatiana",
    "Patrick",
    "Esther",
    "Vikram",
    "Chloe",
    "Marcus",
    "Linh",
];

const FAMILY_NAMES: &[&str] = &[
    "Smith",
    "Johnson",
    "Garcia",
    "Nguyen",
    "Kim",
    "Patel",
    "Chen",
    "Williams",
    "Rodriguez",
    "Brown",
    "Lee",
    "Martinez",
    "Okafor",
    "Cohen",
    "Singh",
    "Hernandez",
    "Lopez",
    "Wang",
    "Davis",
    "Miller",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Thompson",
    "Haddad",
    "Mensah",
    "Yamamoto",
    "Kowalski",
    "Rossi",
    "Ivanova",
    "O'Brien",
    "Sanchez",
    "Clark",
    "Ramirez",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "Wright",
    "Scott",
    "Torres",
    "Hill",
    "Flores",
    "Green",
    "Adams",
    "Baker",
    "Rivera",
    "Campbell",
    "Mitchell",
    "Carter",
    "Gupta",
    "Park",
    "Tran",
    "Schwartz",
    "Mueller",
];

const STREET_NAMES: &[&str] = &[
    "Main",
    "Oak",
    "Maple",
    "Cedar",
    "Elm",
    "Washington",
    "Lake",
    "Hill",
    "Park",
    "Pine",
    "Walnut",
    "Sunset",
    "Lincoln",
    "Jefferson",
    "Madison",
    "Franklin",
    "Highland",
    "Riverside",
    "Church",
    "Spring",
    "Center",
    "Broad",
    "Market",
    "Chestnut",
    "Willow",
    "Meadow",
    "Forest",
    "Harbor",
    "Medical Center",
    "University",
];

const STREET_SUFFIXES: &[&str] = &["St", "Ave", "Blvd", "Rd"];

/// Office names for clinics with more than one site; the first site is the main office.
const BRANCH_NAMES: &[&str] = &[
    "North office",
    "South office",
    "East office",
    "West office",
    "Downtown office",
];

/// Extra languages besides English, weighted roughly by how often US clinicians speak them.
const EXTRA_LANGUAGES: &[(&str, u32)] = &[
    ("es", 40),
    ("zh", 12),
    ("vi", 7),
    ("ko", 6),
    ("ru", 6),
    ("fr", 8),
    ("ar", 6),
    ("hi", 8),
    ("pt", 7),
];

const STATE_NAMES: &[(&str, &str)] = &[
    ("AL", "Alabama"),
    ("AK", "Alaska"),
    ("AZ", "Arizona"),
    ("AR", "Arkansas"),
    ("CA", "California"),
    ("CO", "Colorado"),
    ("CT", "Connecticut"),
    ("DE", "Delaware"),
    ("DC", "the District of Columbia"),
    ("FL", "Florida"),
    ("GA", "Georgia"),
    ("HI", "Hawaii"),
    ("ID", "Idaho"),
    ("IL", "Illinois"),
    ("IN", "Indiana"),
    ("IA", "Iowa"),
    ("KS", "Kansas"),
    ("KY", "Kentucky"),
    ("LA", "Louisiana"),
    ("ME", "Maine"),
    ("MD", "Maryland"),
    ("MA", "Massachusetts"),
    ("MI", "Michigan"),
    ("MN", "Minnesota"),
    ("MS", "Mississippi"),
    ("MO", "Missouri"),
    ("MT", "Montana"),
    ("NE", "Nebraska"),
    ("NV", "Nevada"),
    ("NH", "New Hampshire"),
    ("NJ", "New Jersey"),
    ("NM", "New Mexico"),
    ("NY", "New York"),
    ("NC", "North Carolina"),
    ("ND", "North Dakota"),
    ("OH", "Ohio"),
    ("OK", "Oklahoma"),
    ("OR", "Oregon"),
    ("PA", "Pennsylvania"),
    ("RI", "Rhode Island"),
    ("SC", "South Carolina"),
    ("SD", "South Dakota"),
    ("TN", "Tennessee"),
    ("TX", "Texas"),
    ("UT", "Utah"),
    ("VT", "Vermont"),
    ("VA", "Virginia"),
    ("WA", "Washington"),
    ("WV", "West Virginia"),
    ("WI", "Wisconsin"),
    ("WY", "Wyoming"),
    ("PR", "Puerto Rico"),
    ("GU", "Guam"),
    ("VI", "the U.S. Virgin Islands"),
    ("AS", "American Samoa"),
    ("MP", "the Northern Mariana Islands"),
];

fn state_name(code: &str) -> &str {
    STATE_NAMES
        .iter()
        .find(|(state, _)| *state == code)
        .map_or(code, |(_, name)| name)
}

/// "Medical Board of the District of Columbia" but "District of Columbia Board of Nursing".
fn state_name_as_prefix(code: &str) -> &str {
    let name = state_name(code);
    name.strip_prefix("the ").unwrap_or(name)
}

static CITIES_CSV: &str = include_str!("../assets/geo/us_cities.csv");
static ZIP_CENTROIDS_CSV: &str = include_str!("../assets/geo/us_zip_centroids.csv");

/// Location scatter around a city centre: a normal offset with this standard deviation per axis.
const SCATTER_SIGMA_KM: f64 = 5.0;
const KM_PER_DEGREE_LATITUDE: f64 = 111.32;

struct City {
    name: String,
    state: String,
    latitude: f64,
    longitude: f64,
    timezone: String,
}

/// Cities with a cumulative population table, to draw cities in proportion to population.
struct CityTable {
    cities: Vec<City>,
    cumulative_population: Vec<u64>,
}

impl CityTable {
    /// Parses `geonameid,name,state,latitude,longitude,population,timezone`. Rows that do not
    /// parse, lack a population, or name a timezone chrono-tz does not know are skipped.
    fn parse(csv: &str) -> CityTable {
        let mut cities = Vec::new();
        let mut cumulative_population = Vec::new();
        let mut total = 0u64;
        for line in csv.lines().skip(1).filter(|line| !line.trim().is_empty()) {
            let fields = split_csv_line(line);
            let [_, name, state, latitude, longitude, population, timezone] = fields.as_slice()
            else {
                continue;
            };
            let (Ok(latitude), Ok(longitude), Ok(population)) = (
                latitude.trim().parse::<f64>(),
                longitude.trim().parse::<f64>(),
                population.trim().parse::<u64>(),
            ) else {
                continue;
            };
            let plausible = population > 0
                && state.len() == 2
                && !name.is_empty()
                && (-90.0..=90.0).contains(&latitude)
                && (-180.0..=180.0).contains(&longitude)
                && timezone.parse::<chrono_tz::Tz>().is_ok();
            if !plausible {
                continue;
            }
            total += population;
            cumulative_population.push(total);
            cities.push(City {
                name: name.clone(),
                state: state.clone(),
                latitude,
                longitude,
                timezone: timezone.clone(),
            });
        }
        CityTable {
            cities,
            cumulative_population,
        }
    }

    /// A city index, each city as likely as its share of the population.
    fn pick(&self, rng: &mut ChaCha8Rng) -> usize {
        let total = self.cumulative_population.last().copied().unwrap_or(0);
        let draw = rng.gen_range(0..total.max(1));
        // The first city whose running total exceeds the draw.
        self.cumulative_population
            .partition_point(|&running| running <= draw)
            .min(self.cities.len() - 1)
    }
}

/// Splits one CSV line, honouring double quotes (a name such as "Stambaugh, Iron River") and
/// doubled quotes inside them.
fn split_csv_line(line: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut in_quotes = false;
    let mut chars = line.trim_end_matches('\r').chars().peekable();
    while let Some(c) = chars.next() {
        match (c, in_quotes) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', _) => in_quotes = !in_quotes,
            (',', false) => fields.push(std::mem::take(&mut field)),
            _ => field.push(c),
        }
    }
    fields.push(field);
    fields
}

/// ZIP code centroids, to give each location the ZIP code it actually lies in (or near), so a
/// search near a ZIP code finds the demo clinics there.
struct ZipIndex {
    /// Points are unit vectors: the nearest in straight-line distance is the nearest on the sphere.
    tree: RTree<GeomWithData<[f64; 3], usize>>,
    codes: Vec<&'static str>,
}

impl ZipIndex {
    fn parse(csv: &'static str) -> ZipIndex {
        let mut codes = Vec::new();
        let mut points = Vec::new();
        for line in csv.lines().skip(1) {
            let mut fields = line.trim_end_matches('\r').split(',');
            let (Some(code), Some(latitude), Some(longitude)) =
                (fields.next(), fields.next(), fields.next())
            else {
                continue;
            };
            let (Ok(latitude), Ok(longitude)) = (
                latitude.trim().parse::<f64>(),
                longitude.trim().parse::<f64>(),
            ) else {
                continue;
            };
            if code.len() != 5 || !code.bytes().all(|b| b.is_ascii_digit()) {
                continue;
            }
            points.push(GeomWithData::new(
                unit_vector(latitude, longitude),
                codes.len(),
            ));
            codes.push(code);
        }
        ZipIndex {
            tree: RTree::bulk_load(points),
            codes,
        }
    }

    /// The ZIP code whose centroid is nearest, preferring one of `state` (near a border the
    /// nearest centroid can lie across it).
    fn nearest_in_state(&self, latitude: f64, longitude: f64, state: &str) -> Option<&'static str> {
        let point = unit_vector(latitude, longitude);
        let nearby: Vec<&'static str> = self
            .tree
            .nearest_neighbor_iter(&point)
            .take(32)
            .filter_map(|zip| self.codes.get(zip.data).copied())
            .collect();
        nearby
            .iter()
            .copied()
            .find(|code| zip_state(code) == Some(state))
            .or_else(|| nearby.first().copied())
    }
}

/// USPS ZIP code prefixes (first three digits) by state: `(first, last, state)`.
#[rustfmt::skip]
const ZIP_PREFIX_STATES: &[(u16, u16, &str)] = &[
    (5, 5, "NY"), (6, 7, "PR"), (8, 8, "VI"), (9, 9, "PR"), (10, 27, "MA"), (28, 29, "RI"), (30, 38, "NH"),
    (39, 49, "ME"), (50, 54, "VT"), (55, 55, "MA"), (56, 59, "VT"), (60, 69, "CT"), (70, 89, "NJ"),
    (100, 149, "NY"), (150, 196, "PA"), (197, 199, "DE"), (200, 200, "DC"), (201, 201, "VA"), (202, 205, "DC"),
    (206, 219, "MD"), (220, 246, "VA"), (247, 268, "WV"), (270, 289, "NC"), (290, 299, "SC"), (300, 319, "GA"),
    (320, 349, "FL"), (350, 369, "AL"), (370, 385, "TN"), (386, 397, "MS"), (398, 399, "GA"), (400, 427, "KY"),
    (430, 459, "OH"), (460, 479, "IN"), (480, 499, "MI"), (500, 528, "IA"), (530, 549, "WI"), (550, 567, "MN"),
    (569, 569, "DC"), (570, 577, "SD"), (580, 588, "ND"), (590, 599, "MT"), (600, 629, "IL"), (630, 658, "MO"),
    (660, 679, "KS"), (680, 693, "NE"), (700, 714, "LA"), (716, 729, "AR"), (730, 732, "OK"), (733, 733, "TX"),
    (734, 749, "OK"), (750, 799, "TX"), (800, 816, "CO"), (820, 831, "WY"), (832, 838, "ID"), (840, 847, "UT"),
    (850, 865, "AZ"), (870, 884, "NM"), (885, 885, "TX"), (889, 898, "NV"), (900, 961, "CA"), (967, 968, "HI"),
    (969, 969, "GU"), (970, 979, "OR"), (980, 994, "WA"), (995, 999, "AK"),
];

fn zip_state(zip: &str) -> Option<&'static str> {
    let prefix: u16 = zip.get(..3)?.parse().ok()?;
    ZIP_PREFIX_STATES
        .iter()
        .find(|(first, last, _)| (*first..=*last).contains(&prefix))
        .map(|(_, _, state)| *state)
}

fn unit_vector(latitude: f64, longitude: f64) -> [f64; 3] {
    let (lat, lon) = (latitude.to_radians(), longitude.to_radians());
    [lat.cos() * lon.cos(), lat.cos() * lon.sin(), lat.sin()]
}

// ---------------------------------------------------------------------------------------------
// The generated dataset, before it has ids.

struct PlannedClinic {
    row: NewClinic,
    theme: &'static ClinicTheme,
    city_index: usize,
    /// Indexes into `Dataset::locations`.
    location_indexes: Vec<usize>,
}

struct PlannedLocation {
    /// Index into `Dataset::clinics`; `row.clinic_id` is filled in at insert time.
    clinic_index: usize,
    row: NewLocation,
}

struct PlannedProvider {
    row: NewProvider,
    secondary_specialties: Vec<&'static str>,
    /// Indexes into `Dataset::locations`.
    location_indexes: Vec<usize>,
    /// Treatment code and annual volume, when recorded.
    treatments: Vec<(&'static str, Option<i32>)>,
    /// `provider_id` is filled in at insert time.
    credentials: Vec<NewCredential>,
}

struct Dataset {
    clinics: Vec<PlannedClinic>,
    locations: Vec<PlannedLocation>,
    providers: Vec<PlannedProvider>,
}

/// `location_target`: generate about this many locations (clinics follow from it) instead of the
/// default of one clinic per two providers; when providers are fewer than locations, each
/// provider practises at several neighbouring sites so that every location has a provider.
fn generate(
    provider_count: usize,
    location_target: Option<usize>,
    seed: u64,
) -> ApiResult<Dataset> {
    let cities = CityTable::parse(CITIES_CSV);
    if cities.cities.is_empty() {
        return Err(ApiError::internal("the embedded city list is empty"));
    }
    let zips = ZipIndex::parse(ZIP_CENTROIDS_CSV);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);

    let mut clinics = Vec::new();
    let mut locations = Vec::new();
    match location_target {
        Some(target) => {
            while locations.len() < target.max(1) {
                plan_clinic(&mut rng, &cities, &zips, &mut clinics, &mut locations);
            }
        }
        None => {
            for _ in 0..(provider_count / 2).max(1) {
                plan_clinic(&mut rng, &cities, &zips, &mut clinics, &mut locations);
            }
        }
    }
    let clinic_count = clinics.len();

    // Clinics in each city, to find a provider's second practice nearby.
    let mut clinics_by_city: HashMap<usize, Vec<usize>> = HashMap::new();
    for (index, clinic) in clinics.iter().enumerate() {
        clinics_by_city
            .entry(clinic.city_index)
            .or_default()
            .push(index);
    }

    let mut practices: Vec<Practice> = if provider_count >= locations.len() {
        // Every clinic gets at least one provider; the rest join clinics at random.
        let mut home_clinics: Vec<usize> = (0..clinic_count).collect();
        home_clinics.extend((clinic_count..provider_count).map(|_| rng.gen_range(0..clinic_count)));
        home_clinics.truncate(provider_count);
        home_clinics.into_iter().map(Practice::HomeClinic).collect()
    } else {
        // Fewer providers than sites: deal the sites, city by city, into one run of neighbouring
        // sites per provider, so every site has a provider and nobody commutes across the country.
        let mut sites: Vec<usize> = (0..locations.len()).collect();
        sites.sort_by_key(|&site| (clinics[locations[site].clinic_index].city_index, site));
        let per_provider = sites.len() as f64 / provider_count.max(1) as f64;
        (0..provider_count)
            .map(|n| {
                let start = (n as f64 * per_provider) as usize;
                let end = (((n + 1) as f64 * per_provider) as usize).min(sites.len());
                Practice::Sites(sites[start..end.max(start + 1)].to_vec())
            })
            .collect()
    };
    practices.shuffle(&mut rng);

    let mut npi_bases = HashSet::with_capacity(provider_count);
    let mut providers = Vec::with_capacity(provider_count);
    for practice in practices {
        let provider = plan_provider(
            &mut rng,
            &clinics,
            &locations,
            &clinics_by_city,
            practice,
            &mut npi_bases,
        );
        providers.push(provider);
    }
    Ok(Dataset {
        clinics,
        locations,
        providers,
    })
}

fn plan_clinic(
    rng: &mut ChaCha8Rng,
    cities: &CityTable,
    zips: &ZipIndex,
    clinics: &mut Vec<PlannedClinic>,
    locations: &mut Vec<PlannedLocation>,
) {
    let clinic_index = clinics.len();
    let theme = pick_theme(rng);
    let city_index = cities.pick(rng);
    let city = &cities.cities[city_index];
    let founder = pick(rng, FAMILY_NAMES);
    let name = pick(rng, theme.names)
        .replace("{city}", &city.name)
        .replace("{surname}", founder);
    let area_code = area_code(rng);
    let website = rng
        .gen_bool(0.85)
        .then(|| format!("https://{}.example.com", slug(&name)));
    let created_at = time_between(rng, HISTORY_START, DATASET_BASE);
    let hours = opening_hours(rng);

    let site_count = *pick_weighted(rng, &[(1usize, 72), (2, 20), (3, 8)]);
    let mut branch_names = BRANCH_NAMES.to_vec();
    branch_names.shuffle(rng);
    let mut location_indexes = Vec::with_capacity(site_count);
    for site in 0..site_count {
        let (latitude, longitude) = scatter_around(rng, city.latitude, city.longitude);
        let postal_code = match zips.nearest_in_state(latitude, longitude, &city.state) {
            Some(code) => code.to_owned(),
            None => format!("{:05}", rng.gen_range(10_000..99_999)),
        };
        let site_name = match (site_count, site) {
            (1, _) => None,
            (_, 0) => Some("Main office".to_owned()),
            (_, n) => Some(branch_names[n - 1].to_owned()),
        };
        let address_line2 = match rng.gen_range(0..100) {
            0..45 => Some(format!("Suite {}", rng.gen_range(100..=999))),
            45..55 => Some(format!("Floor {}", rng.gen_range(2..=12))),
            _ => None,
        };
        // Branches sometimes keep their own hours.
        let site_hours = if site > 0 && rng.gen_bool(0.3) {
            opening_hours(rng)
        } else {
            hours.clone()
        };
        location_indexes.push(locations.len());
        locations.push(PlannedLocation {
            clinic_index,
            row: NewLocation {
                clinic_id: UNSAVED_ID,
                name: site_name,
                address_line1: format!(
                    "{} {} {}",
                    rng.gen_range(100..=9899),
                    pick(rng, STREET_NAMES),
                    pick(rng, STREET_SUFFIXES)
                ),
                address_line2,
                city: city.name.clone(),
                state: city.state.clone(),
                postal_code,
                country: "US".to_owned(),
                latitude,
                longitude,
                timezone: city.timezone.clone(),
                opening_hours: serde_json::to_string(&site_hours)
                    .unwrap_or_else(|_| "{}".to_owned()),
                phone: Some(demo_phone(rng, area_code)),
                external_id: None,
                created_at,
                updated_at: created_at,
            },
        });
    }

    clinics.push(PlannedClinic {
        row: NewClinic {
            name,
            website,
            phone: Some(demo_phone(rng, area_code)),
            description: Some(theme.description.replace("{city}", &city.name)),
            external_id: None,
            created_at,
            updated_at: created_at,
        },
        theme,
        city_index,
        location_indexes,
    });
}

fn pick_theme(rng: &mut ChaCha8Rng) -> &'static ClinicTheme {
    let total: u32 = THEMES.iter().map(|theme| theme.weight).sum();
    let mut draw = rng.gen_range(0..total);
    for theme in THEMES {
        if draw < theme.weight {
            return theme;
        }
        draw -= theme.weight;
    }
    &THEMES[0]
}

/// Typical weekday hours, with some variety: lunch breaks, Saturday mornings, a late Thursday,
/// an early Friday.
fn opening_hours(rng: &mut ChaCha8Rng) -> WeeklyHours {
    let opens = *pick_weighted(rng, &[("08:00", 4), ("08:30", 2), ("09:00", 4)]);
    let closes = *pick_weighted(rng, &[("17:00", 5), ("17:30", 2), ("18:00", 3)]);
    let lunch_break = rng.gen_bool(0.2);
    let saturday_morning = rng.gen_bool(0.2);
    let late_thursday = rng.gen_bool(0.1);
    let early_friday = rng.gen_bool(0.15);
    let interval = |opens: &str, closes: &str| OpeningInterval {
        opens: opens.to_owned(),
        closes: closes.to_owned(),
    };
    let day = |closes: &str| {
        if lunch_break {
            vec![interval(opens, "12:00"), interval("13:00", closes)]
        } else {
            vec![interval(opens, closes)]
        }
    };
    WeeklyHours {
        mon: day(closes),
        tue: day(closes),
        wed: day(closes),
        thu: day(if late_thursday { "19:00" } else { closes }),
        fri: day(if early_friday { "15:00" } else { closes }),
        sat: if saturday_morning {
            vec![interval("09:00", "13:00")]
        } else {
            Vec::new()
        },
        sun: Vec::new(),
    }
}

/// Where a planned provider works.
enum Practice {
    /// A site of this clinic, sometimes a second one nearby.
    HomeClinic(usize),
    /// Exactly these sites (the first one's clinic is home).
    Sites(Vec<usize>),
}

fn plan_provider(
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
            degree: degree.as_str().to_owned(),
            primary_specialty_code: primary_specialty.to_owned(),
            practice_start_year: Some(practice_start_year),
            languages,
            accepting_new_patients,
            bio: Some(bio),
            vetting_status: vetting_status.as_str().to_owned(),
            external_id: None,
            created_at,
            updated_at,
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

// ---------------------------------------------------------------------------------------------
// Credentials.

struct CredentialContext<'a> {
    degree: Degree,
    family_name: &'a str,
    primary_specialty: &'static str,
    secondary_specialties: &'a [&'static str],
    license_state: &'a str,
    practice_start_year: i32,
    vetting_status: VettingStatus,
    created_at: NaiveDateTime,
    training_issuers: &'static [&'static str],
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

fn plan_credentials(rng: &mut ChaCha8Rng, context: &CredentialContext) -> Vec<NewCredential> {
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

// ---------------------------------------------------------------------------------------------
// Small random helpers.

fn pick<T: Copy>(rng: &mut ChaCha8Rng, options: &[T]) -> T {
    options[rng.gen_range(0..options.len())]
}

fn pick_weighted<'a, T>(rng: &mut ChaCha8Rng, options: &'a [(T, u32)]) -> &'a T {
    let total: u32 = options.iter().map(|(_, weight)| weight).sum();
    let mut draw = rng.gen_range(0..total.max(1));
    for (value, weight) in options {
        if draw < *weight {
            return value;
        }
        draw -= weight;
    }
    &options[options.len() - 1].0
}

/// A time in `[start, end]`, whole seconds (`start` when the range is empty).
fn time_between(rng: &mut ChaCha8Rng, start: NaiveDateTime, end: NaiveDateTime) -> NaiveDateTime {
    let span = (end - start).num_seconds();
    if span <= 0 {
        return start;
    }
    start + Duration::seconds(rng.gen_range(0..=span))
}

/// A point near a city centre: a normal offset of `SCATTER_SIGMA_KM` north and east (Box–Muller),
/// rounded to 6 decimals (about 10 cm).
fn scatter_around(rng: &mut ChaCha8Rng, latitude: f64, longitude: f64) -> (f64, f64) {
    // 1 - [0, 1) is (0, 1]: the logarithm stays finite.
    let uniform_radius: f64 = 1.0 - rng.gen::<f64>();
    let uniform_angle: f64 = rng.gen();
    let radius = (-2.0 * uniform_radius.ln()).sqrt();
    let (north, east) = (
        radius * (TAU * uniform_angle).cos(),
        radius * (TAU * uniform_angle).sin(),
    );
    let km_per_degree_longitude = KM_PER_DEGREE_LATITUDE * latitude.to_radians().cos().max(0.01);
    let new_latitude =
        (latitude + north * SCATTER_SIGMA_KM / KM_PER_DEGREE_LATITUDE).clamp(-90.0, 90.0);
    let new_longitude =
        wrap_longitude(longitude + east * SCATTER_SIGMA_KM / km_per_degree_longitude);
    (
        round_to_micro_degrees(new_latitude),
        round_to_micro_degrees(new_longitude),
    )
}

fn wrap_longitude(longitude: f64) -> f64 {
    if (-180.0..=180.0).contains(&longitude) {
        longitude
    } else {
        (longitude + 180.0).rem_euclid(360.0) - 180.0
    }
}

fn round_to_micro_degrees(degrees: f64) -> f64 {
    (degrees * 1e6).round() / 1e6
}

/// A North American area code: 2–9, then not 9 (reserved), and not an N11 service code.
fn area_code(rng: &mut ChaCha8Rng) -> u32 {
    loop {
        let code = rng.gen_range(201..=989);
        if code % 100 != 11 && (code / 10) % 10 != 9 {
            return code;
        }
    }
}

/// 555-0100 to 555-0199 are reserved for fiction: these numbers reach nobody.
fn demo_phone(rng: &mut ChaCha8Rng, area_code: u32) -> String {
    format!("+1-{area_code}-555-01{:02}", rng.gen_range(0..100))
}

/// "St. Mary's Eye & Skin" → "st-mary-s-eye-skin".
fn slug(text: &str) -> String {
    let mut slug = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    slug.trim_end_matches('-')
        .chars()
        .take(60)
        .collect::<String>()
        .trim_end_matches('-')
        .to_owned()
}

// ---------------------------------------------------------------------------------------------
// Inserting.

fn insert(connection: &mut DbConnection, dataset: &Dataset) -> ApiResult<DemoSummary> {
    let clinic_ids = insert_clinics(connection, &dataset.clinics)?;
    let location_ids = insert_locations(connection, &dataset.locations, &clinic_ids)?;
    let provider_ids = insert_providers(connection, &dataset.providers)?;
    insert_provider_links(connection, &dataset.providers, &provider_ids, &location_ids)?;
    let credential_count = insert_credentials(connection, &dataset.providers, &provider_ids)?;
    Ok(DemoSummary {
        clinics: clinic_ids.len(),
        locations: location_ids.len(),
        providers: provider_ids.len(),
        credentials: credential_count,
    })
}

// The rows are inserted as tuples of `column.eq(value)` rather than as the `New*` structs: diesel
// inserts structs with `Option` fields on SQLite one row at a time (a `None` means DEFAULT, which
// SQLite's VALUES lacks), while tuples go in as one multi-row INSERT per chunk.

/// SQLite does not promise RETURNING rows in VALUES order, but AUTOINCREMENT gives each row of a
/// multi-row INSERT a larger id than the row before it, so sorting the ids restores input order.
fn in_insertion_order(mut ids: Vec<i64>, expected: usize) -> ApiResult<Vec<i64>> {
    if ids.len() != expected {
        return Err(ApiError::internal(format!(
            "inserted {expected} rows but got {} ids back",
            ids.len()
        )));
    }
    ids.sort_unstable();
    Ok(ids)
}

fn insert_clinics(connection: &mut DbConnection, clinics: &[PlannedClinic]) -> ApiResult<Vec<i64>> {
    let mut ids = Vec::with_capacity(clinics.len());
    for chunk in clinics.chunks(INSERT_CHUNK_ROWS) {
        let values: Vec<_> = chunk
            .iter()
            .map(|PlannedClinic { row, .. }| {
                (
                    clinics::name.eq(row.name.as_str()),
                    clinics::website.eq(row.website.as_deref()),
                    clinics::phone.eq(row.phone.as_deref()),
                    clinics::description.eq(row.description.as_deref()),
                    clinics::external_id.eq(row.external_id.as_deref()),
                    clinics::created_at.eq(row.created_at),
                    clinics::updated_at.eq(row.updated_at),
                )
            })
            .collect();
        let inserted: Vec<i64> =
            crate::with_backend!(connection, |connection| diesel::insert_into(clinics::table)
                .values(values)
                .returning(clinics::id)
                .get_results(connection))?;
        ids.extend(in_insertion_order(inserted, chunk.len())?);
    }
    Ok(ids)
}

fn insert_locations(
    connection: &mut DbConnection,
    locations: &[PlannedLocation],
    clinic_ids: &[i64],
) -> ApiResult<Vec<i64>> {
    let mut ids = Vec::with_capacity(locations.len());
    for chunk in locations.chunks(INSERT_CHUNK_ROWS) {
        let values: Vec<_> = chunk
            .iter()
            .map(|PlannedLocation { clinic_index, row }| {
                (
                    locations::clinic_id.eq(clinic_ids[*clinic_index]),
                    locations::name.eq(row.name.as_deref()),
                    locations::address_line1.eq(row.address_line1.as_str()),
                    locations::address_line2.eq(row.address_line2.as_deref()),
                    locations::city.eq(row.city.as_str()),
                    locations::state.eq(row.state.as_str()),
                    locations::postal_code.eq(row.postal_code.as_str()),
                    locations::country.eq(row.country.as_str()),
                    locations::latitude.eq(row.latitude),
                    locations::longitude.eq(row.longitude),
                    locations::timezone.eq(row.timezone.as_str()),
                    locations::opening_hours.eq(row.opening_hours.as_str()),
                    locations::phone.eq(row.phone.as_deref()),
                    locations::created_at.eq(row.created_at),
                    locations::updated_at.eq(row.updated_at),
                )
            })
            .collect();
        let inserted: Vec<i64> =
            crate::with_backend!(connection, |connection| diesel::insert_into(
                locations::table
            )
            .values(values)
            .returning(locations::id)
            .get_results(connection))?;
        ids.extend(in_insertion_order(inserted, chunk.len())?);
    }
    Ok(ids)
}

fn insert_providers(
    connection: &mut DbConnection,
    planned: &[PlannedProvider],
) -> ApiResult<Vec<i64>> {
    let mut ids = Vec::with_capacity(planned.len());
    for chunk in planned.chunks(INSERT_CHUNK_ROWS) {
        let values: Vec<_> = chunk
            .iter()
            .map(|PlannedProvider { row, .. }| {
                (
                    providers::npi.eq(row.npi.as_str()),
                    providers::given_name.eq(row.given_name.as_str()),
                    providers::family_name.eq(row.family_name.as_str()),
                    providers::degree.eq(row.degree.as_str()),
                    providers::primary_specialty_code.eq(row.primary_specialty_code.as_str()),
                    providers::practice_start_year.eq(row.practice_start_year),
                    providers::languages.eq(row.languages.as_str()),
                    providers::accepting_new_patients.eq(row.accepting_new_patients),
                    providers::bio.eq(row.bio.as_deref()),
                    providers::vetting_status.eq(row.vetting_status.as_str()),
                    providers::external_id.eq(row.external_id.as_deref()),
                    providers::created_at.eq(row.created_at),
                    providers::updated_at.eq(row.updated_at),
                )
            })
            .collect();
        let inserted: Vec<i64> =
            crate::with_backend!(connection, |connection| diesel::insert_into(
                providers::table
            )
            .values(values)
            .returning(providers::id)
            .get_results(connection))?;
        ids.extend(in_insertion_order(inserted, chunk.len())?);
    }
    Ok(ids)
}

/// Secondary specialties, practice locations and treatments.
fn insert_provider_links(
    connection: &mut DbConnection,
    planned: &[PlannedProvider],
    provider_ids: &[i64],
    location_ids: &[i64],
) -> ApiResult<()> {
    let mut specialty_rows = Vec::new();
    let mut location_rows = Vec::new();
    let mut treatment_rows = Vec::new();
    for (provider, &provider_id) in planned.iter().zip(provider_ids) {
        let created_at = provider.row.created_at;
        for &specialty_code in &provider.secondary_specialties {
            specialty_rows.push(ProviderSpecialtyRow {
                provider_id,
                specialty_code: specialty_code.to_owned(),
            });
        }
        for &location_index in &provider.location_indexes {
            location_rows.push(ProviderLocationRow {
                provider_id,
                location_id: location_ids[location_index],
                created_at,
            });
        }
        for &(treatment_code, annual_volume) in &provider.treatments {
            treatment_rows.push((
                provider_treatments::provider_id.eq(provider_id),
                provider_treatments::treatment_code.eq(treatment_code),
                provider_treatments::annual_volume.eq(annual_volume),
                provider_treatments::created_at.eq(created_at),
            ));
        }
    }
    for chunk in specialty_rows.chunks(INSERT_CHUNK_ROWS) {
        crate::with_backend!(connection, |connection| diesel::insert_into(
            provider_specialties::table
        )
        .values(chunk)
        .execute(connection))?;
    }
    for chunk in location_rows.chunks(INSERT_CHUNK_ROWS) {
        crate::with_backend!(connection, |connection| diesel::insert_into(
            provider_locations::table
        )
        .values(chunk)
        .execute(connection))?;
    }
    for chunk in treatment_rows.chunks(INSERT_CHUNK_ROWS) {
        crate::with_backend!(connection, |connection| diesel::insert_into(
            provider_treatments::table
        )
        .values(chunk.to_vec())
        .execute(connection))?;
    }
    Ok(())
}

fn insert_credentials(
    connection: &mut DbConnection,
    planned: &[PlannedProvider],
    provider_ids: &[i64],
) -> ApiResult<usize> {
    let rows: Vec<(i64, &NewCredential)> = planned
        .iter()
        .zip(provider_ids)
        .flat_map(|(provider, &provider_id)| {
            provider
                .credentials
                .iter()
                .map(move |credential| (provider_id, credential))
        })
        .collect();
    for chunk in rows.chunks(INSERT_CHUNK_ROWS) {
        // `verified_by_key_id` is left out: no API key recorded these checks (NULL).
        let values: Vec<_> = chunk
            .iter()
            .map(|&(provider_id, row)| {
                (
                    credentials::provider_id.eq(provider_id),
                    credentials::kind.eq(row.kind.as_str()),
                    credentials::issuer.eq(row.issuer.as_str()),
                    credentials::identifier.eq(row.identifier.as_deref()),
                    credentials::jurisdiction.eq(row.jurisdiction.as_deref()),
                    credentials::specialty_code.eq(row.specialty_code.as_deref()),
                    credentials::issued_on.eq(row.issued_on),
                    credentials::expires_on.eq(row.expires_on),
                    credentials::verification_status.eq(row.verification_status.as_str()),
                    credentials::verified_at.eq(row.verified_at),
                    credentials::verification_source_type
                        .eq(row.verification_source_type.as_deref()),
                    credentials::verification_reference.eq(row.verification_reference.as_deref()),
                    credentials::next_due_on.eq(row.next_due_on),
                    credentials::created_at.eq(row.created_at),
                    credentials::updated_at.eq(row.updated_at),
                )
            })
            .collect();
        crate::with_backend!(connection, |connection| diesel::insert_into(
            credentials::table
        )
        .values(values)
        .execute(connection))?;
    }
    Ok(rows.len())
}

// ---------------------------------------------------------------------------------------------
// The same dataset as an import file, for `clinic-finder generate` and the benchmarks.

/// Writes the dataset for `providers` and `seed` as NDJSON in the format `clinic-finder import`
/// reads (clinics, then locations, then providers, then credentials), with external ids
/// `C{n}`/`L{n}`. Vetting state is included: import it with `--trusted-source`.
pub fn write_import_file(
    mut output: impl std::io::Write,
    providers: usize,
    locations: Option<usize>,
    seed: u64,
) -> std::io::Result<DemoSummary> {
    let dataset =
        generate(providers, locations, seed).map_err(|e| std::io::Error::other(e.to_string()))?;
    let mut summary = DemoSummary {
        clinics: dataset.clinics.len(),
        locations: dataset.locations.len(),
        providers: dataset.providers.len(),
        credentials: 0,
    };
    let mut line = |value: serde_json::Value| -> std::io::Result<()> {
        serde_json::to_writer(&mut output, &value)?;
        output.write_all(b"\n")
    };
    for (index, clinic) in dataset.clinics.iter().enumerate() {
        let row = &clinic.row;
        line(serde_json::json!({
            "type": "clinic", "external_id": format!("C{index}"), "name": row.name,
            "website": row.website, "phone": row.phone, "description": row.description,
        }))?;
    }
    for (index, location) in dataset.locations.iter().enumerate() {
        let row = &location.row;
        let hours: serde_json::Value = serde_json::from_str(&row.opening_hours).unwrap_or_default();
        line(serde_json::json!({
            "type": "location", "external_id": format!("L{index}"), "clinic_external_id": format!("C{}", location.clinic_index),
            "name": row.name, "address_line1": row.address_line1, "address_line2": row.address_line2, "city": row.city,
            "state": row.state, "postal_code": row.postal_code, "country": row.country, "latitude": row.latitude,
            "longitude": row.longitude, "timezone": row.timezone, "opening_hours": hours, "phone": row.phone,
        }))?;
    }
    for provider in &dataset.providers {
        let row = &provider.row;
        let languages: serde_json::Value = serde_json::from_str(&row.languages).unwrap_or_default();
        let treatments: Vec<serde_json::Value> = provider
            .treatments
            .iter()
            .map(|(code, volume)| serde_json::json!({"code": code, "annual_volume": volume}))
            .collect();
        line(serde_json::json!({
            "type": "provider", "npi": row.npi, "given_name": row.given_name, "family_name": row.family_name,
            "degree": row.degree, "primary_specialty_code": row.primary_specialty_code,
            "other_specialty_codes": provider.secondary_specialties, "practice_start_year": row.practice_start_year,
            "languages": languages, "accepting_new_patients": row.accepting_new_patients, "bio": row.bio,
            "vetting_status": row.vetting_status,
            "location_external_ids": provider.location_indexes.iter().map(|i| format!("L{i}")).collect::<Vec<_>>(),
            "treatments": treatments,
        }))?;
    }
    for provider in &dataset.providers {
        for (position, credential) in provider.credentials.iter().enumerate() {
            summary.credentials += 1;
            // The importer recognises a credential by (provider, kind, issuer, identifier): give
            // the ones without an identifier a stable one so that a re-import matches them.
            let identifier = credential
                .identifier
                .clone()
                .unwrap_or_else(|| format!("{}-{position}", credential.kind));
            let mut record = serde_json::json!({
                "type": "credential", "provider_npi": provider.row.npi, "kind": credential.kind, "issuer": credential.issuer,
                "identifier": identifier, "jurisdiction": credential.jurisdiction,
                "specialty_code": credential.specialty_code, "issued_on": credential.issued_on, "expires_on": credential.expires_on,
            });
            if let (Some(verified_at), Some(source)) =
                (credential.verified_at, &credential.verification_source_type)
            {
                record["verification"] = serde_json::json!({
                    "status": credential.verification_status, "verified_at": verified_at, "source_type": source,
                    "reference": credential.verification_reference.clone().unwrap_or_else(|| "demo".to_owned()),
                    "next_due_on": credential.next_due_on,
                });
            }
            line(record)?;
        }
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::db::schema::{specialties, treatment_specialties};
    use crate::db::{Database, PooledDb};

    /// A fresh migrated database in a temporary directory (kept alive by the returned guard).
    fn seeded(providers: usize, seed: u64) -> (tempfile::TempDir, PooledDb, DemoSummary) {
        let directory = tempfile::tempdir().expect("temporary directory");
        let path = directory.path().join("demo.sqlite3");
        let database = Database::connect(
            path.to_str().expect("UTF-8 path"),
            2,
            std::time::Duration::from_secs(5),
        )
        .expect("open the database");
        let mut connection = database.connection().expect("a connection");
        let summary = seed_demo(&mut connection, providers, seed).expect("seed the demo data");
        (directory, connection, summary)
    }

    type ProviderIdentity = (String, String, String, String, String);

    fn provider_identities(connection: &mut DbConnection) -> Vec<ProviderIdentity> {
        providers::table
            .order(providers::id)
            .select((
                providers::npi,
                providers::given_name,
                providers::family_name,
                providers::degree,
                providers::primary_specialty_code,
            ))
            .load(connection)
            .expect("load providers")
    }

    fn location_coordinates(connection: &mut DbConnection) -> Vec<(f64, f64, String)> {
        locations::table
            .order(locations::id)
            .select((
                locations::latitude,
                locations::longitude,
                locations::postal_code,
            ))
            .load(connection)
            .expect("load locations")
    }

    #[test]
    fn the_same_seed_gives_the_same_data() {
        let (_first_directory, mut first, first_summary) = seeded(300, 42);
        let (_second_directory, mut second, second_summary) = seeded(300, 42);
        assert_eq!(first_summary, second_summary);
        assert_eq!(
            provider_identities(&mut first),
            provider_identities(&mut second)
        );
        assert_eq!(
            location_coordinates(&mut first),
            location_coordinates(&mut second)
        );

        let credentials_of =
            |connection: &mut DbConnection| -> Vec<(String, String, Option<NaiveDate>)> {
                credentials::table
                    .order(credentials::id)
                    .select((
                        credentials::kind,
                        credentials::verification_status,
                        credentials::expires_on,
                    ))
                    .load(connection)
                    .expect("load credentials")
            };
        assert_eq!(credentials_of(&mut first), credentials_of(&mut second));

        let (_other_directory, mut other, _) = seeded(300, 43);
        assert_ne!(
            provider_identities(&mut first),
            provider_identities(&mut other)
        );
    }

    #[test]
    fn the_summary_counts_what_was_inserted() {
        let (_directory, mut connection, summary) = seeded(300, 7);
        let count = |query: Result<i64, diesel::result::Error>| query.expect("count") as usize;
        assert_eq!(summary.providers, 300);
        assert_eq!(summary.clinics, 150);
        assert_eq!(
            summary.clinics,
            count(clinics::table.count().get_result(&mut connection))
        );
        assert_eq!(
            summary.locations,
            count(locations::table.count().get_result(&mut connection))
        );
        assert_eq!(
            summary.providers,
            count(providers::table.count().get_result(&mut connection))
        );
        assert_eq!(
            summary.credentials,
            count(credentials::table.count().get_result(&mut connection))
        );
        assert!(summary.locations >= summary.clinics && summary.locations <= 3 * summary.clinics);
    }

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

    #[test]
    fn locations_are_plausible() {
        let (_directory, mut connection, _) = seeded(300, 5);
        let rows: Vec<(f64, f64, String, String, String)> = locations::table
            .select((
                locations::latitude,
                locations::longitude,
                locations::timezone,
                locations::opening_hours,
                locations::postal_code,
            ))
            .load(&mut connection)
            .expect("load locations");
        for (latitude, longitude, timezone, opening_hours, postal_code) in rows {
            assert!((-90.0..=90.0).contains(&latitude) && (-180.0..=180.0).contains(&longitude));
            assert!(timezone.parse::<chrono_tz::Tz>().is_ok(), "{timezone}");
            let hours: WeeklyHours =
                serde_json::from_str(&opening_hours).expect("opening hours JSON");
            let compiled = hours
                .compile("/opening_hours")
                .expect("valid opening hours");
            assert!(!compiled.is_empty());
            assert!(
                postal_code.len() == 5 && postal_code.bytes().all(|b| b.is_ascii_digit()),
                "{postal_code}"
            );
        }
        // Every provider practises somewhere and offers one to five treatments.
        let per_provider: Vec<(i64, i64)> = provider_treatments::table
            .group_by(provider_treatments::provider_id)
            .select((provider_treatments::provider_id, diesel::dsl::count_star()))
            .load(&mut connection)
            .expect("treatments per provider");
        assert_eq!(per_provider.len(), 300);
        assert!(per_provider
            .iter()
            .all(|&(_, count)| (1..=5).contains(&count)));
        let practising: Vec<i64> = provider_locations::table
            .select(provider_locations::provider_id)
            .distinct()
            .load(&mut connection)
            .expect("practising providers");
        assert_eq!(practising.len(), 300);
    }

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

    #[test]
    fn cities_parse_with_quoted_names() {
        assert_eq!(
            split_csv_line(r#"1,"Olinda, CDP",HI,20.8,-156.3,1188,Pacific/Honolulu"#)[1],
            "Olinda, CDP"
        );
        assert_eq!(
            split_csv_line(r#"a,"say ""hi""",c"#),
            vec!["a", r#"say "hi""#, "c"]
        );
        let table = CityTable::parse(CITIES_CSV);
        assert!(table.cities.len() > 15_000, "{} cities", table.cities.len());
        assert!(table
            .cities
            .iter()
            .any(|city| city.name == "Stambaugh, Iron River" && city.state == "MI"));
        let zips = ZipIndex::parse(ZIP_CENTROIDS_CSV);
        assert_eq!(
            zips.nearest_in_state(40.75065, -73.997293, "NY"),
            Some("10001")
        );
        // Across the river from Manhattan, a New Jersey address gets a New Jersey ZIP code.
        let hoboken = zips
            .nearest_in_state(40.744, -74.0324, "NJ")
            .expect("a ZIP code");
        assert_eq!(zip_state(hoboken), Some("NJ"), "{hoboken}");
    }

    #[test]
    fn scattering_stays_on_the_map() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for _ in 0..1000 {
            let (latitude, longitude) = scatter_around(&mut rng, 89.99, 179.99);
            assert!((-90.0..=90.0).contains(&latitude) && (-180.0..=180.0).contains(&longitude));
        }
        assert_eq!(wrap_longitude(190.0), -170.0);
        assert_eq!(wrap_longitude(-190.0), 170.0);
        assert_eq!(slug("St. Mary's Eye & Skin"), "st-mary-s-eye-skin");
    }
}
