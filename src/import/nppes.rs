//! Reading the CMS NPPES monthly file (`npidata_pfile_*.csv`, "V2": about 9 million rows of 330
//! double-quoted columns). Columns are found by name, so a file with the columns in another order
//! reads the same, and a missing column is an error naming it before any row is read. Rows are
//! filtered while streaming — taxonomy and state are read off the reused raw record, and only a
//! row that passes is turned into a record — so memory stays flat whatever the file's size. A
//! row that cannot be placed (a non-US or unknown ZIP code) is reported by line and skipped.
//!
//! Reading runs on a thread of its own, a bounded queue ahead of the directory's writer.

use std::collections::HashSet;
use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use chrono::NaiveDate;

use super::geocode::place_zip;
use crate::directory::bulk::nppes::{
    NppesIndividual, NppesLicence, NppesOrganisation, NppesPlace, NppesRecord,
};
use crate::domain::{is_us_state, Degree};

/// Taxonomy slots in the V2 file.
const SLOTS: usize = 15;

/// The `--botulinum-relevant` preset: NUCC codes of the specialties that inject botulinum toxin
/// for its therapeutic indications. Neurology (with child neurology and headache medicine),
/// physical medicine and rehabilitation (with pain, spinal cord injury and paediatric
/// rehabilitation medicine), dermatology (with Mohs and procedural dermatology), plastic surgery
/// (head and neck, hand), ophthalmology (with oculoplastics), otolaryngology (with facial plastic
/// surgery), urology (with female pelvic medicine and paediatric urology), anaesthesiology and
/// pain medicine (with interventional pain). NUCC has no nurse-practitioner or physician-assistant
/// codes for these fields, so the general NP and PA codes, adult-health NPs and medical and
/// surgical PAs are taken too: a wide net that reviewers narrow.
pub const BOTULINUM_RELEVANT: &[&str] = &[
    "2084N0400X", // Neurology
    "2084N0402X", // Neurology with Special Qualifications in Child Neurology
    "2084H0002X", // Headache Medicine
    "208100000X", // Physical Medicine & Rehabilitation
    "2081P2900X", // Pain Medicine (PM&R)
    "2081P0004X", // Spinal Cord Injury Medicine (PM&R)
    "2081P0010X", // Pediatric Rehabilitation Medicine (PM&R)
    "207N00000X", // Dermatology
    "207ND0101X", // MOHS-Micrographic Surgery
    "207NS0135X", // Procedural Dermatology
    "208200000X", // Plastic Surgery
    "2082S0099X", // Plastic Surgery Within the Head and Neck
    "2082S0105X", // Surgery of the Hand (Plastic Surgery)
    "207W00000X", // Ophthalmology
    "207WX0200X", // Ophthalmic Plastic and Reconstructive Surgery
    "207Y00000X", // Otolaryngology
    "207YS0123X", // Facial Plastic Surgery (Otolaryngology)
    "208800000X", // Urology
    "2088F0040X", // Female Pelvic Medicine and Reconstructive Surgery
    "2088P0231X", // Pediatric Urology
    "207L00000X", // Anesthesiology
    "207LP2900X", // Pain Medicine (Anesthesiology)
    "208VP0000X", // Pain Medicine
    "208VP0014X", // Interventional Pain Medicine
    "363L00000X", // Nurse Practitioner
    "363LA2200X", // Nurse Practitioner, Adult Health
    "363A00000X", // Physician Assistant
    "363AM0700X", // Physician Assistant, Medical
    "363AS0400X", // Physician Assistant, Surgical
];

/// Which rows to keep.
#[derive(Debug, Clone, Default)]
pub struct NppesFilter {
    /// Keep rows with any of these taxonomy codes (every row when empty).
    pub taxonomies: HashSet<String>,
    /// Keep rows whose practice location is in one of these states (every state when empty).
    pub states: HashSet<String>,
}

/// Why a file cannot be read at all.
#[derive(Debug, thiserror::Error)]
pub enum NppesFileError {
    #[error("the file has no column `{0}` (an NPPES V2 npidata_pfile has 330 named columns)")]
    MissingColumn(String),
    #[error("the header cannot be read: {0}")]
    Header(String),
}

/// A row read but not turned into a record.
#[derive(Debug, Clone, PartialEq)]
pub struct SkippedRow {
    pub line: u64,
    pub reason: String,
}

/// What the reader hands over: a record, or a row skipped with its reason.
pub type ReadRow = (u64, Result<NppesRecord, String>);

/// Counters the reader keeps (for the progress line and the summary).
#[derive(Debug, Default)]
pub struct ScanProgress {
    pub rows: AtomicU64,
    pub bytes: AtomicU64,
    pub matched: AtomicU64,
}

