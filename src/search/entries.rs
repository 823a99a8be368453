//! The entries of the in-memory read model: what search keeps of each clinic, location and
//! verified provider, laid out to be small (a national directory holds millions of them): shared
//! strings interned once ([`Interner`]), a location's display texts in one allocation
//! ([`PackedTexts`]), and the place names (city, state, ZIP code, country) that many locations
//! share behind one pointer.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use chrono_tz::Tz;

use super::geodesy::unit_vector;
use super::{SearchError, SearchResult};
use crate::domain::{CompiledHours, CredentialKind, Degree, Freshness, SourceType, WeeklyHours};

/// A shared, immutable string. Codes, cities, states, issuers and names repeat across a national
/// directory: the index keeps one copy of each (see [`Interner`]).
pub type Sym = Arc<str>;

/// One copy of each repeated string the index holds.
#[derive(Default)]
pub struct Interner {
    strings: HashSet<Sym>,
    hours: HashMap<String, Arc<CompiledHours>>,
    places: HashSet<Arc<PlaceNames>>,
    credential_names: HashSet<Arc<CredentialNames>>,
}

impl Interner {
    pub fn intern(&mut self, text: &str) -> Sym {
        if let Some(existing) = self.strings.get(text) {
            return existing.clone();
        }
        let sym: Sym = Arc::from(text);
        self.strings.insert(sym.clone());
        sym
    }

    /// Takes in another interner's strings (after loading in parallel).
    pub(super) fn absorb(&mut self, other: Interner) {
        self.strings.extend(other.strings);
        self.hours.extend(other.hours);
        self.places.extend(other.places);
        self.credential_names.extend(other.credential_names);
    }

    /// One shared copy of these place names (a ZIP code's locations share one).
    pub fn place(
        &mut self,
        city: &str,
        state: &str,
        postal_code: &str,
        country: &str,
    ) -> Arc<PlaceNames> {
        let names = PlaceNames(PackedTexts::new([
            Some(city),
            Some(state),
            Some(postal_code),
            Some(country),
        ]));
        one_copy(&mut self.places, names)
    }

    /// One shared copy of a credential's issuer, jurisdiction and specialty (a state board's
    /// licences share one).
    pub fn credential_names(
        &mut self,
        issuer: &str,
        jurisdiction: Option<&str>,
        specialty_code: Option<&str>,
    ) -> Arc<CredentialNames> {
        one_copy(
            &mut self.credential_names,
            CredentialNames::new(issuer, jurisdiction, specialty_code),
        )
    }

    /// The compiled weekly hours of this JSON text (clinics and their branches mostly share a
    /// handful of schedules, and compiled hours are seven small vectors).
    pub(super) fn hours(&mut self, json: &str) -> SearchResult<Arc<CompiledHours>> {
        if let Some(hours) = self.hours.get(json) {
            return Ok(hours.clone());
        }
        let weekly_hours: WeeklyHours = serde_json::from_str(json).map_err(SearchError::corrupt)?;
        let hours = Arc::new(
            weekly_hours
                .compile("/opening_hours")
                .map_err(|_| SearchError::corrupt("stored opening hours are invalid"))?,
        );
        self.hours.insert(json.to_owned(), hours.clone());
        Ok(hours)
    }
}

/// The copy of `value` that `set` already holds, or `value`, now held.
fn one_copy<T: std::hash::Hash + Eq>(set: &mut HashSet<Arc<T>>, value: T) -> Arc<T> {
    if let Some(existing) = set.get(&value) {
        return existing.clone();
    }
    let value = Arc::new(value);
    set.insert(value.clone());
    value
}

/// Up to `N` optional texts in one allocation: end to end in `text`, with where each ends and
/// which are present. Four separate `Option<Box<str>>` cost 64 bytes of pointers and up to four
/// allocations (each rounded up, with its own header); this costs 24 + 4·`N` bytes and one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PackedTexts<const N: usize> {
    text: Box<str>,
    ends: [u32; N],
    present: u8,
}

impl<const N: usize> PackedTexts<N> {
    pub fn new(texts: [Option<&str>; N]) -> Self {
        debug_assert!(N <= 8, "`present` has eight bits");
        let mut text = String::with_capacity(texts.iter().flatten().map(|t| t.len()).sum());
        let (mut ends, mut present) = ([0u32; N], 0u8);
        for (field, value) in texts.iter().enumerate() {
            if let Some(value) = value {
                text.push_str(value);
                present |= 1 << field;
            }
            // Stored texts are bounded far below 4 GiB (the API and the importers cap them).
            ends[field] = u32::try_from(text.len()).unwrap_or(u32::MAX);
        }
        PackedTexts {
            text: text.into_boxed_str(),
            ends,
            present,
        }
    }

