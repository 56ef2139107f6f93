//! The one outbound HTTP client (docs/security.md SEC-15): every fetch from an upstream provider
//! (discovery, JWKS, token, userinfo) goes through here.
//!
//! Rules: https only; the host is resolved here and every address is vetted (no loopback,
//! private, link-local, CGNAT, multicast, unspecified, documentation, and no IPv6 address
//! that embeds an IPv4 one for a translator or relay: mapped, compatible, translated,
//! NAT64, 6to4, Teredo),
//! and the connection goes to the vetted address (reqwest gets it from our resolver, so no
//! second lookup can be rebound); redirects are never followed; 2 s to connect, 5 s in all;
//! bodies are streamed and cut at 512 KiB. `allow_loopback` (the `allow_loopback_upstreams`
//! switch, for development and tests) admits loopback addresses and plain http to them, and
//! nothing else: private ranges stay refused.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
pub const TOTAL_TIMEOUT: Duration = Duration::from_secs(5);
pub const MAX_BODY: usize = 512 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum OutboundError {
    #[error("refused: {0}")]
    Refused(String),
    #[error("timed out")]
    Timeout,
    #[error("response larger than {MAX_BODY} bytes")]
    TooLarge,
    #[error("{0}")]
    Http(String),
}

impl From<reqwest::Error> for OutboundError {
    fn from(e: reqwest::Error) -> Self {
        if e.is_timeout() {
            return OutboundError::Timeout;
        }
        // The resolver's refusal arrives wrapped as a connect error; keep its words.
        let mut cur: Option<&dyn std::error::Error> = Some(&e);
        while let Some(c) = cur {
            if let Some(r) = c.downcast_ref::<Refusal>() {
                return OutboundError::Refused(r.0.clone());
            }
            cur = c.source();
        }
        OutboundError::Http(crate::domain::error::chain(&e))
    }
}

#[derive(Debug)]
struct Refusal(String);

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refusal {}

/// Why an address may not be fetched from, or `None` when it may.
pub fn forbidden_ip(ip: IpAddr, allow_loopback: bool) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4, allow_loopback),
        IpAddr::V6(v6) => {
            if v6.to_ipv4_mapped().is_some() {
                return Some("an IPv4-mapped IPv6 address");
            }
            let seg = v6.segments();
            if v6.is_loopback() {
                (!allow_loopback).then_some("a loopback address")
            } else if v6.is_unspecified() {
                Some("the unspecified address")
            } else if v6.is_multicast() {
                Some("a multicast address")
            } else if seg[0] & 0xfe00 == 0xfc00 {
                Some("a unique-local (private) address")
            } else if seg[0] & 0xffc0 == 0xfe80 {
                Some("a link-local address")
            } else if seg[0] & 0xffc0 == 0xfec0 {
                Some("a site-local address")
            } else if (seg[0] == 0x2001 && seg[1] == 0x0db8)
                || (seg[0] == 0x3fff && seg[1] & 0xf000 == 0)
            {
                // RFC 3849, RFC 9637.
                Some("a documentation address")
            } else if seg[0] == 0x0064 && seg[1] == 0xff9b {
                // RFC 6052 64:ff9b::/96 and RFC 8215 64:ff9b:1::/48: a NAT64 gateway would
                // carry the request to the embedded IPv4 address, whatever it is.
                Some("a NAT64 address")
            } else if seg[0] & 0xff00 == 0 {
                // ::/8, reserved (RFC 4291 §2.4): IPv4-compatible ::/96 and IPv4-translated
                // ::ffff:0:0:0/96 (RFC 2765) embed an IPv4 address that a translator would
                // reach; nothing there is a public unicast host.
                Some("a reserved address with an embedded IPv4 address")
            } else if seg[0] == 0x0100 && seg[1] == 0 && seg[2] == 0 && seg[3] == 0 {
                // RFC 6666.
                Some("a discard-only address")
            } else if seg[0] == 0x2001 && seg[1] == 0 {
                // RFC 4380: the IPv4 server and (obfuscated) client address are inside, and
                // a relay would forward to them.
                Some("a Teredo address")
            } else if seg[0] == 0x2001 && seg[1] < 0x0200 {
                // 2001::/23 (RFC 2928): benchmarking, ORCHID and other protocol assignments.
                Some("an IETF protocol address")
            } else if seg[0] == 0x2002 {
                // RFC 3056: the next 32 bits are an IPv4 address a 6to4 relay would reach.
                Some("a 6to4 address")
            } else {
                None
            }
        }
    }
}

