-- Real providers from public sources (NPPES, NUCC, OIG LEIE) and the safety rules search needs.
-- SQLite cannot change a column's CHECK or NOT NULL in place: `providers` (a provider's degree
-- may be unknown; the lifecycle gains `excluded`) and `change_log` (a new entity) are rebuilt
-- with the documented procedure, foreign keys off, in one transaction of their own (hence
-- metadata.toml: this migration is not wrapped in diesel's transaction, where the pragma would
-- be ignored).
PRAGMA foreign_keys = OFF;
BEGIN;

CREATE TABLE providers_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    npi TEXT NOT NULL UNIQUE CHECK (length(npi) = 10 AND npi NOT GLOB '*[^0-9]*'),
    given_name TEXT NOT NULL CHECK (length(given_name) BETWEEN 1 AND 100),
    family_name TEXT NOT NULL CHECK (length(family_name) BETWEEN 1 AND 100),
    -- NULL: the source's credential text maps to no degree (kept raw in credential_text).
    degree TEXT CHECK (degree IS NULL OR degree IN ('MD', 'DO', 'NP', 'PA', 'RN', 'DDS', 'DMD', 'DPM')),
    primary_specialty_code TEXT NOT NULL REFERENCES specialties (code) ON DELETE RESTRICT,
    practice_start_year INTEGER CHECK (practice_start_year BETWEEN 1940 AND 2100),
    languages TEXT NOT NULL DEFAULT '["en"]',
    accepting_new_patients BOOLEAN NOT NULL DEFAULT 1,
    bio TEXT,
    vetting_status TEXT NOT NULL DEFAULT 'pending'
        CHECK (vetting_status IN ('pending', 'under_review', 'verified', 'rejected', 'suspended', 'excluded')),
    external_id TEXT UNIQUE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),
    credential_text TEXT CHECK (credential_text IS NULL OR length(credential_text) <= 100),
    date_of_birth DATE,                                 -- admin-only; screening matches on it
    source TEXT NOT NULL DEFAULT 'manual' CHECK (source IN ('manual', 'import', 'nppes'))
);
INSERT INTO providers_new (id, npi, given_name, family_name, degree, primary_specialty_code,
    practice_start_year, languages, accepting_new_patients, bio, vetting_status, external_id,
    created_at, updated_at, version)
SELECT id, npi, given_name, family_name, degree, primary_specialty_code, practice_start_year,
    languages, accepting_new_patients, bio, vetting_status, external_id, created_at, updated_at, version
FROM providers;
DELETE FROM sqlite_sequence WHERE name = 'providers_new';
INSERT INTO sqlite_sequence (name, seq) SELECT 'providers_new', seq FROM sqlite_sequence WHERE name = 'providers';
DROP TABLE providers;
ALTER TABLE providers_new RENAME TO providers;
CREATE INDEX providers_vetting_status ON providers (vetting_status, id);
CREATE INDEX providers_source ON providers (source, id);

CREATE TABLE change_log_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    entity TEXT NOT NULL CHECK (entity IN ('clinic', 'location', 'provider', 'exclusion_source')),
    entity_id INTEGER NOT NULL,
    changed_at TIMESTAMP NOT NULL
);
INSERT INTO change_log_new SELECT id, entity, entity_id, changed_at FROM change_log;
-- Ids are never reused: a replica's feed position stays valid.
DELETE FROM sqlite_sequence WHERE name = 'change_log_new';
INSERT INTO sqlite_sequence (name, seq) SELECT 'change_log_new', seq FROM sqlite_sequence WHERE name = 'change_log';
DROP TABLE change_log;
ALTER TABLE change_log_new RENAME TO change_log;
CREATE INDEX change_log_changed_at ON change_log (changed_at);

-- How a location's coordinates were found: an admin's edit (`rooftop`) or a ZIP code's centroid.
ALTER TABLE locations ADD COLUMN geocode_precision TEXT NOT NULL DEFAULT 'rooftop'
    CHECK (geocode_precision IN ('rooftop', 'postal_code'));

-- The NUCC code set's names.
ALTER TABLE specialties ADD COLUMN grouping TEXT;
ALTER TABLE specialties ADD COLUMN classification TEXT;
ALTER TABLE specialties ADD COLUMN specialization TEXT;
ALTER TABLE specialties ADD COLUMN display_name TEXT;
ALTER TABLE specialties ADD COLUMN section TEXT;

