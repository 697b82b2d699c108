//! Reading what a reverse proxy forwards: the client's address (`X-Forwarded-For`, else
//! `Forwarded: for=`) and the host and scheme the client asked for (`X-Forwarded-Host`,
//! `X-Forwarded-Proto`, else `Forwarded: host=`/`proto=`). Only a TCP peer inside
//! `--trusted-proxies` is believed; anyone else could write these headers themselves.
//!
//! Work is linear in the header bytes, which hyper already bounds.

use std::net::{IpAddr, Ipv6Addr};

use axum::http::HeaderMap;

use super::cidr::{Cidr, canonical};

pub fn is_trusted(trusted: &[Cidr], ip: IpAddr) -> bool {
    trusted.iter().any(|net| net.contains(ip))
}

/// The client's address. From an untrusted peer: the peer. From a trusted one: walking the
/// forwarded chain from the right, the first address that is not itself a trusted proxy
/// (so a client's own made-up entries on the left are never reached). An entry that cannot
/// be read ends the walk at the hop that reported it; a chain of trusted hops only gives
/// its left-most.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[Cidr]) -> IpAddr {
    let peer = canonical(peer);
    if !is_trusted(trusted, peer) {
        return peer;
    }
    let chain = match forwarded_for(headers) {
        Some(chain) => chain,
        None => return peer,
    };
    let mut nearest = peer;
    for hop in chain.into_iter().rev() {
        match hop {
            Some(ip) if is_trusted(trusted, ip) => nearest = ip,
            Some(ip) => return ip,
            None => return nearest,
        }
    }
    nearest
}

/// The forwarded chain, left (client side) to right (nearest proxy); `None` entries are
/// unreadable. `X-Forwarded-For` wins when present, so a proxy that maintains it decides.
fn forwarded_for(headers: &HeaderMap) -> Option<Vec<Option<IpAddr>>> {
    let xff = joined(headers, "x-forwarded-for");
    if let Some(xff) = xff {
        return Some(xff.split(',').map(node_ip).collect());
    }
    let forwarded = joined(headers, "forwarded")?;
    let chain: Vec<Option<IpAddr>> = elements(&forwarded)
        .filter_map(|pairs| {
            pairs
                .into_iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("for"))
                .map(|(_, v)| node_ip(&v))
        })
        .collect();
    (!chain.is_empty()).then_some(chain)
}

/// The host and scheme the client asked for, as a trusted proxy reports them (the
/// right-most value: the one our own proxy wrote). Either may be missing.
pub fn forwarded_site(
    peer: IpAddr,
    headers: &HeaderMap,
    trusted: &[Cidr],
) -> (Option<String>, Option<&'static str>) {
    if !is_trusted(trusted, canonical(peer)) {
        return (None, None);
    }
    let last = |name: &str| {
        joined(headers, name).and_then(|v| v.rsplit(',').next().map(|s| s.trim().to_owned()))
    };
    let mut host = last("x-forwarded-host");
    let mut proto = last("x-forwarded-proto");
    if (host.is_none() || proto.is_none())
        && let Some(forwarded) = joined(headers, "forwarded")
        && let Some(pairs) = elements(&forwarded).last()
    {
        for (k, v) in pairs {
            if k.eq_ignore_ascii_case("host") && host.is_none() {
                host = Some(v);
            } else if k.eq_ignore_ascii_case("proto") && proto.is_none() {
                proto = Some(v);
            }
        }
    }
    (
        host.filter(|h| valid_host(h)),
        proto.as_deref().and_then(scheme),
    )
}

/// `http` or `https` (any case); anything else is not a scheme links can use.
pub fn scheme(s: &str) -> Option<&'static str> {
    if s.eq_ignore_ascii_case("https") {
        Some("https")
    } else if s.eq_ignore_ascii_case("http") {
        Some("http")
    } else {
        None
    }
}

/// A `host[:port]` fit to put in a URL: an authority without user info, path or spaces.
pub fn valid_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 255
        && !host.contains(['@', '/', '\\', '?', '#'])
        && host.parse::<axum::http::uri::Authority>().is_ok()
}

/// Every value of a header, joined with commas as HTTP allows; `None` when absent or not text.
fn joined(headers: &HeaderMap, name: &str) -> Option<String> {
    let mut out: Option<String> = None;
    for v in headers.get_all(name) {
        let v = v.to_str().ok()?;
        match &mut out {
            Some(s) => {
                s.push(',');
                s.push_str(v);
            }
            None => out = Some(v.to_owned()),
        }
    }
    out
}

