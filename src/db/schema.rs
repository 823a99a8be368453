//! Diesel's view of the tables, in portable SQL types so one schema serves every backend.
//! Kept in step with `migrations/` by hand (and checked by the migration tests).

diesel::table! {
    specialties (code) {
        code -> Text,
        name -> Text,
        grouping -> Nullable<Text>,
        classification -> Nullable<Text>,
        specialization -> Nullable<Text>,
        display_name -> Nullable<Text>,
        section -> Nullable<Text>,
    }
}

diesel::table! {
    treatments (code) {
        code -> Text,
        name -> Text,
        label_status -> Text,
        description -> Text,
    }
}

diesel::table! {
    treatment_specialties (treatment_code, specialty_code) {
        treatment_code -> Text,
        specialty_code -> Text,
    }
}

diesel::table! {
    clinics (id) {
        id -> BigInt,
        name -> Text,
        website -> Nullable<Text>,
        phone -> Nullable<Text>,
        description -> Nullable<Text>,
        external_id -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> BigInt,
    }
}

diesel::table! {
    locations (id) {
        id -> BigInt,
        clinic_id -> BigInt,
        name -> Nullable<Text>,
        address_line1 -> Text,
        address_line2 -> Nullable<Text>,
        city -> Text,
        state -> Text,
        postal_code -> Text,
        country -> Text,
        latitude -> Double,
        longitude -> Double,
        timezone -> Text,
        opening_hours -> Text,
        phone -> Nullable<Text>,
        external_id -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> BigInt,
        geocode_precision -> Text,
    }
}

diesel::table! {
    providers (id) {
        id -> BigInt,
        npi -> Text,
        given_name -> Text,
        family_name -> Text,
        degree -> Nullable<Text>,
        primary_specialty_code -> Text,
        practice_start_year -> Nullable<Integer>,
        languages -> Text,
        accepting_new_patients -> Bool,
        bio -> Nullable<Text>,
        vetting_status -> Text,
        external_id -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> BigInt,
        credential_text -> Nullable<Text>,
        date_of_birth -> Nullable<Date>,
        source -> Text,
    }
}

diesel::table! {
    provider_specialties (provider_id, specialty_code) {
        provider_id -> BigInt,
        specialty_code -> Text,
    }
}

diesel::table! {
    credentials (id) {
        id -> BigInt,
        provider_id -> BigInt,
        kind -> Text,
        issuer -> Text,
        identifier -> Nullable<Text>,
        jurisdiction -> Nullable<Text>,
        specialty_code -> Nullable<Text>,
        issued_on -> Nullable<Date>,
        expires_on -> Nullable<Date>,
        verification_status -> Text,
        verified_at -> Nullable<Timestamp>,
        verified_by_key_id -> Nullable<BigInt>,
        verification_source_type -> Nullable<Text>,
        verification_reference -> Nullable<Text>,
        next_due_on -> Nullable<Date>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> BigInt,
    }
}

diesel::table! {
    provider_locations (provider_id, location_id) {
        provider_id -> BigInt,
        location_id -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    provider_treatments (provider_id, treatment_code) {
        provider_id -> BigInt,
        treatment_code -> Text,
        annual_volume -> Nullable<Integer>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    api_keys (id) {
        id -> BigInt,
        name -> Text,
        role -> Text,
        prefix -> Text,
        key_hash -> Text,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
        expires_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
        bootstrap -> Bool,
    }
}

diesel::table! {
    service_secrets (name) {
        name -> Text,
        value -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    audit_log (id) {
        id -> BigInt,
        occurred_at -> Timestamp,
        actor_key_id -> Nullable<BigInt>,
        actor_role -> Text,
        action -> Text,
        target_type -> Text,
        target_id -> Text,
        before_json -> Nullable<Text>,
        after_json -> Nullable<Text>,
        reason -> Nullable<Text>,
        request_id -> Nullable<Text>,
    }
}

diesel::table! {
    change_log (id) {
        id -> BigInt,
        entity -> Text,
        entity_id -> BigInt,
        changed_at -> Timestamp,
    }
}

diesel::table! {
    nppes_npis (npi) {
        npi -> Text,
        entity_type -> Nullable<Integer>,
        last_update_on -> Nullable<Date>,
        deactivated_on -> Nullable<Date>,
        reactivated_on -> Nullable<Date>,
        seen_at -> Timestamp,
    }
}

diesel::table! {
    exclusion_sources (id) {
        id -> BigInt,
        source -> Text,
        as_of -> Date,
        imported_at -> Timestamp,
        row_count -> Integer,
        screened_as_of -> Nullable<Date>,
    }
}

diesel::table! {
    exclusions (id) {
        id -> BigInt,
        source -> Text,
        row_key -> Text,
        last_name -> Nullable<Text>,
        first_name -> Nullable<Text>,
        middle_name -> Nullable<Text>,
        business_name -> Nullable<Text>,
        general -> Nullable<Text>,
        specialty -> Nullable<Text>,
        npi -> Nullable<Text>,
        date_of_birth -> Nullable<Date>,
        address -> Nullable<Text>,
        city -> Nullable<Text>,
        state -> Nullable<Text>,
        zip -> Nullable<Text>,
        exclusion_type -> Text,
        excluded_on -> Nullable<Date>,
        reinstated_on -> Nullable<Date>,
        waiver_on -> Nullable<Date>,
        waiver_state -> Nullable<Text>,
        name_key -> Nullable<Text>,
    }
}

diesel::table! {
    screening_matches (id) {
        id -> BigInt,
        provider_id -> BigInt,
        source -> Text,
        row_key -> Text,
        rule -> Text,
        status -> Text,
        evidence -> Text,
        created_at -> Timestamp,
        resolved_at -> Nullable<Timestamp>,
        resolved_by_key_id -> Nullable<BigInt>,
        resolution_reason -> Nullable<Text>,
        version -> BigInt,
    }
}

diesel::joinable!(screening_matches -> providers (provider_id));
diesel::joinable!(locations -> clinics (clinic_id));
diesel::joinable!(credentials -> providers (provider_id));
diesel::joinable!(provider_specialties -> providers (provider_id));
diesel::joinable!(provider_locations -> providers (provider_id));
diesel::joinable!(provider_locations -> locations (location_id));
diesel::joinable!(provider_treatments -> providers (provider_id));
diesel::joinable!(provider_treatments -> treatments (treatment_code));
diesel::joinable!(treatment_specialties -> treatments (treatment_code));

diesel::allow_tables_to_appear_in_same_query!(
    specialties,
    treatments,
    treatment_specialties,
    clinics,
    locations,
    providers,
    provider_specialties,
    credentials,
    provider_locations,
    provider_treatments,
    api_keys,
    audit_log,
    change_log,
    nppes_npis,
    exclusion_sources,
    exclusions,
    screening_matches,
);
