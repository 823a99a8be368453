//! Opaque pagination cursors. A search cursor carries the last result's rank key and a fingerprint
//! of the query it belongs to, so a cursor given to another query is refused rather than
//! silently paging through the wrong results.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::RankKey;

#[derive(Debug, Serialize, Deserialize)]
struct SearchCursor {
    /// Query fingerprint.
    q: String,
    /// primary score, distance (f64 bit patterns, so the key round-trips exactly) and id.
    p: u64,
    d: u64,
    i: i64,
}

pub fn fingerprint(canonical_query: &str) -> String {
    hex::encode(&Sha256::digest(canonical_query.as_bytes())[..12])
}

pub fn encode_search(fingerprint: &str, key: &RankKey) -> String {
    let cursor = SearchCursor {
        q: fingerprint.to_owned(),
        p: key.primary.to_bits(),
        d: key.distance_m.to_bits(),
        i: key.id,
    };
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&cursor).unwrap_or_default())
}

#[derive(Debug, PartialEq)]
pub enum CursorError {
    Malformed,
    OtherQuery,
}

pub fn decode_search(text: &str, fingerprint: &str) -> Result<RankKey, CursorError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|_| CursorError::Malformed)?;
    let cursor: SearchCursor =
        serde_json::from_slice(&bytes).map_err(|_| CursorError::Malformed)?;
    let key = RankKey {
        primary: f64::from_bits(cursor.p),
        distance_m: f64::from_bits(cursor.d),
        id: cursor.i,
    };
    if !key.primary.is_finite() || !key.distance_m.is_finite() {
        return Err(CursorError::Malformed);
    }
    if cursor.q != fingerprint {
        return Err(CursorError::OtherQuery);
    }
    Ok(key)
}

/// Cursor for lists ordered by id: the kind of list and the last id.
pub fn encode_list(kind: &str, last_id: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("{kind}:{last_id}"))
}

pub fn decode_list(kind: &str, text: &str) -> Option<i64> {
    let bytes = URL_SAFE_NO_PAD.decode(text).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (cursor_kind, id) = text.split_once(':')?;
    (cursor_kind == kind).then_some(())?;
    id.parse().ok()
}