    /// The `field`-th text, if present.
    pub fn get(&self, field: usize) -> Option<&str> {
        if self.present & (1 << field) == 0 {
            return None;
        }
        let start = if field == 0 { 0 } else { self.ends[field - 1] };
        self.text.get(start as usize..self.ends[field] as usize)
    }
}

/// A location's city, state, ZIP code and country: interned, so the locations of one ZIP code
/// share one copy behind one pointer.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PlaceNames(PackedTexts<4>);

impl PlaceNames {
    pub fn city(&self) -> &str {
        self.0.get(0).unwrap_or_default()
    }
    pub fn state(&self) -> &str {
        self.0.get(1).unwrap_or_default()
    }
    pub fn postal_code(&self) -> &str {
        self.0.get(2).unwrap_or_default()
    }
    pub fn country(&self) -> &str {
        self.0.get(3).unwrap_or_default()
    }
}

/// A clinic as search shows it (its name is also matched by the free-text filter).
#[derive(Debug, Clone)]
pub struct ClinicEntry {
    pub id: i64,
    /// name, website, phone
    texts: PackedTexts<3>,
}

impl ClinicEntry {
    pub fn new(id: i64, name: &str, website: Option<&str>, phone: Option<&str>) -> ClinicEntry {
        ClinicEntry {
            id,
            texts: PackedTexts::new([Some(name), website, phone]),
        }
    }
    pub fn name(&self) -> &str {
        self.texts.get(0).unwrap_or_default()
    }
    pub fn website(&self) -> Option<&str> {
        self.texts.get(1)
    }
    pub fn phone(&self) -> Option<&str> {
        self.texts.get(2)
    }
}

/// A location as search filters, ranks and shows it.
#[derive(Debug, Clone)]
pub struct LocationEntry {
    pub id: i64,
    pub clinic_id: i64,
    pub latitude: f64,
    pub longitude: f64,
    /// name, address line 1, address line 2, phone
    pub texts: PackedTexts<4>,
    pub place: Arc<PlaceNames>,
    pub timezone: Tz,
    pub hours: Arc<CompiledHours>,
    /// The trees that hold this location: (forest, credential tier). Forest 0 holds every
    /// location with a public provider; forest `1 + t` those where one offers treatment `t`.
    pub placements: Box<[(u16, u8)]>,
    /// Every provider linked here; only those in the index's provider map are public.
    pub provider_ids: Box<[i64]>,
}

impl LocationEntry {
    pub fn name(&self) -> Option<&str> {
        self.texts.get(0)
    }
    pub fn address_line1(&self) -> &str {
        self.texts.get(1).unwrap_or_default()
    }
    pub fn address_line2(&self) -> Option<&str> {
        self.texts.get(2)
    }
    pub fn phone(&self) -> Option<&str> {
        self.texts.get(3)
    }
    /// The state (or DC, or a territory) whose licence a provider needs to be listed here.
    pub fn state(&self) -> &str {
        self.place.state()
    }

    /// The location's point on the unit sphere (where the R*-trees hold it).
    pub fn point(&self) -> [f64; 3] {
        unit_vector(self.latitude, self.longitude)
    }
}

/// A credential's issuer, jurisdiction and specialty: interned, so the many credentials one
/// board issues share one copy behind one pointer.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CredentialNames(PackedTexts<3>);

impl CredentialNames {
    pub fn new(issuer: &str, jurisdiction: Option<&str>, specialty_code: Option<&str>) -> Self {
        CredentialNames(PackedTexts::new([
            Some(issuer),
            jurisdiction,
            specialty_code,
        ]))
    }
}

/// A verified credential (unexpired or not: freshness is decided per request).
#[derive(Debug, Clone)]
pub struct VerifiedCredential {
    pub id: i64,
    pub kind: CredentialKind,
    pub names: Arc<CredentialNames>,
    pub expires_on: Option<NaiveDate>,
    pub verified_at: Option<NaiveDateTime>,
    pub source_type: Option<SourceType>,
    pub next_due_on: Option<NaiveDate>,
}

impl VerifiedCredential {
    pub fn issuer(&self) -> &str {
        self.names.0.get(0).unwrap_or_default()
    }
    pub fn jurisdiction(&self) -> Option<&str> {
        self.names.0.get(1)
    }
    pub fn specialty_code(&self) -> Option<&str> {
        self.names.0.get(2)
    }