impl ScanProgress {
    pub fn rows(&self) -> u64 {
        self.rows.load(Ordering::Relaxed)
    }
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }
    pub fn matched(&self) -> u64 {
        self.matched.load(Ordering::Relaxed)
    }
}

/// The positions of the columns the importer reads, found by name.
#[derive(Debug, Clone)]
struct Columns {
    npi: usize,
    entity_type: usize,
    organisation_name: usize,
    last_name: usize,
    first_name: usize,
    middle_name: usize,
    credential: usize,
    line1: usize,
    line2: usize,
    city: usize,
    state: usize,
    postal_code: usize,
    country: usize,
    phone: usize,
    last_update: usize,
    deactivated: usize,
    reactivated: usize,
    taxonomy: [usize; SLOTS],
    licence: [usize; SLOTS],
    licence_state: [usize; SLOTS],
    primary: [usize; SLOTS],
}

impl Columns {
    fn find(header: &csv::ByteRecord) -> Result<Columns, NppesFileError> {
        let names: Vec<String> = header
            .iter()
            .map(|name| String::from_utf8_lossy(name).trim().to_owned())
            .collect();
        let at = |name: &str| {
            names
                .iter()
                .position(|n| n == name)
                .ok_or_else(|| NppesFileError::MissingColumn(name.to_owned()))
        };
        let slots = |prefix: &str| -> Result<[usize; SLOTS], NppesFileError> {
            let mut found = [0; SLOTS];
            for (slot, position) in found.iter_mut().enumerate() {
                *position = at(&format!("{prefix}_{}", slot + 1))?;
            }
            Ok(found)
        };
        let practice = "Provider Business Practice Location Address";
        Ok(Columns {
            npi: at("NPI")?,
            entity_type: at("Entity Type Code")?,
            organisation_name: at("Provider Organization Name (Legal Business Name)")?,
            last_name: at("Provider Last Name (Legal Name)")?,
            first_name: at("Provider First Name")?,
            middle_name: at("Provider Middle Name")?,
            credential: at("Provider Credential Text")?,
            line1: at("Provider First Line Business Practice Location Address")?,
            line2: at("Provider Second Line Business Practice Location Address")?,
            city: at(&format!("{practice} City Name"))?,
            state: at(&format!("{practice} State Name"))?,
            postal_code: at(&format!("{practice} Postal Code"))?,
            country: at(&format!("{practice} Country Code (If outside U.S.)"))?,
            phone: at(&format!("{practice} Telephone Number"))?,
            last_update: at("Last Update Date")?,
            deactivated: at("NPI Deactivation Date")?,
            reactivated: at("NPI Reactivation Date")?,
            taxonomy: slots("Healthcare Provider Taxonomy Code")?,
            licence: slots("Provider License Number")?,
            licence_state: slots("Provider License Number State Code")?,
            primary: slots("Healthcare Provider Primary Taxonomy Switch")?,
        })
    }
}

/// Counts the bytes read through it (the file's progress).
struct Counting<R> {
    inner: R,
    progress: Arc<ScanProgress>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        let read = self.inner.read(buffer)?;
        self.progress
            .bytes
            .fetch_add(read as u64, Ordering::Relaxed);
        Ok(read)
    }
}

/// A row's fields, read off the raw record without allocating.
struct Row<'a> {
    record: &'a csv::ByteRecord,
}

impl<'a> Row<'a> {
    fn bytes(&self, at: usize) -> &'a [u8] {
        self.record.get(at).unwrap_or_default()
    }
    fn text(&self, at: usize) -> &'a str {
        std::str::from_utf8(self.bytes(at)).unwrap_or("").trim()
    }
    fn owned(&self, at: usize) -> Option<String> {
        let text = self.text(at);
        (!text.is_empty()).then(|| text.to_owned())
    }
}

/// Whether the row passes the filter, read off the raw record (no allocation).
fn passes(row: &Row<'_>, columns: &Columns, filter: &NppesFilter) -> bool {
    if !filter.states.is_empty() {
        let state = row.text(columns.state);
        if !filter.states.contains(state) {
            return false;
        }
    }
    filter.taxonomies.is_empty()
        || columns
            .taxonomy
            .iter()
            .any(|&at| filter.taxonomies.contains(row.text(at)))
}

/// NPPES dates are MM/DD/YYYY.
fn date(text: &str) -> Result<Option<NaiveDate>, String> {
    if text.is_empty() {
        return Ok(None);
    }
    NaiveDate::parse_from_str(text, "%m/%d/%Y")
        .map(Some)
        .map_err(|_| format!("`{text}` is not a date (MM/DD/YYYY)"))
}

