//! Content negotiation on `Accept` (RFC 9110 §12.5.1), one rule for every `/v1` operation: the
//! offered media type the client rates highest (its `q`, from the most specific range that
//! matches it) is chosen; on a tie, the one the operation offers first (`application/json`
//! before `application/geo+json`); none at `q > 0` is a 406. No `Accept`, or an empty one,
//! accepts anything. Error bodies are `application/problem+json` whatever `Accept` says (a
//! client that can read the answer can read why there is none).

pub const JSON: &str = "application/json";
pub const GEO_JSON: &str = "application/geo+json";

/// One media range of an `Accept` header: `type/subtype` (either may be `*`) and its weight.
struct Range<'a> {
    kind: &'a str,
    subtype: &'a str,
    q: f32,
}

fn ranges(accept: &str) -> impl Iterator<Item = Range<'_>> {
    accept.split(',').filter_map(|range| {
        let mut parts = range.split(';');
        let (kind, subtype) = parts.next()?.trim().split_once('/')?;
        let mut q = 1.0;
        for parameter in parts {
            if let Some((name, value)) = parameter.split_once('=') {
                if name.trim().eq_ignore_ascii_case("q") {
                    // A weight that does not parse makes the range unreadable: it is skipped.
                    q = value
                        .trim()
                        .parse::<f32>()
                        .ok()
                        .filter(|q| (0.0..=1.0).contains(q))?;
                }
            }
        }
        Some(Range {
            kind: kind.trim(),
            subtype: subtype.trim(),
            q,
        })
    })
}

/// The weight `accept` gives `media_type`: that of the most specific range matching it
/// (`type/subtype` over `type/*` over `*/*`), 0 when none does.
fn weight(accept: &str, media_type: &str) -> f32 {
    let (kind, subtype) = media_type.split_once('/').unwrap_or((media_type, ""));
    let mut best: Option<(u8, f32)> = None;
    for range in ranges(accept) {
        let specificity = match (range.kind, range.subtype) {
            (k, s) if k.eq_ignore_ascii_case(kind) && s.eq_ignore_ascii_case(subtype) => 2,
            (k, "*") if k.eq_ignore_ascii_case(kind) => 1,
            ("*", "*") => 0,
            _ => continue,
        };
        if best.is_none_or(|(found, _)| specificity > found) {
            best = Some((specificity, range.q));
        }
    }
    best.map_or(0.0, |(_, q)| q)
}

/// The media type to answer in, among `offered` (in the operation's order of preference), or
/// `None` when `accept` admits none of them.
pub fn choose<'a>(accept: Option<&str>, offered: &[&'a str]) -> Option<&'a str> {
    let Some(accept) = accept.filter(|accept| !accept.trim().is_empty()) else {
        return offered.first().copied();
    };
    let mut chosen: Option<(&str, f32)> = None;
    for &media_type in offered {
        let q = weight(accept, media_type);
        if q > 0.0 && chosen.is_none_or(|(_, best)| q > best) {
            chosen = Some((media_type, q));
        }
    }
    chosen.map(|(media_type, _)| media_type)
}

/// Every `Accept` header of a request, as one list.
pub fn accept_header(headers: &actix_web::http::header::HeaderMap) -> Option<String> {
    let values: Vec<&str> = headers
        .get_all(actix_web::http::header::ACCEPT)
        .filter_map(|value| value.to_str().ok())
        .collect();
    (!values.is_empty()).then(|| values.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEARCH: [&str; 2] = [JSON, GEO_JSON];

    #[test]
    fn json_unless_the_client_prefers_geojson() {
        assert_eq!(choose(None, &SEARCH), Some(JSON));
        assert_eq!(choose(Some(""), &SEARCH), Some(JSON));
        assert_eq!(choose(Some("*/*"), &SEARCH), Some(JSON));
        assert_eq!(
            choose(Some("application/geo+json"), &SEARCH),
            Some(GEO_JSON)
        );
        // Equal weights: the operation's first offer, whatever order the client lists them in.
        assert_eq!(
            choose(Some("application/geo+json, application/json"), &SEARCH),
            Some(JSON)
        );
        assert_eq!(
            choose(
                Some("application/json;q=0.5, application/geo+json"),
                &SEARCH
            ),
            Some(GEO_JSON)
        );
        // The most specific range decides: `application/*` does not lift a refused type.
        assert_eq!(
            choose(Some("application/*, application/json;q=0"), &SEARCH),
            Some(GEO_JSON)
        );
    }

    #[test]
    fn nothing_acceptable_is_none() {
        assert_eq!(choose(Some("application/xml"), &[JSON]), None);
        assert_eq!(choose(Some("text/*"), &[JSON]), None);
        assert_eq!(choose(Some("application/json;q=0"), &[JSON]), None);
        assert_eq!(choose(Some("application/json;q=2"), &[JSON]), None);
        assert_eq!(choose(Some("garbage"), &[JSON]), None);
        assert_eq!(choose(Some("APPLICATION/JSON"), &[JSON]), Some(JSON));
        assert_eq!(choose(Some("text/html, */*;q=0.1"), &[JSON]), Some(JSON));
    }
}
