//! Pure checks the HTTP receivers share: reading a bearer token, and whether a request
//! names this server in a way a web page elsewhere could not make it.

use std::net::IpAddr;

/// The token of an `Authorization: Bearer <token>` value (the scheme's case is ignored,
/// as HTTP says), trimmed; `None` for any other scheme or an empty token.
pub fn bearer_token(authorization: &str) -> Option<&str> {
    let (scheme, token) = authorization.trim_start().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Whether a request's Host (or HTTP/2 authority) names this machine without a domain
/// name: an IP address, `localhost` or a `*.localhost` name, with or without a port.
///
/// A server without a token trusts that only this machine reaches it. A web page can
/// still send it requests through DNS rebinding: a name of the page's own, resolved to
/// 127.0.0.1. Those requests carry that name, so a server without a token answers only
/// requests naming it as this function accepts.
pub fn is_local_authority(host: &str) -> bool {
    let host = host.trim();
    let name = if let Some(rest) = host.strip_prefix('[') {
        // [v6 address]:port
        match rest.split_once(']') {
            Some((addr, port)) if port.is_empty() || is_port(port) => addr,
            _ => return false,
        }
    } else {
        match host.rsplit_once(':') {
            Some((name, port)) if is_port(port) => name,
            Some(_) => return false,
            None => host,
        }
    };
    let name = name.strip_suffix('.').unwrap_or(name);
    name.parse::<IpAddr>().is_ok()
        || name.eq_ignore_ascii_case("localhost")
        || name
            .len()
            .checked_sub(".localhost".len())
            .and_then(|at| name.get(at..))
            .is_some_and(|tail| tail.eq_ignore_ascii_case(".localhost"))
}

/// [`is_local_authority`] for a request: its HTTP/2 authority, else its Host header. A
/// request that names no host at all (HTTP/1.0, some tools) is no browser's and passes.
pub fn is_local_request(authority: Option<&str>, host_header: Option<&str>) -> bool {
    authority.or(host_header).is_none_or(is_local_authority)
}

fn is_port(s: &str) -> bool {
    let digits = s.strip_prefix(':').unwrap_or(s);
    !digits.is_empty() && digits.len() <= 5 && digits.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_scheme_is_case_insensitive_and_nothing_else_counts() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer abc "), Some("abc"));
        assert_eq!(bearer_token("BEARER  abc"), Some("abc"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearer "), None);
        assert_eq!(bearer_token("Bearerabc"), None);
    }

    #[test]
    fn only_addresses_and_localhost_names_are_local() {
        for ok in [
            "127.0.0.1:3200",
            "127.0.0.1",
            "localhost:3200",
            "LOCALHOST",
            "localhost.",
            "app.localhost:8080",
            "[::1]:3200",
            "[::1]",
            "192.168.1.5:3200",
        ] {
            assert!(is_local_authority(ok), "{ok}");
        }
        for bad in [
            "evil.example:3200",
            "evil.example",
            "localhost.evil.example",
            "127.0.0.1.nip.io:3200",
            "xlocalhost",
            "[::1",
            "[::1]x",
            "localhost:abc",
            "",
        ] {
            assert!(!is_local_authority(bad), "{bad}");
        }
    }
}
