-- The provider directory: taxonomy, clinics and their locations, providers and their credentials.
-- Mirrored under migrations/postgres/ with the same migration names.
-- Timestamps are UTC, stored as TEXT by diesel ("YYYY-MM-DD HH:MM:SS.ffffff"); dates as "YYYY-MM-DD".

CREATE TABLE specialties (
    code TEXT PRIMARY KEY NOT NULL CHECK (length(code) = 10),   -- NUCC health care provider taxonomy code
    name TEXT NOT NULL CHECK (length(name) > 0)
);

CREATE TABLE treatments (
    code TEXT PRIMARY KEY NOT NULL CHECK (length(code) BETWEEN 2 AND 64 AND code NOT GLOB '*[^a-z0-9_]*'),
    name TEXT NOT NULL,
    label_status TEXT NOT NULL CHECK (label_status IN ('on_label', 'off_label', 'cosmetic')),
    description TEXT NOT NULL
);

-- Which specialties usually treat an indication: a board certification in one of them is "relevant".
CREATE TABLE treatment_specialties (
    treatment_code TEXT NOT NULL REFERENCES treatments (code) ON DELETE CASCADE,
    specialty_code TEXT NOT NULL REFERENCES specialties (code) ON DELETE CASCADE,
    PRIMARY KEY (treatment_code, specialty_code)
);

CREATE TABLE clinics (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,  -- AUTOINCREMENT: ids are never reused after a delete
    name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    website TEXT,
    phone TEXT,
    description TEXT,
    external_id TEXT UNIQUE,                          -- the importer's upsert key
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1)
);

CREATE TABLE locations (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    clinic_id INTEGER NOT NULL REFERENCES clinics (id) ON DELETE CASCADE,  -- a site does not outlive its clinic
    name TEXT,                                        -- e.g. "Midtown office"
    address_line1 TEXT NOT NULL,
    address_line2 TEXT,
    city TEXT NOT NULL,
    state TEXT NOT NULL CHECK (length(state) = 2),
    postal_code TEXT NOT NULL,
    country TEXT NOT NULL DEFAULT 'US' CHECK (length(country) = 2),
    latitude DOUBLE NOT NULL CHECK (latitude BETWEEN -90 AND 90),
    longitude DOUBLE NOT NULL CHECK (longitude BETWEEN -180 AND 180),
    timezone TEXT NOT NULL,                           -- IANA name; opening hours are local to it
    opening_hours TEXT NOT NULL DEFAULT '{}',         -- JSON: {"mon": [{"opens": "09:00", "closes": "17:00"}], ...}
    phone TEXT,
    external_id TEXT UNIQUE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1)
);
CREATE INDEX locations_clinic_id ON locations (clinic_id);

CREATE TABLE providers (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    npi TEXT NOT NULL UNIQUE CHECK (length(npi) = 10 AND npi NOT GLOB '*[^0-9]*'),
    given_name TEXT NOT NULL CHECK (length(given_name) BETWEEN 1 AND 100),
    family_name TEXT NOT NULL CHECK (length(family_name) BETWEEN 1 AND 100),
    degree TEXT NOT NULL CHECK (degree IN ('MD', 'DO', 'NP', 'PA', 'RN', 'DDS', 'DMD', 'DPM')),
    primary_specialty_code TEXT NOT NULL REFERENCES specialties (code) ON DELETE RESTRICT,
    practice_start_year INTEGER CHECK (practice_start_year BETWEEN 1940 AND 2100),
    languages TEXT NOT NULL DEFAULT '["en"]',         -- JSON array of ISO 639-1 codes
    accepting_new_patients BOOLEAN NOT NULL DEFAULT 1,
    bio TEXT,
    vetting_status TEXT NOT NULL DEFAULT 'pending'
        CHECK (vetting_status IN ('pending', 'under_review', 'verified', 'rejected', 'suspended')),
    external_id TEXT UNIQUE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1)
);
CREATE INDEX providers_vetting_status ON providers (vetting_status, id);