fn forbidden_v4(ip: Ipv4Addr, allow_loopback: bool) -> Option<&'static str> {
    let o = ip.octets();
    if ip.is_loopback() {
        (!allow_loopback).then_some("a loopback address")
    } else if ip.is_unspecified() || o[0] == 0 {
        Some("the unspecified network")
    } else if ip.is_private() {
        Some("a private address")
    } else if ip.is_link_local() {
        Some("a link-local address")
    } else if o[0] == 100 && (64..128).contains(&o[1]) {
        Some("a CGNAT address")
    } else if ip.is_multicast() || o[0] >= 240 {
        Some("a multicast or reserved address")
    } else if ip.is_broadcast() || ip.is_documentation() || (o[0] == 198 && (o[1] & 0xfe) == 18) {
        Some("a reserved address")
    } else if o[0] == 192 && o[1] == 0 && o[2] == 0 {
        Some("an IETF protocol address")
    } else {
        None
    }
}

/// Checks the shape of a URL idpd is to fetch from, before any network traffic: https (or
/// http to a loopback host when loopback upstreams are allowed), no credentials, no
/// fragment, and an IP-literal host outside the forbidden ranges. The message names what
/// is wrong.
pub fn check_url(raw: &str, allow_loopback: bool) -> Result<url::Url, String> {
    let url = url::Url::parse(raw).map_err(|e| format!("is not an absolute URL ({e})"))?;
    let loopback_host = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    };
    match url.scheme() {
        "https" => {}
        "http" if allow_loopback && loopback_host => {}
        "http" if allow_loopback => {
            return Err("must be https (http only to a loopback host)".into());
        }
        _ => return Err("must be an https:// URL".into()),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not contain a user name or password".into());
    }
    if url.fragment().is_some() {
        return Err("must not have a #fragment".into());
    }
    let ip = match url.host() {
        None => return Err("has no host".into()),
        Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
        Some(url::Host::Domain(d)) if d.eq_ignore_ascii_case("localhost") && !allow_loopback => {
            return Err("points to a loopback host".into());
        }
        Some(url::Host::Domain(_)) => None,
    };
    if let Some(ip) = ip
        && let Some(why) = forbidden_ip(ip, allow_loopback)
    {
        return Err(format!("points to {why} ({ip})"));
    }
    Ok(url)
}

/// Resolves names for reqwest and drops nothing silently: one forbidden address fails the
/// whole lookup (a name that mixes public and internal answers is an attack, not a
/// mistake).
struct VettingResolver {
    allow_loopback: bool,
}

