//! PostgreSQL's multi-row inserts of the wide tables, one array per column:
//! `INSERT … SELECT * FROM unnest($1::int8[], $2::text[], …)`. The statement's text is the same
//! whatever the number of rows, so the server does not parse and plan a `VALUES` list of 500
//! tuples for every chunk (the parent module's note). Ids come back in the order of the arrays —
//! a function scan feeds the insert in order — and each function checks it against a key the
//! rows carry rather than trust it.

use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bool, Date, Double, Integer, Nullable, Text, Timestamp};
use diesel::PgConnection;

use crate::db::models::{NewClinic, NewCredential, NewLocation, NewProvider};

/// A row an insert returned: its id and the natural key it was written with.
#[derive(QueryableByName)]
pub(super) struct Inserted {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = Nullable<Text>)]
    pub key: Option<String>,
}

/// The ids of `inserted`, after checking that each came back with the key its row was sent with.
fn in_order<'a>(
    inserted: Vec<Inserted>,
    keys: impl ExactSizeIterator<Item = Option<&'a str>>,
) -> QueryResult<Vec<i64>> {
    let out_of_order = || {
        diesel::result::Error::QueryBuilderError(
            "inserted rows came back in another order than they were sent".into(),
        )
    };
    if inserted.len() != keys.len() {
        return Err(out_of_order());
    }
    inserted
        .into_iter()
        .zip(keys)
        .map(|(row, key)| {
            if row.key.as_deref() == key {
                Ok(row.id)
            } else {
                Err(out_of_order())
            }
        })
        .collect()
}

/// Inserts clinics; their ids, in order.
pub(super) fn clinics(pg: &mut PgConnection, rows: &[&NewClinic]) -> QueryResult<Vec<i64>> {
    let inserted = diesel::sql_query(
        "INSERT INTO clinics (name, website, phone, description, external_id, created_at, \
         updated_at) \
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], \
         $6::timestamp[], $7::timestamp[]) \
         RETURNING id, external_id AS key",
    )
    .bind::<Array<Text>, _>(rows.iter().map(|r| r.name.as_str()).collect::<Vec<_>>())
    .bind::<Array<Nullable<Text>>, _>(
        rows.iter()
            .map(|r| r.website.as_deref())
            .collect::<Vec<_>>(),
    )
    .bind::<Array<Nullable<Text>>, _>(rows.iter().map(|r| r.phone.as_deref()).collect::<Vec<_>>())
    .bind::<Array<Nullable<Text>>, _>(
        rows.iter()
            .map(|r| r.description.as_deref())
            .collect::<Vec<_>>(),
    )
    .bind::<Array<Nullable<Text>>, _>(
        rows.iter()
            .map(|r| r.external_id.as_deref())
            .collect::<Vec<_>>(),
    )
    .bind::<Array<Timestamp>, _>(rows.iter().map(|r| r.created_at).collect::<Vec<_>>())
    .bind::<Array<Timestamp>, _>(rows.iter().map(|r| r.updated_at).collect::<Vec<_>>())
    .load::<Inserted>(pg)?;
    in_order(inserted, rows.iter().map(|r| r.external_id.as_deref()))
}

