//! The client's address behind reverse proxies: `Forwarded` (RFC 7239) or
//! `X-Forwarded-For`, believed only from the operator's `trusted_proxies`.
//!
//! The chain of hops is read from the right (the hop nearest to idpd) and every trusted
//! proxy is skipped; the first address not trusted is the client's. Anything to its left was
//! written by the client and is ignored. A hop that is not an address (`unknown`, an
//! obfuscated name) ends the walk at the last trusted proxy: nothing behind it can be known.

use std::net::IpAddr;

use axum::http::HeaderMap;
use axum::http::header::FORWARDED;

const X_FORWARDED_FOR: &str = "x-forwarded-for";

/// The client's address for a request from `peer`: `peer` itself unless it is trusted.
pub fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &[ipnet::IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let hops = if headers.contains_key(FORWARDED) {
        forwarded_hops(headers)
    } else {
        x_forwarded_for_hops(headers)
    };
    let mut client = peer;
    for hop in hops.iter().rev() {
        match hop {
            Some(ip) => {
                client = *ip;
                if !is_trusted(ip) {
                    break;
                }
            }
            None => break,
        }
    }
    client
}

/// The `for=` of each element of every `Forwarded` header, left to right.
fn forwarded_hops(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let mut hops = Vec::new();
    for value in headers.get_all(FORWARDED) {
        let Ok(value) = value.to_str() else {
            hops.push(None);
            continue;
        };
        for element in value.split(',') {
            let node = element.split(';').find_map(|pair| {
                let (k, v) = pair.split_once('=')?;
                k.trim().eq_ignore_ascii_case("for").then(|| v.trim())
            });
            hops.push(node.and_then(parse_node));
        }
    }
    hops
}

fn x_forwarded_for_hops(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let mut hops = Vec::new();
    for value in headers.get_all(X_FORWARDED_FOR) {
        match value.to_str() {
            Ok(v) => hops.extend(v.split(',').map(|h| parse_node(h.trim()))),
            Err(_) => hops.push(None),
        }
    }
    hops
}

/// A node as proxies write it: `192.0.2.1`, `192.0.2.1:4711`, `"[2001:db8::1]:4711"`,
/// `2001:db8::1`.
fn parse_node(node: &str) -> Option<IpAddr> {
    let node = node.trim().trim_matches('"');
    if let Ok(ip) = node.parse() {
        return Some(ip);
    }
    if let Some(rest) = node.strip_prefix('[') {
        return rest.split_once(']')?.0.parse().ok();
    }
    let (host, port) = node.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    host.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn untrusted_peers_are_the_client_whatever_they_send() {
        let h = headers(&[("x-forwarded-for", "198.51.100.7")]);
        assert_eq!(
            client_address(ip("203.0.113.9"), &h, &[]),
            ip("203.0.113.9")
        );
        let trusted = ["10.0.0.0/8".parse().unwrap()];
        assert_eq!(
            client_address(ip("203.0.113.9"), &h, &trusted),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn the_rightmost_untrusted_hop_is_the_client() {
        let trusted = ["10.0.0.0/8".parse().unwrap()];
        // The client wrote the first entry itself; the proxy appended the real address.
        let h = headers(&[("x-forwarded-for", "1.2.3.4, 198.51.100.7, 10.0.0.2")]);
        assert_eq!(
            client_address(ip("10.0.0.1"), &h, &trusted),
            ip("198.51.100.7")
        );
        let h = headers(&[
            ("x-forwarded-for", "1.2.3.4"),
            ("x-forwarded-for", "198.51.100.7"),
        ]);
        assert_eq!(
            client_address(ip("10.0.0.1"), &h, &trusted),
            ip("198.51.100.7")
        );
        // Forwarded wins over X-Forwarded-For, with ports, quotes and IPv6.
        let h = headers(&[
            (
                "forwarded",
                "for=1.2.3.4, for=\"[2001:db8::7]:4711\";proto=https",
            ),
            ("x-forwarded-for", "5.6.7.8"),
        ]);
        assert_eq!(
            client_address(ip("10.0.0.1"), &h, &trusted),
            ip("2001:db8::7")
        );
        let h = headers(&[("forwarded", "For=192.0.2.60:8080;by=10.0.0.3")]);
        assert_eq!(
            client_address(ip("10.0.0.1"), &h, &trusted),
            ip("192.0.2.60")
        );
    }

    #[test]
    fn unknown_or_missing_hops_stop_at_the_last_trusted_proxy() {
        let trusted = ["10.0.0.0/8".parse().unwrap()];
        let h = headers(&[("x-forwarded-for", "198.51.100.7, unknown, 10.0.0.2")]);
        assert_eq!(client_address(ip("10.0.0.1"), &h, &trusted), ip("10.0.0.2"));
        assert_eq!(
            client_address(ip("10.0.0.1"), &HeaderMap::new(), &trusted),
            ip("10.0.0.1")
        );
        let h = headers(&[("forwarded", "for=_hidden")]);
        assert_eq!(client_address(ip("10.0.0.1"), &h, &trusted), ip("10.0.0.1"));
    }
}
