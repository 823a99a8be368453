//! Near-me search: geodesy, the in-memory spatial index, the ranking formula and the top-k engine.
//! The spatial part is behind `index` and `engine` only, so another backend's index can replace it.

pub mod cursor;
pub mod engine;
pub mod entries;
pub mod feed;
pub mod geodesy;
pub mod index;
pub mod loader;
pub mod places;
pub mod ranking;
pub mod zip_codes;

pub use engine::{
    search, search_exhaustive, search_with, Filters, RankKey, SearchMode, SearchOutcome,
    SearchRequest, Sort,
};
pub use index::{Affected, SearchIndex};

/// What building or refreshing the search index can fail with.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error(transparent)]
    Database(#[from] crate::db::DbError),
    /// A stored value the index cannot read (a migration or a writer let it in).
    #[error("stored data the index cannot read: {0}")]
    Corrupt(String),
}

impl SearchError {
    pub fn corrupt(cause: impl std::fmt::Display) -> SearchError {
        SearchError::Corrupt(cause.to_string())
    }
}

impl From<diesel::result::Error> for SearchError {
    fn from(error: diesel::result::Error) -> SearchError {
        SearchError::Database(error.into())
    }
}

pub type SearchResult<T> = Result<T, SearchError>;
