//! Near-me search: geodesy, the in-memory spatial index, the ranking formula and the top-k engine.
//! The spatial part is behind `index` and `engine` only, so another backend's index can replace it.

pub mod cursor;
pub mod engine;
pub mod feed;
pub mod geodesy;
pub mod index;
pub mod postgis;
pub mod ranking;
pub mod zip_codes;

pub use engine::{
    search, search_exhaustive, search_with, Filters, RankKey, SearchMode, SearchOutcome,
    SearchRequest, Sort,
};
pub use index::{Affected, SearchIndex};