    /// Unexpired and not overdue for re-verification beyond the grace.
    pub fn counts(&self, freshness: &Freshness) -> bool {
        freshness.counts(self.expires_on, self.next_due_on)
    }

    /// A state licence for `state` (verified: the index holds no other kind).
    pub fn is_licence_for(&self, state: &str) -> bool {
        self.kind == CredentialKind::StateLicense && self.jurisdiction() == Some(state)
    }
}

/// A verified provider, as search needs it.
#[derive(Debug, Clone)]
pub struct ProviderEntry {
    pub id: i64,
    pub npi: Box<str>,
    pub given_name: Sym,
    pub family_name: Sym,
    pub degree: Degree,
    pub primary_specialty_code: Sym,
    pub specialty_codes: Box<[Sym]>,
    pub practice_start_year: Option<i32>,
    pub languages: Box<[Sym]>,
    pub accepting_new_patients: bool,
    /// (treatment code, recorded procedures a year)
    pub treatments: Box<[(Sym, Option<i32>)]>,
    pub credentials: Box<[VerifiedCredential]>,
    /// A name-and-date-of-birth screening match waits for a reviewer.
    pub screening_under_review: bool,
}

impl ProviderEntry {
    /// Listed in public search at a location in `state`: a verified state licence for that
    /// state (DC and the territories are states here) that counts today.
    pub fn is_listed_in(&self, state: &str, freshness: &Freshness) -> bool {
        self.active_credentials(freshness)
            .any(|c| c.is_licence_for(state))
    }

    /// Could be listed in `state` at some time: a verified licence there, expired or not (what
    /// the tier ceilings assume).
    pub fn may_be_listed_in(&self, state: &str) -> bool {
        self.credentials.iter().any(|c| c.is_licence_for(state))
    }

    pub fn active_credentials<'a>(
        &'a self,
        freshness: &'a Freshness,
    ) -> impl Iterator<Item = &'a VerifiedCredential> {
        self.credentials.iter().filter(move |c| c.counts(freshness))
    }

    pub fn years_of_experience(&self, today: NaiveDate) -> Option<u32> {
        self.practice_start_year
            .map(|start| (today.year() - start).max(0) as u32)
    }

    /// Whether "given family" contains `needle` (already lower-cased), ignoring case.
    pub fn name_contains(&self, needle: &str) -> bool {
        contains_ignoring_case(&format!("{} {}", self.given_name, self.family_name), needle)
    }
}

/// Whether `haystack` contains `needle` (already lower-cased), ignoring case; allocates only for
/// non-ASCII text.
pub fn contains_ignoring_case(haystack: &str, needle: &str) -> bool {
    if haystack.is_ascii() {
        let (haystack, needle) = (haystack.as_bytes(), needle.as_bytes());
        needle.is_empty()
            || haystack
                .windows(needle.len())
                .any(|window| window.eq_ignore_ascii_case(needle))
    } else {
        haystack.to_lowercase().contains(needle)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_texts_give_back_each_text_absent_empty_or_not() {
        let texts = PackedTexts::new([Some("Suite 4"), None, Some(""), Some("Zoë’s clinic")]);
        assert_eq!(texts.get(0), Some("Suite 4"));
        assert_eq!(texts.get(1), None);
        assert_eq!(texts.get(2), Some(""));
        assert_eq!(texts.get(3), Some("Zoë’s clinic"));
        let none = PackedTexts::new([None, None]);
        assert_eq!((none.get(0), none.get(1)), (None, None));
    }

    #[test]
    fn equal_place_and_credential_names_are_one_shared_copy() {
        let mut interner = Interner::default();
        let a = interner.place("Albany", "NY", "12207", "US");
        let b = interner.place("Albany", "NY", "12207", "US");
        let c = interner.place("Albany", "NY", "12208", "US");
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &c));
        assert_eq!(
            (a.city(), a.state(), c.postal_code(), c.country()),
            ("Albany", "NY", "12208", "US")
        );
        let licence = interner.credential_names("NYSED", Some("NY"), None);
        let again = interner.credential_names("NYSED", Some("NY"), None);
        let board = interner.credential_names("NYSED", None, Some("NY"));
        assert!(Arc::ptr_eq(&licence, &again));
        // The same texts in other fields are another credential's names.
        assert!(!Arc::ptr_eq(&licence, &board));
    }
}