-- Specialties besides the primary one.
CREATE TABLE provider_specialties (
    provider_id INTEGER NOT NULL REFERENCES providers (id) ON DELETE CASCADE,
    specialty_code TEXT NOT NULL REFERENCES specialties (code) ON DELETE RESTRICT,
    PRIMARY KEY (provider_id, specialty_code)
);

CREATE TABLE credentials (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    provider_id INTEGER NOT NULL REFERENCES providers (id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('state_license', 'board_certification', 'dea_registration', 'education', 'injector_training')),
    issuer TEXT NOT NULL CHECK (length(issuer) BETWEEN 1 AND 200),
    identifier TEXT,
    jurisdiction TEXT CHECK (jurisdiction IS NULL OR length(jurisdiction) = 2),  -- US state
    specialty_code TEXT REFERENCES specialties (code) ON DELETE RESTRICT,        -- what a board certification is in
    issued_on DATE,
    expires_on DATE,
    verification_status TEXT NOT NULL DEFAULT 'unverified'
        CHECK (verification_status IN ('unverified', 'verified', 'rejected', 'revoked')),
    verified_at TIMESTAMP,
    verified_by_key_id INTEGER,                       -- the API key that recorded the outcome (see audit_log)
    verification_source_type TEXT CHECK (verification_source_type IS NULL OR verification_source_type IN
        ('state_medical_board', 'abms_member_board', 'aoa_board', 'dea', 'nppes', 'training_provider', 'education_institution', 'other')),
    verification_reference TEXT,
    next_due_on DATE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),
    CHECK (expires_on IS NULL OR issued_on IS NULL OR expires_on >= issued_on),
    CHECK (verification_status = 'unverified' OR verified_at IS NOT NULL)
);
CREATE INDEX credentials_provider_id ON credentials (provider_id);
CREATE INDEX credentials_due ON credentials (verification_status, next_due_on);

CREATE TABLE provider_locations (
    provider_id INTEGER NOT NULL REFERENCES providers (id) ON DELETE CASCADE,
    location_id INTEGER NOT NULL REFERENCES locations (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (provider_id, location_id)
);
CREATE INDEX provider_locations_location_id ON provider_locations (location_id);

CREATE TABLE provider_treatments (
    provider_id INTEGER NOT NULL REFERENCES providers (id) ON DELETE CASCADE,
    treatment_code TEXT NOT NULL REFERENCES treatments (code) ON DELETE RESTRICT,
    annual_volume INTEGER CHECK (annual_volume IS NULL OR annual_volume >= 0),  -- procedures a year, when recorded
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (provider_id, treatment_code)
);
CREATE INDEX provider_treatments_treatment_code ON provider_treatments (treatment_code);

-- API keys: only a SHA-256 hash of the secret is stored; the prefix identifies a key in lists and logs.
CREATE TABLE api_keys (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'reviewer', 'partner')),
    prefix TEXT NOT NULL UNIQUE,
    key_hash TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP,
    expires_at TIMESTAMP,
    revoked_at TIMESTAMP
);

-- Every write made with a key: append-only (the triggers below refuse UPDATE and DELETE).
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    occurred_at TIMESTAMP NOT NULL,
    actor_key_id INTEGER REFERENCES api_keys (id) ON DELETE RESTRICT,
    actor_role TEXT NOT NULL,
    action TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_id TEXT NOT NULL,
    before_json TEXT,
    after_json TEXT,
    reason TEXT,
    request_id TEXT
);
CREATE INDEX audit_log_target ON audit_log (target_type, target_id, id);
CREATE INDEX audit_log_actor ON audit_log (actor_key_id, id);
CREATE INDEX audit_log_action ON audit_log (action, id);
CREATE INDEX audit_log_occurred_at ON audit_log (occurred_at);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
