//! US places (GeoNames populated places, CC BY 4.0), embedded at build time: search resolves a
//! `place` ("Chicago", "Springfield, MO") to its centre offline, and the demo draws its cities
//! from the same table.
//!
//! Resolving: letters are compared without case or accents, runs of spaces as one, `St.`/`St` as
//! `Saint` (likewise `Ft.` and `Mt.`); a name ending in "City" also answers to the name without
//! it when no place has that name ("New York" is New York City). "Name, ST" looks in that state
//! only. A name found in several states is ambiguous unless its most populous place has at least
//! [`DOMINANCE`] times the people of the next ("Boston" is Boston, MA; "Portland" and
//! "Springfield" are ambiguous). In one state, the most populous of equal names is meant.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::domain::{is_us_state, Coordinates};

static CITIES_CSV: &str = include_str!("../../assets/geo/us_cities.csv");

/// Longest `place` accepted, characters.
pub const MAX_PLACE_LEN: usize = 100;
/// The OpenAPI pattern of `place`; [`is_place_text`] accepts exactly these strings.
pub const PLACE_PATTERN: &str = "^[A-Za-z0-9À-ÖØ-öø-ſʻ‘’' .,()/-]{2,100}$";
/// How many times more people the largest place of a name needs than the next, in another state,
/// to be what the name means.
pub const DOMINANCE: u64 = 10;
/// Most choices an ambiguous name answers with.
pub const MAX_CANDIDATES: usize = 10;

/// A populated place.
#[derive(Debug, Clone, PartialEq)]
pub struct Place {
    pub name: String,
    /// USPS code.
    pub state: String,
    pub centre: Coordinates,
    pub population: u64,
    /// IANA timezone.
    pub timezone: String,
}

impl Place {
    /// "Springfield, MO": what to send back as `place` to mean this one.
    pub fn label(&self) -> String {
        format!("{}, {}", self.name, self.state)
    }
}

/// Why a `place` gives no centre.
#[derive(Debug, Clone, PartialEq)]
pub enum PlaceError {
    /// Not a place name at all (see [`PLACE_PATTERN`]).
    Invalid,
    /// Well formed, but no place of the table has that name (in that state).
    Unknown,
    /// Places of that name in several states, the most populous first.
    Ambiguous(Vec<&'static Place>),
}

struct Table {
    places: Vec<Place>,
    /// Folded name → places (indices), and folded name without a trailing " city" → places.
    by_name: HashMap<String, Vec<usize>>,
    by_short_name: HashMap<String, Vec<usize>>,
}

/// Every place of the table, in the file's order. Rows that do not parse, lack a population, or
/// name a timezone chrono-tz does not know are left out.
pub fn all() -> &'static [Place] {
    &table().places
}

fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| {
        let places = parse(CITIES_CSV);
        let mut by_name: HashMap<String, Vec<usize>> = HashMap::new();
        let mut by_short_name: HashMap<String, Vec<usize>> = HashMap::new();
        for (index, place) in places.iter().enumerate() {
            let folded = fold(&place.name);
            if let Some(short) = folded.strip_suffix(" city").filter(|s| !s.is_empty()) {
                by_short_name
                    .entry(short.to_owned())
                    .or_default()
                    .push(index);
            }
            by_name.entry(folded).or_default().push(index);
        }
        Table {
            places,
            by_name,
            by_short_name,
        }
    })
}

/// Parses `geonameid,name,state,latitude,longitude,population,timezone` (quoted fields allowed).
fn parse(text: &str) -> Vec<Place> {
    csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(text.as_bytes())
        .into_records()
        .flatten()
        .filter_map(|record| {
            let fields: Vec<&str> = record.iter().collect();
            let &[_, name, state, latitude, longitude, population, timezone] = fields.as_slice()
            else {
                return None;
            };
            let centre = Coordinates::new(
                latitude.trim().parse().ok()?,
                longitude.trim().parse().ok()?,
            )
            .ok()?;
            let population: u64 = population.trim().parse().ok()?;
            let plausible = population > 0
                && state.len() == 2
                && !name.is_empty()
                && timezone.parse::<chrono_tz::Tz>().is_ok();
            plausible.then(|| Place {
                name: name.to_owned(),
                state: state.to_owned(),
                centre,
                population,
                timezone: timezone.to_owned(),
            })
        })
        .collect()
}

fn is_place_char(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || " '.,()/-".contains(c)
        || (('\u{C0}'..='\u{17F}').contains(&c) && c != '\u{D7}' && c != '\u{F7}')
        || matches!(c, 'ʻ' | '‘' | '’')
}

/// Whether `text` is a place name as [`PLACE_PATTERN`] states it: 2 to 100 of those characters.
pub fn is_place_text(text: &str) -> bool {
    (2..=MAX_PLACE_LEN).contains(&text.chars().count()) && text.chars().all(is_place_char)
}

