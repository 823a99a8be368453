//! Unit tests of `ratelimit` (kept apart to keep the module short).

use super::*;

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

#[test]
fn networks_match_their_addresses_only() {
    let network = IpNetwork::parse("10.1.0.0/16").unwrap();
    assert!(network.contains(ip("10.1.255.3")));
    assert!(!network.contains(ip("10.2.0.1")));
    assert!(network.contains(ip("::ffff:10.1.0.9")));
    let single = IpNetwork::parse("2001:db8::1").unwrap();
    assert!(single.contains(ip("2001:db8::1")));
    assert!(!single.contains(ip("2001:db8::2")));
    assert!(IpNetwork::parse("0.0.0.0/0")
        .unwrap()
        .contains(ip("8.8.8.8")));
    assert!(IpNetwork::parse("10.0.0.0/33").is_err());
    assert!(IpNetwork::parse("example.org").is_err());
}

fn forwarded(value: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        HeaderName::from_static("x-forwarded-for"),
        HeaderValue::from_str(value).unwrap(),
    );
    headers
}

#[test]
fn forwarded_for_is_believed_only_from_trusted_proxies() {
    let trusted = [IpNetwork::parse("10.0.0.0/8").unwrap()];
    let headers = forwarded("1.1.1.1, 203.0.113.9, 10.0.0.2");
    let address = |text: &str| ClientAddress::Ip(ip(text));
    // From a trusted proxy: the right-most untrusted entry; the spoofable left part is ignored.
    assert_eq!(
        client_address(ip("10.0.0.1"), &headers, &trusted),
        address("203.0.113.9")
    );
    // From anyone else: the peer, whatever the header says.
    assert_eq!(
        client_address(ip("198.51.100.4"), &headers, &trusted),
        address("198.51.100.4")
    );
    assert_eq!(
        client_address(ip("10.0.0.1"), &headers, &[]),
        address("10.0.0.1")
    );
    // Entries with ports, brackets and quotes name their address.
    for (entry, expected) in [
        ("203.0.113.9:4711", "203.0.113.9"),
        ("[2001:db8::7]:443", "2001:db8::7"),
        ("[2001:db8::7]", "2001:db8::7"),
        ("\"203.0.113.9\"", "203.0.113.9"),
    ] {
        assert_eq!(
            client_address(ip("10.0.0.1"), &forwarded(entry), &trusted),
            address(expected),
            "{entry}"
        );
    }
    // An entry that names no address is a client of its own, never the proxy.
    let headers = forwarded("203.0.113.9, unknown, 10.0.0.3");
    assert_eq!(
        client_address(ip("10.0.0.1"), &headers, &trusted),
        ClientAddress::Unnamed("unknown".to_owned())
    );
}

#[test]
fn ipv6_clients_share_their_network_bucket() {
    let of = |text: &str| Client::of(&ClientAddress::Ip(ip(text)), 64);
    assert_eq!(of("2001:db8:1:2::1"), of("2001:db8:1:2:ffff::9"));
    assert_ne!(of("2001:db8:1:2::1"), of("2001:db8:1:3::1"));
    assert_ne!(of("192.0.2.1"), of("192.0.2.2"));
}

#[test]
fn invented_tokens_cannot_push_out_known_keys() {
    let limiter = RateLimiter::default();
    let now = Instant::now();
    let valid = Known::Valid {
        id: 1,
        role: Role::Admin,
        fetched: now,
    };
    limiter.remember("real".to_owned(), valid);
    for n in 0..(MAX_CACHED_KEYS * 2) {
        limiter.remember(format!("invented {n}"), Known::Invalid { fetched: now });
    }
    assert_eq!(limiter.known("real"), Some(valid));
    let held = limiter.invalid_tokens.lock().unwrap().entries.len();
    assert!(held <= MAX_CACHED_KEYS, "{held}");
    // The most recent invalid tokens are kept, the oldest dropped (least recently used).
    assert!(limiter
        .known(&format!("invented {}", MAX_CACHED_KEYS * 2 - 1))
        .is_some());
    assert!(limiter.known("invented 0").is_none());
}

#[test]
fn a_bucket_allows_its_burst_then_refills_evenly() {
    let limiter = RateLimiter::default();
    let start = Instant::now();
    let client = Client::Ip(ip("192.0.2.1"));
    for n in 0..60 {
        let decision = limiter.take(client, 60, start);
        assert!(decision.allowed);
        assert_eq!(decision.remaining, 59 - n);
    }
    let refused = limiter.take(client, 60, start);
    assert!(!refused.allowed);
    assert_eq!(refused.retry_after_secs, 1);
    assert_eq!(refused.reset_secs, 60);
    // One token a second comes back.
    assert!(
        limiter
            .take(client, 60, start + Duration::from_millis(1001))
            .allowed
    );
    assert!(
        !limiter
            .take(client, 60, start + Duration::from_millis(1002))
            .allowed
    );
    // Another client has its own bucket.
    assert!(limiter.take(Client::Ip(ip("192.0.2.2")), 60, start).allowed);
}

#[test]
fn full_buckets_are_forgotten() {
    let limiter = RateLimiter::default();
    let start = Instant::now();
    for n in 0..100u8 {
        limiter.take(Client::Ip(IpAddr::from([192, 0, 2, n])), 60, start);
    }
    assert_eq!(limiter.bucket_count(), 100);
    // Two minutes later every bucket is full again; the next request sweeps them.
    limiter.take(Client::Key(1), 60, start + Duration::from_secs(120));
    assert_eq!(limiter.bucket_count(), 1);
}

#[test]
fn without_an_answer_from_redis_the_buckets_are_this_processs() {
    // Nothing listens on port 1: the first take fails fast and opens the breaker.
    let limiter = RateLimiter::new(Some("redis://127.0.0.1:1")).unwrap();
    let start = Instant::now();
    let client = Client::Ip(ip("192.0.2.9"));
    for _ in 0..5 {
        assert!(limiter.take(client, 5, start).allowed);
    }
    assert!(!limiter.take(client, 5, start).allowed);
    assert_eq!(limiter.shared(), Some(false));
    assert_eq!(RateLimiter::default().shared(), None);
    assert!(RateLimiter::new(Some("not a url")).is_err());
}