impl reqwest::dns::Resolve for VettingResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow_loopback = self.allow_loopback;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if addrs.is_empty() {
                return Err(Box::new(Refusal(format!("{host} does not resolve"))) as _);
            }
            for a in &addrs {
                if let Some(why) = forbidden_ip(a.ip(), allow_loopback) {
                    return Err(
                        Box::new(Refusal(format!("{host} resolves to {why} ({})", a.ip()))) as _,
                    );
                }
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The outbound client. Cheap to clone.
#[derive(Clone)]
pub struct Outbound {
    http: reqwest::Client,
    allow_loopback: bool,
}

impl Outbound {
    pub fn new(allow_loopback: bool) -> Outbound {
        let http = reqwest::Client::builder()
            .user_agent(concat!("idpd/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(TOTAL_TIMEOUT)
            // A proxy from the environment would connect to names we never vetted.
            .no_proxy()
            .dns_resolver(Arc::new(VettingResolver { allow_loopback }))
            .build()
            .expect("the outbound HTTP client configuration is valid");
        Outbound {
            http,
            allow_loopback,
        }
    }

    pub fn allow_loopback(&self) -> bool {
        self.allow_loopback
    }

    /// Sends one request under the rules above and reads at most [`MAX_BODY`] bytes.
    pub async fn send(
        &self,
        req: openidconnect::HttpRequest,
    ) -> Result<openidconnect::HttpResponse, OutboundError> {
        let (parts, body) = req.into_parts();
        let url = check_url(&parts.uri.to_string(), self.allow_loopback)
            .map_err(|why| OutboundError::Refused(format!("{}: {why}", parts.uri)))?;
        let mut rb = self.http.request(parts.method, url).body(body);
        for (k, v) in parts.headers.iter() {
            rb = rb.header(k, v);
        }
        let mut res = rb.send().await?;
        if res.content_length().is_some_and(|n| n > MAX_BODY as u64) {
            return Err(OutboundError::TooLarge);
        }
        let mut out = openidconnect::http::Response::builder().status(res.status().as_u16());
        for (k, v) in res.headers() {
            out = out.header(k, v);
        }
        let mut body = Vec::new();
        while let Some(chunk) = res.chunk().await? {
            if body.len() + chunk.len() > MAX_BODY {
                return Err(OutboundError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        out.body(body)
            .map_err(|e| OutboundError::Http(format!("bad response: {e}")))
    }
}

/// The openidconnect crate's HTTP hook: its discovery, JWKS, token and userinfo requests all
/// go through [`Outbound::send`].
impl<'c> openidconnect::AsyncHttpClient<'c> for Outbound {
    type Error = OutboundError;
    type Future = std::pin::Pin<
        Box<
            dyn std::future::Future<Output = Result<openidconnect::HttpResponse, OutboundError>>
                + Send
                + 'c,
        >,
    >;

    fn call(&'c self, request: openidconnect::HttpRequest) -> Self::Future {
        Box::pin(self.send(request))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses_are_refused() {
        for ip in [
            "127.0.0.1",
            "10.0.0.1",
            "172.16.5.4",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "fc00::1",
            "fe80::1",
            "ff02::1",
            // Issue 16: addresses that carry an IPv4 address to be reached through a
            // translator or relay, and the other reserved IPv6 ranges.
            "::ffff:0:7f00:1",
            "::ffff:0:a9fe:a9fe",
            "::ffff:0:5db8:d822",
            "::127.0.0.1",
            "::8.8.8.8",
            "2002:7f00:1::1",
            "2002:a9fe:a9fe::",
            "2002:5db8:d822::1",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
            "2001::1",
            "2001:2::1",
            "2001:10::1",
            "64:ff9b::7f00:1",
            "64:ff9b::5db8:d822",
            "64:ff9b:1::a00:1",
            "64:ff9b:1:ffff::1",
            "100::1",
            "3fff::1",
            "fec0::1",
            "2001:db8::1",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            assert!(forbidden_ip(ip, false).is_some(), "{ip}");
        }
        assert!(forbidden_ip("93.184.216.34".parse().unwrap(), false).is_none());
        assert!(forbidden_ip("2606:4700::1".parse().unwrap(), false).is_none());
        for public in [
            "2001:200::1",
            "2001:4860:4860::8888",
            "2003::1",
            "2a00:1450::1",
        ] {
            assert!(
                forbidden_ip(public.parse().unwrap(), false).is_none(),
                "{public}"
            );
        }
        // The test switch admits loopback only.
        assert!(forbidden_ip("127.0.0.1".parse().unwrap(), true).is_none());
        assert!(forbidden_ip("::1".parse().unwrap(), true).is_none());
        assert!(forbidden_ip("10.0.0.1".parse().unwrap(), true).is_some());
        assert!(forbidden_ip("::ffff:127.0.0.1".parse().unwrap(), true).is_some());
    }

    #[tokio::test]
    async fn names_that_resolve_inside_are_refused() {
        use reqwest::dns::Resolve;
        let strict = VettingResolver {
            allow_loopback: false,
        };
        let err = strict
            .resolve("localhost".parse().unwrap())
            .await
            .err()
            .expect("a name resolving to loopback is refused");
        assert!(err.to_string().contains("loopback"), "{err}");
        let dev = VettingResolver {
            allow_loopback: true,
        };
        assert!(dev.resolve("localhost".parse().unwrap()).await.is_ok());
    }

    #[test]
    fn url_shapes() {
        let bad = [
            ("http://127.0.0.1:5432", false),
            ("https://169.254.169.254/", false),
            ("https://10.0.0.1/", false),
            ("https://[::ffff:127.0.0.1]/", false),
            ("https://[::ffff:0:7f00:1]/", false),
            ("https://[2002:7f00:1::1]/", false),
            ("https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/", false),
            ("https://[64:ff9b::a9fe:a9fe]/", false),
            ("https://[64:ff9b:1::a00:1]/", false),
            ("https://[2002:7f00:1::1]/", true),
            ("file:///etc/passwd", false),
            ("https://user:pw@idp.example/", false),
            ("https://idp.example/#x", false),
            ("https://localhost/", false),
            ("http://idp.example/", true),
            ("https://10.0.0.1/", true),
            ("not a url", false),
        ];
        for (u, allow) in bad {
            assert!(check_url(u, allow).is_err(), "{u} allow={allow}");
        }
        assert!(check_url("https://login.acme.example/", false).is_ok());
        assert!(check_url("http://127.0.0.1:5432/t/x", true).is_ok());
        assert!(check_url("http://localhost:8080/", true).is_ok());
    }
}