/// An address in a forwarding header: `192.0.2.1`, `192.0.2.1:4711`, `2001:db8::1`,
/// `[2001:db8::1]` or `[2001:db8::1]:4711`. `unknown`, obfuscated names (`_hidden`) and
/// anything else are unreadable.
fn node_ip(raw: &str) -> Option<IpAddr> {
    let s = raw.trim();
    if let Some(rest) = s.strip_prefix('[') {
        let (inside, after) = rest.split_once(']')?;
        if !(after.is_empty() || after.strip_prefix(':').is_some_and(is_port)) {
            return None;
        }
        return inside
            .parse::<Ipv6Addr>()
            .ok()
            .map(|v6| canonical(IpAddr::V6(v6)));
    }
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    let (host, port) = s.split_once(':')?;
    if !is_port(port) {
        return None;
    }
    host.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
}

fn is_port(s: &str) -> bool {
    !s.is_empty() && s.len() <= 5 && s.bytes().all(|b| b.is_ascii_digit())
}

/// RFC 7239 elements (comma-separated), each a list of `key=value` pairs (semicolon-
/// separated), with quoted values unquoted. Commas and semicolons inside quotes are text.
fn elements(header: &str) -> impl Iterator<Item = Vec<(String, String)>> + '_ {
    split_unquoted(header, ',').map(|element| {
        split_unquoted(element, ';')
            .filter_map(|pair| {
                let (k, v) = pair.split_once('=')?;
                Some((k.trim().to_owned(), unquote(v.trim())))
            })
            .collect()
    })
}

fn split_unquoted(s: &str, sep: char) -> impl Iterator<Item = &str> {
    let mut quoted = false;
    let mut escaped = false;
    let mut start = 0;
    let mut parts = Vec::new();
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
        } else if quoted && c == '\\' {
            escaped = true;
        } else if c == '"' {
            quoted = !quoted;
        } else if c == sep && !quoted {
            parts.push(&s[start..i]);
            start = i + c.len_utf8();
        }
    }
    parts.push(&s[start..]);
    parts.into_iter()
}