-- Specialties the NPPES `--botulinum-relevant` preset selects that the seeded subset lacks.
INSERT OR IGNORE INTO specialties (code, name) VALUES
    ('2084H0002X', 'Headache Medicine (Psychiatry & Neurology)'),
    ('2081P2900X', 'Pain Medicine (Physical Medicine & Rehabilitation)'),
    ('2081P0004X', 'Spinal Cord Injury Medicine (Physical Medicine & Rehabilitation)'),
    ('2081P0010X', 'Pediatric Rehabilitation Medicine (Physical Medicine & Rehabilitation)'),
    ('207ND0101X', 'MOHS-Micrographic Surgery (Dermatology)'),
    ('207NS0135X', 'Procedural Dermatology (Dermatology)'),
    ('2082S0099X', 'Plastic Surgery Within the Head and Neck (Plastic Surgery)'),
    ('2082S0105X', 'Surgery of the Hand (Plastic Surgery)'),
    ('207YS0123X', 'Facial Plastic Surgery (Otolaryngology)'),
    ('207WX0200X', 'Ophthalmic Plastic and Reconstructive Surgery (Ophthalmology)'),
    ('2088F0040X', 'Female Pelvic Medicine and Reconstructive Surgery (Urology)'),
    ('2088P0231X', 'Pediatric Urology (Urology)'),
    ('207LP2900X', 'Pain Medicine (Anesthesiology)'),
    ('208VP0000X', 'Pain Medicine'),
    ('363LA2200X', 'Adult Health (Nurse Practitioner)'),
    ('363LF0000X', 'Family (Nurse Practitioner)'),
    ('363AS0400X', 'Surgical (Physician Assistant)'),
    ('363AM0700X', 'Medical (Physician Assistant)');

-- Who an NPPES import last saw, by NPI: the row's Last Update Date and deactivation, so that
-- re-running the same file changes nothing and a deactivation or reactivation is applied once.
CREATE TABLE nppes_npis (
    npi TEXT PRIMARY KEY NOT NULL CHECK (length(npi) = 10),
    entity_type INTEGER CHECK (entity_type IS NULL OR entity_type IN (1, 2)),
    last_update_on DATE,
    deactivated_on DATE,
    reactivated_on DATE,
    seen_at TIMESTAMP NOT NULL
);

-- Exclusion lists (OIG LEIE today; SAM.gov and state lists later): one row per list.
CREATE TABLE exclusion_sources (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    source TEXT NOT NULL UNIQUE CHECK (source IN ('oig_leie')),
    as_of DATE NOT NULL,                -- the date of the file loaded last
    imported_at TIMESTAMP NOT NULL,
    row_count INTEGER NOT NULL CHECK (row_count >= 0),
    screened_as_of DATE                 -- the list's as_of when every provider was last screened against it
);

-- The list's rows. `row_key` identifies a row across full reloads (a hash of who and what, not of
-- the reinstatement or waiver), so a reviewer's false-positive decision outlives a reload.
CREATE TABLE exclusions (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    source TEXT NOT NULL CHECK (source IN ('oig_leie')),
    row_key TEXT NOT NULL,
    last_name TEXT,
    first_name TEXT,
    middle_name TEXT,
    business_name TEXT,
    general TEXT,
    specialty TEXT,
    npi TEXT CHECK (npi IS NULL OR length(npi) = 10),   -- NULL for the list's 0000000000
    date_of_birth DATE,
    address TEXT,
    city TEXT,
    state TEXT,
    zip TEXT,
    exclusion_type TEXT NOT NULL,
    excluded_on DATE,
    reinstated_on DATE,
    waiver_on DATE,
    waiver_state TEXT,
    name_key TEXT,                                      -- normalised "family|given" (individuals only)
    UNIQUE (source, row_key)
);
CREATE INDEX exclusions_npi ON exclusions (npi);
CREATE INDEX exclusions_name_key ON exclusions (name_key);

-- Screening hits: a possible match waits in the reviewer queue; an NPI match is confirmed by the
-- service itself. One row per provider and source row, so a false positive is not raised again.
CREATE TABLE screening_matches (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    provider_id INTEGER NOT NULL REFERENCES providers (id) ON DELETE CASCADE,
    source TEXT NOT NULL,
    row_key TEXT NOT NULL,
    rule TEXT NOT NULL CHECK (rule IN ('npi', 'name_dob', 'name_state')),
    status TEXT NOT NULL CHECK (status IN ('open', 'confirmed', 'false_positive')),
    evidence TEXT NOT NULL,                             -- JSON: the source row and what matched
    created_at TIMESTAMP NOT NULL,
    resolved_at TIMESTAMP,
    resolved_by_key_id INTEGER,
    resolution_reason TEXT,
    version INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),
    UNIQUE (provider_id, source, row_key)
);
CREATE INDEX screening_matches_status ON screening_matches (status, id);

COMMIT;
PRAGMA foreign_keys = ON;
