//! Opaque pagination cursors. A search cursor carries the last result's rank key and a fingerprint
//! of the query it belongs to, so a cursor given to another query is refused rather than
//! silently paging through the wrong results; and it is signed (HMAC-SHA256 with the service's
//! [`CursorKey`]), so a client cannot forge a rank key that makes a search walk every candidate
//! in its radius. Every replica holds the same key (configured, or kept in the database), so a
//! cursor from one is good on another.

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

/// Bytes of the signature at the end of a search cursor.
const TAG_LEN: usize = 16;

/// The key search cursors are signed with (derived from a configured or stored secret).
#[derive(Clone)]
pub struct CursorKey([u8; 32]);

impl CursorKey {
    pub fn from_secret(secret: &str) -> CursorKey {
        CursorKey(Sha256::digest(secret.as_bytes()).into())
    }

    /// The first [`TAG_LEN`] bytes of HMAC-SHA256(key, payload).
    fn tag(&self, payload: &[u8]) -> [u8; TAG_LEN] {
        let mac = hmac_sha256(&self.0, payload);
        let mut tag = [0u8; TAG_LEN];
        tag.copy_from_slice(&mac[..TAG_LEN]);
        tag
    }
}

impl std::fmt::Debug for CursorKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CursorKey(**redacted**)")
    }
}

/// HMAC-SHA256 (RFC 2104) for keys up to the 64-byte block.
fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.map(|b| b ^ byte);
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .into()
}

/// Equal byte strings, compared in time that does not depend on where they differ.
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub fn encode_search(signer: &CursorKey, fingerprint: &str, key: &RankKey) -> String {
    let cursor = SearchCursor {
        q: fingerprint.to_owned(),
        p: key.primary.to_bits(),
        d: key.distance_m.to_bits(),
        i: key.id,
    };
    let mut bytes = serde_json::to_vec(&cursor).unwrap_or_default();
    let tag = signer.tag(&bytes);
    // One base64url token (payload, then its 16-byte tag): the documented cursor pattern.
    bytes.extend_from_slice(&tag);
    URL_SAFE_NO_PAD.encode(bytes)
}

#[derive(Debug, PartialEq)]
pub enum CursorError {
    Malformed,
    OtherQuery,
}

pub fn decode_search(
    signer: &CursorKey,
    text: &str,
    fingerprint: &str,
) -> Result<RankKey, CursorError> {
    let signed = URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|_| CursorError::Malformed)?;
    let Some(split) = signed.len().checked_sub(TAG_LEN).filter(|at| *at > 0) else {
        return Err(CursorError::Malformed);
    };
    let (bytes, tag) = signed.split_at(split);
    if !same_bytes(tag, &signer.tag(bytes)) {
        return Err(CursorError::Malformed);
    }
    let cursor: SearchCursor = serde_json::from_slice(bytes).map_err(|_| CursorError::Malformed)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231() {
        // Test case 2.
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // Test case 6: a key longer than the block is hashed first.
        let mac = hmac_sha256(
            &[0xaa; 131],
            b"Test Using Larger Than Block-Size Key - Hash Key First",
        );
        assert_eq!(
            hex::encode(mac),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn cursors_are_signed() {
        let (signer, other) = (CursorKey::from_secret("one"), CursorKey::from_secret("two"));
        let key = RankKey {
            primary: 0.5,
            distance_m: 1200.0,
            id: 7,
        };
        let cursor = encode_search(&signer, "q", &key);
        assert_eq!(decode_search(&signer, &cursor, "q"), Ok(key));
        assert_eq!(
            decode_search(&signer, &cursor, "r"),
            Err(CursorError::OtherQuery)
        );
        assert_eq!(
            decode_search(&other, &cursor, "q"),
            Err(CursorError::Malformed)
        );
        // The payload alone, or re-signed by nobody, is refused.
        let signed = URL_SAFE_NO_PAD.decode(&cursor).unwrap();
        let payload = URL_SAFE_NO_PAD.encode(&signed[..signed.len() - TAG_LEN]);
        assert_eq!(
            decode_search(&signer, &payload, "q"),
            Err(CursorError::Malformed)
        );
        // The documented pattern, and nothing else.
        assert!(cursor
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'));
    }
}