fn unquote(v: &str) -> String {
    match v.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
        Some(inner) => {
            let mut out = String::with_capacity(inner.len());
            let mut chars = inner.chars();
            while let Some(c) = chars.next() {
                if c == '\\' {
                    if let Some(next) = chars.next() {
                        out.push(next);
                    }
                } else {
                    out.push(c);
                }
            }
            out
        }
        None => v.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;
    use proptest::prelude::*;

    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn nets(list: &[&str]) -> Vec<Cidr> {
        list.iter().map(|s| s.parse().unwrap()).collect()
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    const PROXY: &str = "10.0.0.5";

    fn client(pairs: &[(&'static str, &str)]) -> IpAddr {
        client_ip(ip(PROXY), &headers(pairs), &nets(&["10.0.0.0/8"]))
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_says() {
        let h = headers(&[("x-forwarded-for", "203.0.113.7")]);
        assert_eq!(
            client_ip(ip("198.51.100.1"), &h, &nets(&["10.0.0.0/8"])),
            ip("198.51.100.1")
        );
        assert_eq!(
            client_ip(ip("10.0.0.5"), &h, &[]),
            ip("10.0.0.5"),
            "nothing trusted"
        );
        let h = headers(&[("forwarded", "for=203.0.113.7")]);
        assert_eq!(
            client_ip(ip("198.51.100.1"), &h, &nets(&["10.0.0.0/8"])),
            ip("198.51.100.1")
        );
    }

    #[test]
    fn a_trusted_peer_names_the_client() {
        assert_eq!(
            client(&[("x-forwarded-for", "203.0.113.7")]),
            ip("203.0.113.7")
        );
        assert_eq!(client(&[]), ip(PROXY), "no header: the proxy itself");
        assert_eq!(
            client(&[("x-forwarded-for", " 2001:db8::7 ")]),
            ip("2001:db8::7")
        );
        assert_eq!(
            client(&[("x-forwarded-for", "[2001:db8::7]:4711")]),
            ip("2001:db8::7")
        );
        assert_eq!(
            client(&[("x-forwarded-for", "203.0.113.7:4711")]),
            ip("203.0.113.7")
        );
        assert_eq!(
            client(&[("x-forwarded-for", "::ffff:203.0.113.7")]),
            ip("203.0.113.7")
        );
    }

    #[test]
    fn a_spoofed_chain_gives_the_address_our_proxy_saw() {
        // The client wrote "1.1.1.1"; our proxy appended the address it really came from.
        assert_eq!(
            client(&[("x-forwarded-for", "1.1.1.1, 203.0.113.7")]),
            ip("203.0.113.7")
        );
        // Several trusted hops are skipped, from the right.
        assert_eq!(
            client(&[(
                "x-forwarded-for",
                "1.1.1.1, 203.0.113.7, 10.9.9.9, 10.0.0.1"
            )]),
            ip("203.0.113.7")
        );
        // Two header lines count as one list, in order.
        assert_eq!(
            client(&[
                ("x-forwarded-for", "1.1.1.1"),
                ("x-forwarded-for", "203.0.113.7")
            ]),
            ip("203.0.113.7")
        );
        // Only trusted hops: the left-most of them.
        assert_eq!(
            client(&[("x-forwarded-for", "10.1.1.1, 10.2.2.2")]),
            ip("10.1.1.1")
        );
    }

    #[test]
    fn garbage_stops_at_the_hop_that_reported_it() {
        assert_eq!(
            client(&[("x-forwarded-for", "1.1.1.1, garbage")]),
            ip(PROXY)
        );
        assert_eq!(
            client(&[("x-forwarded-for", "garbage, 10.2.2.2")]),
            ip("10.2.2.2")
        );
        assert_eq!(client(&[("x-forwarded-for", "")]), ip(PROXY));
        assert_eq!(client(&[("x-forwarded-for", ",,,")]), ip(PROXY));
        for bad in [
            "unknown",
            "_hidden",
            "1.2.3.4:",
            "1.2.3.4:123456",
            "[::1",
            "[::1]x",
            "[1.2.3.4]",
            "1.2.3.4.5",
            "::1:80:x",
            "1.2.3.4 5.6.7.8",
            "999.1.1.1",
        ] {
            assert_eq!(client(&[("x-forwarded-for", bad)]), ip(PROXY), "{bad:?}");
        }
    }

    #[test]
    fn the_forwarded_header_when_there_is_no_x_forwarded_for() {
        assert_eq!(
            client(&[("forwarded", "for=203.0.113.7")]),
            ip("203.0.113.7")
        );
        assert_eq!(
            client(&[(
                "forwarded",
                r#"for=1.1.1.1, For="[2001:db8:cafe::17]:4711";proto=https"#
            )]),
            ip("2001:db8:cafe::17")
        );
        assert_eq!(
            client(&[(
                "forwarded",
                "for=1.1.1.1;by=10.0.0.5, for=203.0.113.7, for=10.0.0.1"
            )]),
            ip("203.0.113.7")
        );
        assert_eq!(client(&[("forwarded", "for=unknown")]), ip(PROXY));
        assert_eq!(client(&[("forwarded", "for=\"_gazonk\"")]), ip(PROXY));
        assert_eq!(
            client(&[("forwarded", "proto=https")]),
            ip(PROXY),
            "no for="
        );
        assert_eq!(
            client(&[("forwarded", r#"for="a,b";x="c;d", for=203.0.113.7"#)]),
            ip("203.0.113.7"),
            "separators inside quotes"
        );
        // X-Forwarded-For decides when both are present.
        assert_eq!(
            client(&[
                ("forwarded", "for=1.1.1.1"),
                ("x-forwarded-for", "203.0.113.7")
            ]),
            ip("203.0.113.7")
        );
    }

    #[test]
    fn forwarded_host_and_scheme_only_from_a_trusted_peer() {
        let trusted = nets(&["10.0.0.0/8"]);
        let h = headers(&[
            ("x-forwarded-host", "quiz.example.com"),
            ("x-forwarded-proto", "HTTPS"),
        ]);
        assert_eq!(
            forwarded_site(ip(PROXY), &h, &trusted),
            (Some("quiz.example.com".into()), Some("https"))
        );
        assert_eq!(
            forwarded_site(ip("198.51.100.1"), &h, &trusted),
            (None, None)
        );
        let h = headers(&[(
            "forwarded",
            "for=1.1.1.1;host=a.example, for=2.2.2.2;host=\"b.example:8443\";proto=https",
        )]);
        assert_eq!(
            forwarded_site(ip(PROXY), &h, &trusted),
            (Some("b.example:8443".into()), Some("https"))
        );
        let h = headers(&[
            ("x-forwarded-host", "evil.example, quiz.example.com"),
            ("x-forwarded-proto", "gopher"),
        ]);
        assert_eq!(
            forwarded_site(ip(PROXY), &h, &trusted),
            (Some("quiz.example.com".into()), None)
        );
        for bad in ["user@evil.example", "a/b", "a b", "", "x?y", "ex#ample"] {
            let h = headers(&[("x-forwarded-host", bad)]);
            assert_eq!(forwarded_site(ip(PROXY), &h, &trusted).0, None, "{bad:?}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        /// Whatever the headers say, the answer is the peer or an address written in them,
        /// and from an untrusted peer always the peer.
        #[test]
        fn never_panics_and_never_invents(xff in "[0-9a-f:.,\\[\\] _x-]{0,80}", fwd in "[ -~]{0,80}") {
            let trusted = nets(&["10.0.0.0/8"]);
            let h = headers(&[("x-forwarded-for", &xff)]);
            let got = client_ip(ip(PROXY), &h, &trusted);
            let written: Vec<IpAddr> = xff.split(',').filter_map(node_ip).collect();
            prop_assert!(got == ip(PROXY) || written.contains(&got), "{got} from {xff:?}");
            let h = headers(&[("forwarded", &fwd)]);
            let _ = client_ip(ip(PROXY), &h, &trusted);
            let _ = forwarded_site(ip(PROXY), &h, &trusted);
            prop_assert_eq!(client_ip(ip("198.51.100.1"), &h, &trusted), ip("198.51.100.1"));
        }
    }
}