/// The comparison form of a name: lower case, accents and okina dropped, one space between words,
/// `st`/`ft`/`mt` spelled out.
fn fold(name: &str) -> String {
    let plain: String = name
        .chars()
        .filter_map(|c| match c {
            'ʻ' | '‘' | '’' | '\'' => None,
            'à'..='å' | 'À'..='Å' | 'ā' | 'Ā' => Some('a'),
            'è'..='ë' | 'È'..='Ë' | 'ē' | 'Ē' => Some('e'),
            'ì'..='ï' | 'Ì'..='Ï' | 'ī' | 'Ī' => Some('i'),
            'ò'..='ö' | 'Ò'..='Ö' | 'ō' | 'Ō' => Some('o'),
            'ù'..='ü' | 'Ù'..='Ü' | 'ū' | 'Ū' => Some('u'),
            'ñ' | 'Ñ' => Some('n'),
            'ç' | 'Ç' => Some('c'),
            c => Some(c.to_ascii_lowercase()),
        })
        .collect();
    plain
        .split_whitespace()
        .map(|word| match word {
            "st" | "st." => "saint",
            "ft" | "ft." => "fort",
            "mt" | "mt." => "mount",
            word => word,
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The place `text` names.
pub fn resolve(text: &str) -> Result<&'static Place, PlaceError> {
    if !is_place_text(text) {
        return Err(PlaceError::Invalid);
    }
    let table = table();
    // "Name, ST" when the part after the last comma is a state code; else the whole text is a name
    // (some names have commas of their own).
    let (name, state) = match text.rsplit_once(',') {
        Some((name, state)) if is_us_state(&state.trim().to_ascii_uppercase()) => {
            (name, Some(state.trim().to_ascii_uppercase()))
        }
        _ => (text, None),
    };
    let folded = fold(name);
    let in_state = |indices: &Vec<usize>| -> Vec<&'static Place> {
        indices
            .iter()
            .map(|&index| &table.places[index])
            .filter(|place| state.as_ref().is_none_or(|state| place.state == *state))
            .collect()
    };
    let mut found = table.by_name.get(&folded).map(in_state).unwrap_or_default();
    if found.is_empty() {
        found = table
            .by_short_name
            .get(&folded)
            .map(in_state)
            .unwrap_or_default();
    }
    // The most populous place of each state, the most populous state first.
    found.sort_by_key(|place| std::cmp::Reverse(place.population));
    let mut per_state: Vec<&'static Place> = Vec::new();
    for place in found {
        if !per_state.iter().any(|kept| kept.state == place.state) {
            per_state.push(place);
        }
    }
    match per_state.as_slice() {
        [] => Err(PlaceError::Unknown),
        [only] => Ok(*only),
        [first, second, ..] if first.population >= DOMINANCE * second.population => Ok(*first),
        _ => Err(PlaceError::Ambiguous(
            per_state.into_iter().take(MAX_CANDIDATES).collect(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn label(text: &str) -> String {
        resolve(text)
            .map(Place::label)
            .unwrap_or_else(|e| format!("{e:?}"))
    }

    #[test]
    fn names_resolve_to_places() {
        assert_eq!(label("Chicago"), "Chicago, IL");
        assert_eq!(label("chicago,  il"), "Chicago, IL");
        assert_eq!(label("New York"), "New York City, NY");
        assert_eq!(label("New York, NY"), "New York City, NY");
        assert_eq!(label("Boston"), "Boston, MA");
        assert_eq!(label("Boston, NY"), "Boston, NY");
        assert_eq!(label("Saint Louis"), "St. Louis, MO");
        assert_eq!(label("St Louis, MI"), "Saint Louis, MI");
        assert_eq!(
            label("La Canada Flintridge, CA"),
            "La Cañada Flintridge, CA"
        );
        assert_eq!(label("Hawaii Kai"), "Hawai‘i Kai, HI");
        assert_eq!(label("Stambaugh, Iron River"), "Stambaugh, Iron River, MI");
        let chicago = resolve("Chicago").unwrap();
        assert!((chicago.centre.lat - 41.85003).abs() < 1e-9);
    }

    #[test]
    fn ambiguous_names_list_their_places() {
        let Err(PlaceError::Ambiguous(candidates)) = resolve("Springfield") else {
            panic!("Springfield is in many states");
        };
        assert_eq!(candidates[0].label(), "Springfield, MO");
        assert_eq!(candidates[1].label(), "Springfield, MA");
        assert!(candidates.len() <= MAX_CANDIDATES);
        assert!(candidates
            .windows(2)
            .all(|pair| pair[0].population >= pair[1].population));
        assert!(matches!(resolve("Portland"), Err(PlaceError::Ambiguous(_))));
        assert_eq!(label("Portland, ME"), "Portland, ME");
    }

    #[test]
    fn bad_text_is_told_from_an_unknown_place() {
        assert_eq!(resolve("Nowhereville"), Err(PlaceError::Unknown));
        assert_eq!(resolve("Chicago, ZZ"), Err(PlaceError::Unknown));
        assert_eq!(resolve("Chicago, TX"), Err(PlaceError::Unknown));
        assert_eq!(resolve("x"), Err(PlaceError::Invalid));
        assert_eq!(resolve(&"a".repeat(101)), Err(PlaceError::Invalid));
        assert_eq!(resolve("<script>"), Err(PlaceError::Invalid));
        assert_eq!(resolve("Chicago\u{0}"), Err(PlaceError::Invalid));
        assert!(is_place_text(&"a".repeat(100)));
        // Every name of the table is a valid `place`, with its state.
        for place in all() {
            assert!(is_place_text(&place.label()), "{}", place.label());
        }
    }
}