/// The degree NPPES credential text stands for: the first word that names one ("M.D., FAAN",
/// "MD, PHD" and "MD MPH" are MD; "NP-C" and "FNP-BC" NP; "PA-C" PA). `None` when no word does:
/// the text is kept as written and a reviewer sets the degree.
pub fn degree_of(credential_text: &str) -> Option<Degree> {
    credential_text
        .split([',', ' ', '/', ';', '(', ')'])
        .map(|word| {
            word.chars()
                .filter(|c| c.is_ascii_alphanumeric())
                .collect::<String>()
                .to_ascii_uppercase()
        })
        .find_map(|word| match word.as_str() {
            "MD" => Some(Degree::Md),
            "DO" => Some(Degree::Do),
            "NP" | "NPC" | "FNP" | "FNPC" | "FNPBC" | "ANP" | "ANPBC" | "ANPC" | "AGNP"
            | "AGNPC" | "AGACNP" | "AGACNPBC" | "ACNP" | "ACNPBC" | "AGPCNP" | "AGPCNPBC"
            | "CRNP" | "APRN" | "APN" | "DNP" => Some(Degree::Np),
            "PA" | "PAC" => Some(Degree::Pa),
            "RN" => Some(Degree::Rn),
            "DDS" => Some(Degree::Dds),
            "DMD" => Some(Degree::Dmd),
            "DPM" => Some(Degree::Dpm),
            _ => None,
        })
}

/// The practice location, placed at its ZIP code's centroid; why not, when it cannot be.
fn place(row: &Row<'_>, columns: &Columns) -> Result<NppesPlace, String> {
    let country = row.text(columns.country);
    if !country.is_empty() && country != "US" {
        return Err(format!(
            "the practice location is outside the US (country {country})"
        ));
    }
    let state = row.text(columns.state);
    if !is_us_state(state) {
        return Err(format!("`{state}` is not a US state code"));
    }
    let postal_code = row.text(columns.postal_code);
    let placed = place_zip(postal_code)
        .ok_or_else(|| format!("ZIP code `{postal_code}` is unknown: the row cannot be placed"))?;
    let line1 = row
        .owned(columns.line1)
        .ok_or("the practice location has no address")?;
    let phone = row.text(columns.phone);
    let phone = (phone.len() == 10 && phone.bytes().all(|b| b.is_ascii_digit()))
        .then(|| format!("+1-{}-{}-{}", &phone[..3], &phone[3..6], &phone[6..]));
    Ok(NppesPlace {
        line1,
        line2: row.owned(columns.line2),
        city: row.owned(columns.city).unwrap_or_default(),
        state: state.to_owned(),
        postal_code: postal_code.get(..5).unwrap_or(postal_code).to_owned(),
        phone,
        coordinates: placed.coordinates,
        timezone: placed.timezone,
    })
}

fn taxonomies(row: &Row<'_>, columns: &Columns) -> (Option<String>, Vec<String>) {
    let mut primary = None;
    let mut all = Vec::new();
    for slot in 0..SLOTS {
        let Some(code) = row.owned(columns.taxonomy[slot]) else {
            continue;
        };
        if primary.is_none() && row.text(columns.primary[slot]) == "Y" {
            primary = Some(code.clone());
        }
        if !all.contains(&code) {
            all.push(code);
        }
    }
    // Without a `Y` switch the first code is the primary one.
    let primary = primary.or_else(|| all.first().cloned());
    let others = all
        .into_iter()
        .filter(|code| Some(code) != primary.as_ref())
        .collect();
    (primary, others)
}

/// A matching row as a record, or why it cannot be one.
fn record_of(row: &Row<'_>, columns: &Columns) -> Result<NppesRecord, String> {
    let npi = row.text(columns.npi).to_owned();
    let last_update_on = date(row.text(columns.last_update))?;
    let deactivated_on = date(row.text(columns.deactivated))?;
    let reactivated_on = date(row.text(columns.reactivated))?;
    let entity_type = row.text(columns.entity_type);
    if entity_type.is_empty() {
        // A deactivated NPI: CMS keeps only the NPI and the deactivation date.
        let deactivated_on =
            deactivated_on.ok_or("a row without an entity type and without a deactivation date")?;
        return Ok(NppesRecord::Deactivated {
            npi,
            deactivated_on,
        });
    }
    let (primary, others) = taxonomies(row, columns);
    let primary = primary.ok_or("the row has no taxonomy code")?;
    let practice = place(row, columns)?;
    match entity_type {
        "1" => {
            let mut licences = Vec::new();
            for slot in 0..SLOTS {
                if let (Some(number), Some(state)) = (
                    row.owned(columns.licence[slot]),
                    row.owned(columns.licence_state[slot]),
                ) {
                    let licence = NppesLicence { number, state };
                    if !licences.contains(&licence) {
                        licences.push(licence);
                    }
                }
            }
            let credential_text = row.owned(columns.credential);
            Ok(NppesRecord::Individual(NppesIndividual {
                npi,
                last_update_on,
                reactivated_on,
                given_name: row.owned(columns.first_name).unwrap_or_default(),
                middle_name: row.owned(columns.middle_name),
                family_name: row.owned(columns.last_name).unwrap_or_default(),
                degree: credential_text.as_deref().and_then(degree_of),
                credential_text,
                primary_taxonomy: primary,
                other_taxonomies: others,
                licences,
                practice,
            }))
        }
        "2" => Ok(NppesRecord::Organisation(NppesOrganisation {
            npi,
            last_update_on,
            reactivated_on,
            name: row
                .owned(columns.organisation_name)
                .ok_or("an organisation without a name")?,
            taxonomies: std::iter::once(primary).chain(others).collect(),
            practice,
        })),
        other => Err(format!("entity type `{other}` is neither 1 nor 2")),
    }
}

