//! Partial updates: in a change set, an absent field stays as it is and `null` clears it.

use serde::Deserialize;

/// For optional fields of change sets: distinguishes an absent field (`None`, with
/// `#[serde(default)]`) from an explicit `null` (`Some(None)`).
pub fn nullable<'de, T, D>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: serde::Deserializer<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}