/// Inserts locations; their ids, in order.
pub(super) fn locations(pg: &mut PgConnection, rows: &[&NewLocation]) -> QueryResult<Vec<i64>> {
    let text = |field: fn(&NewLocation) -> &str| rows.iter().map(|r| field(r)).collect::<Vec<_>>();
    let optional =
        |field: fn(&NewLocation) -> Option<&str>| rows.iter().map(|r| field(r)).collect::<Vec<_>>();
    let inserted = diesel::sql_query(
        "INSERT INTO locations (clinic_id, name, address_line1, address_line2, city, state, \
         postal_code, country, latitude, longitude, timezone, opening_hours, phone, external_id, \
         created_at, updated_at, geocode_precision) \
         SELECT * FROM unnest($1::int8[], $2::text[], $3::text[], $4::text[], $5::text[], \
         $6::text[], $7::text[], $8::text[], $9::float8[], $10::float8[], $11::text[], \
         $12::text[], $13::text[], $14::text[], $15::timestamp[], $16::timestamp[], $17::text[]) \
         RETURNING id, external_id AS key",
    )
    .bind::<Array<BigInt>, _>(rows.iter().map(|r| r.clinic_id).collect::<Vec<_>>())
    .bind::<Array<Nullable<Text>>, _>(optional(|r| r.name.as_deref()))
    .bind::<Array<Text>, _>(text(|r| &r.address_line1))
    .bind::<Array<Nullable<Text>>, _>(optional(|r| r.address_line2.as_deref()))
    .bind::<Array<Text>, _>(text(|r| &r.city))
    .bind::<Array<Text>, _>(text(|r| &r.state))
    .bind::<Array<Text>, _>(text(|r| &r.postal_code))
    .bind::<Array<Text>, _>(text(|r| &r.country))
    .bind::<Array<Double>, _>(rows.iter().map(|r| r.latitude).collect::<Vec<_>>())
    .bind::<Array<Double>, _>(rows.iter().map(|r| r.longitude).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(text(|r| &r.timezone))
    .bind::<Array<Text>, _>(text(|r| &r.opening_hours))
    .bind::<Array<Nullable<Text>>, _>(optional(|r| r.phone.as_deref()))
    .bind::<Array<Nullable<Text>>, _>(optional(|r| r.external_id.as_deref()))
    .bind::<Array<Timestamp>, _>(rows.iter().map(|r| r.created_at).collect::<Vec<_>>())
    .bind::<Array<Timestamp>, _>(rows.iter().map(|r| r.updated_at).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(text(|r| &r.geocode_precision))
    .load::<Inserted>(pg)?;
    in_order(inserted, rows.iter().map(|r| r.external_id.as_deref()))
}

/// Inserts providers; (id, NPI) of each.
pub(super) fn providers(
    pg: &mut PgConnection,
    rows: &[&NewProvider],
) -> QueryResult<Vec<(i64, String)>> {
    let text = |field: fn(&NewProvider) -> &str| rows.iter().map(|r| field(r)).collect::<Vec<_>>();
    let optional =
        |field: fn(&NewProvider) -> Option<&str>| rows.iter().map(|r| field(r)).collect::<Vec<_>>();
    let inserted = diesel::sql_query(
        "INSERT INTO providers (npi, given_name, family_name, degree, primary_specialty_code, \
         practice_start_year, languages, accepting_new_patients, bio, vetting_status, \
         external_id, created_at, updated_at, credential_text, date_of_birth, source) \
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], \
         $6::int4[], $7::text[], $8::bool[], $9::text[], $10::text[], $11::text[], \
         $12::timestamp[], $13::timestamp[], $14::text[], $15::date[], $16::text[]) \
         RETURNING id, npi AS key",
    )
    .bind::<Array<Text>, _>(text(|r| &r.npi))
    .bind::<Array<Text>, _>(text(|r| &r.given_name))
    .bind::<Array<Text>, _>(text(|r| &r.family_name))
    .bind::<Array<Nullable<Text>>, _>(optional(|r| r.degree.as_deref()))
    .bind::<Array<Text>, _>(text(|r| &r.primary_specialty_code))
    .bind::<Array<Nullable<Integer>>, _>(
        rows.iter()
            .map(|r| r.practice_start_year)
            .collect::<Vec<_>>(),
    )
    .bind::<Array<Text>, _>(text(|r| &r.languages))
    .bind::<Array<Bool>, _>(
        rows.iter()
            .map(|r| r.accepting_new_patients)
            .collect::<Vec<_>>(),
    )
    .bind::<Array<Nullable<Text>>, _>(optional(|r| r.bio.as_deref()))
    .bind::<Array<Text>, _>(text(|r| &r.vetting_status))
    .bind::<Array<Nullable<Text>>, _>(optional(|r| r.external_id.as_deref()))
    .bind::<Array<Timestamp>, _>(rows.iter().map(|r| r.created_at).collect::<Vec<_>>())
    .bind::<Array<Timestamp>, _>(rows.iter().map(|r| r.updated_at).collect::<Vec<_>>())
    .bind::<Array<Nullable<Text>>, _>(optional(|r| r.credential_text.as_deref()))
    .bind::<Array<Nullable<Date>>, _>(rows.iter().map(|r| r.date_of_birth).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(text(|r| &r.source))
    .load::<Inserted>(pg)?;
    Ok(inserted
        .into_iter()
        .map(|row| (row.id, row.key.unwrap_or_default()))
        .collect())
}

/// Inserts credentials.
pub(super) fn credentials(pg: &mut PgConnection, rows: &[&NewCredential]) -> QueryResult<usize> {
    let text =
        |field: fn(&NewCredential) -> &str| rows.iter().map(|r| field(r)).collect::<Vec<_>>();
    let optional = |field: fn(&NewCredential) -> Option<&str>| {
        rows.iter().map(|r| field(r)).collect::<Vec<_>>()
    };
    let date = |field: fn(&NewCredential) -> Option<chrono::NaiveDate>| {
        rows.iter().map(|r| field(r)).collect::<Vec<_>>()
    };
    diesel::sql_query(
        "INSERT INTO credentials (provider_id, kind, issuer, identifier, jurisdiction, \
         specialty_code, issued_on, expires_on, verification_status, verified_at, \
         verified_by_key_id, verification_source_type, verification_reference, next_due_on, \
         created_at, updated_at) \
         SELECT * FROM unnest($1::int8[], $2::text[], $3::text[], $4::text[], $5::text[], \
         $6::text[], $7::date[], $8::date[], $9::text[], $10::timestamp[], $11::int8[], \
         $12::text[], $13::text[], $14::date[], $15::timestamp[], $16::timestamp[])",
    )
    .bind::<Array<BigInt>, _>(rows.iter().map(|r| r.provider_id).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(text(|r| &r.kind))
    .bind::<Array<Text>, _>(text(|r| &r.issuer))
    .bind::<Array<Nullable<Text>>, _>(optional(|r| r.identifier.as_deref()))
    .bind::<Array<Nullable<Text>>, _>(optional(|r| r.jurisdiction.as_deref()))
    .bind::<Array<Nullable<Text>>, _>(optional(|r| r.specialty_code.as_deref()))
    .bind::<Array<Nullable<Date>>, _>(date(|r| r.issued_on))
    .bind::<Array<Nullable<Date>>, _>(date(|r| r.expires_on))
    .bind::<Array<Text>, _>(text(|r| &r.verification_status))
    .bind::<Array<Nullable<Timestamp>>, _>(rows.iter().map(|r| r.verified_at).collect::<Vec<_>>())
    .bind::<Array<Nullable<BigInt>>, _>(
        rows.iter()
            .map(|r| r.verified_by_key_id)
            .collect::<Vec<_>>(),
    )
    .bind::<Array<Nullable<Text>>, _>(optional(|r| r.verification_source_type.as_deref()))
    .bind::<Array<Nullable<Text>>, _>(optional(|r| r.verification_reference.as_deref()))
    .bind::<Array<Nullable<Date>>, _>(date(|r| r.next_due_on))
    .bind::<Array<Timestamp>, _>(rows.iter().map(|r| r.created_at).collect::<Vec<_>>())
    .bind::<Array<Timestamp>, _>(rows.iter().map(|r| r.updated_at).collect::<Vec<_>>())
    .execute(pg)
}