/// Streams the file's matching rows, a chunk at a time, from a thread of its own. The header is
/// read (and every column found) before the thread starts: a missing column fails here.
pub struct NppesReader {
    queue: std::sync::mpsc::Receiver<Vec<ReadRow>>,
    chunk: std::vec::IntoIter<ReadRow>,
    reader: Option<std::thread::JoinHandle<()>>,
}

const CHUNK: usize = 256;

impl NppesReader {
    pub fn start(
        input: impl Read + Send + 'static,
        filter: NppesFilter,
        progress: Arc<ScanProgress>,
    ) -> Result<NppesReader, NppesFileError> {
        let counting = Counting {
            inner: input,
            progress: progress.clone(),
        };
        let mut csv = csv::ReaderBuilder::new()
            .flexible(true)
            .buffer_capacity(1 << 20)
            .from_reader(counting);
        let header = csv
            .byte_headers()
            .map_err(|e| NppesFileError::Header(e.to_string()))?
            .clone();
        let columns = Columns::find(&header)?;
        let (sender, queue) = std::sync::mpsc::sync_channel(8);
        let reader = std::thread::spawn(move || {
            let mut record = csv::ByteRecord::new();
            let mut chunk = Vec::with_capacity(CHUNK);
            loop {
                let line = csv.position().line() + 1;
                match csv.read_byte_record(&mut record) {
                    Ok(true) => {}
                    Ok(false) => break,
                    Err(error) => {
                        chunk.push((line, Err(format!("malformed CSV: {error}"))));
                        progress.rows.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                }
                let line = record.position().map(|p| p.line()).unwrap_or(line);
                progress.rows.fetch_add(1, Ordering::Relaxed);
                let row = Row { record: &record };
                let deactivated_only = row.text(columns.entity_type).is_empty();
                if !deactivated_only && !passes(&row, &columns, &filter) {
                    continue;
                }
                progress.matched.fetch_add(1, Ordering::Relaxed);
                chunk.push((line, record_of(&row, &columns)));
                if chunk.len() == CHUNK {
                    let full = std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK));
                    if sender.send(full).is_err() {
                        return; // the writer stopped
                    }
                }
            }
            if !chunk.is_empty() {
                let _ = sender.send(chunk);
            }
        });
        Ok(NppesReader {
            queue,
            chunk: Vec::new().into_iter(),
            reader: Some(reader),
        })
    }
}

impl Iterator for NppesReader {
    type Item = ReadRow;

    fn next(&mut self) -> Option<ReadRow> {
        loop {
            if let Some(row) = self.chunk.next() {
                return Some(row);
            }
            match self.queue.recv() {
                Ok(chunk) => self.chunk = chunk.into_iter(),
                Err(_) => {
                    if let Some(Err(panic)) = self.reader.take().map(|reader| reader.join()) {
                        std::panic::resume_unwind(panic);
                    }
                    return None;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_text_maps_to_a_degree_or_stays_raw() {
        for (text, degree) in [
            ("M.D.", Some(Degree::Md)),
            ("MD", Some(Degree::Md)),
            ("MD, PHD", Some(Degree::Md)),
            ("M.D., FAAN", Some(Degree::Md)),
            ("MD MPH", Some(Degree::Md)),
            ("D.O.", Some(Degree::Do)),
            ("DO", Some(Degree::Do)),
            ("NP-C", Some(Degree::Np)),
            ("FNP-BC", Some(Degree::Np)),
            ("PA-C", Some(Degree::Pa)),
            ("DDS", Some(Degree::Dds)),
            ("PHD", None),
            ("MBBS", None),
            ("", None),
        ] {
            assert_eq!(degree_of(text), degree, "{text}");
        }
    }
}
