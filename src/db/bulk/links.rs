//! The link tables of a provider (specialties, practice locations, treatments): one array per
//! column on PostgreSQL, multi-row `VALUES` on SQLite (the parent module says why).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::write_chunks;
use crate::db::schema::{provider_locations, provider_specialties, provider_treatments};
use crate::db::{DbConnection, DbResult};

/// A provider's specialties: (provider id, specialty code).
pub(super) fn insert_specialty_links(
    connection: &mut DbConnection,
    rows: &[(i64, &str)],
) -> DbResult<()> {
    use diesel::sql_types::{Array, BigInt, Text};
    write_chunks(
        connection,
        rows,
        |pg, chunk| {
            let (providers, codes): (Vec<i64>, Vec<&str>) = chunk.iter().copied().unzip();
            diesel::sql_query(
                "INSERT INTO provider_specialties (provider_id, specialty_code) \
                 SELECT * FROM unnest($1::int8[], $2::text[])",
            )
            .bind::<Array<BigInt>, _>(providers)
            .bind::<Array<Text>, _>(codes)
            .execute(pg)
        },
        |sqlite, chunk| {
            let values: Vec<_> = chunk
                .iter()
                .map(|&(provider_id, code)| {
                    (
                        provider_specialties::provider_id.eq(provider_id),
                        provider_specialties::specialty_code.eq(code),
                    )
                })
                .collect();
            diesel::insert_into(provider_specialties::table)
                .values(values)
                .execute(sqlite)
        },
    )
    .map(drop)
}

/// Where providers practise: (provider id, location id).
pub(super) fn insert_location_links(
    connection: &mut DbConnection,
    rows: &[(i64, i64)],
    now: NaiveDateTime,
) -> DbResult<()> {
    use diesel::sql_types::{Array, BigInt, Timestamp};
    write_chunks(
        connection,
        rows,
        |pg, chunk| {
            let (providers, locations): (Vec<i64>, Vec<i64>) = chunk.iter().copied().unzip();
            diesel::sql_query(
                "INSERT INTO provider_locations (provider_id, location_id, created_at) \
                 SELECT provider_id, location_id, $3 \
                 FROM unnest($1::int8[], $2::int8[]) AS t (provider_id, location_id)",
            )
            .bind::<Array<BigInt>, _>(providers)
            .bind::<Array<BigInt>, _>(locations)
            .bind::<Timestamp, _>(now)
            .execute(pg)
        },
        |sqlite, chunk| {
            let values: Vec<_> = chunk
                .iter()
                .map(|&(provider_id, location_id)| {
                    (
                        provider_locations::provider_id.eq(provider_id),
                        provider_locations::location_id.eq(location_id),
                        provider_locations::created_at.eq(now),
                    )
                })
                .collect();
            diesel::insert_into(provider_locations::table)
                .values(values)
                .execute(sqlite)
        },
    )
    .map(drop)
}

/// The treatments providers offer: (provider id, treatment code, annual volume).
pub(super) fn insert_treatment_rows(
    connection: &mut DbConnection,
    rows: &[(i64, &str, Option<i32>)],
    now: NaiveDateTime,
) -> DbResult<()> {
    use diesel::sql_types::{Array, BigInt, Integer, Nullable, Text, Timestamp};
    write_chunks(
        connection,
        rows,
        |pg, chunk| {
            let providers: Vec<i64> = chunk.iter().map(|row| row.0).collect();
            let codes: Vec<&str> = chunk.iter().map(|row| row.1).collect();
            let volumes: Vec<Option<i32>> = chunk.iter().map(|row| row.2).collect();
            diesel::sql_query(
                "INSERT INTO provider_treatments \
                 (provider_id, treatment_code, annual_volume, created_at) \
                 SELECT provider_id, treatment_code, annual_volume, $4 \
                 FROM unnest($1::int8[], $2::text[], $3::int4[]) \
                 AS t (provider_id, treatment_code, annual_volume)",
            )
            .bind::<Array<BigInt>, _>(providers)
            .bind::<Array<Text>, _>(codes)
            .bind::<Array<Nullable<Integer>>, _>(volumes)
            .bind::<Timestamp, _>(now)
            .execute(pg)
        },
        |sqlite, chunk| {
            let values: Vec<_> = chunk
                .iter()
                .map(|&(provider_id, code, volume)| {
                    (
                        provider_treatments::provider_id.eq(provider_id),
                        provider_treatments::treatment_code.eq(code),
                        provider_treatments::annual_volume.eq(volume),
                        provider_treatments::created_at.eq(now),
                    )
                })
                .collect();
            diesel::insert_into(provider_treatments::table)
                .values(values)
                .execute(sqlite)
        },
    )
    .map(drop)
}
