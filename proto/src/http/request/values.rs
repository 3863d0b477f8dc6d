//! The syntax of single values in a request head: comma-separated lists, the request target,
//! `Host` and `Content-Length`.

use crate::http::target::Target;

/// The non-empty members of a comma-separated field value (RFC 9110 §5.6.1), trimmed.
pub(super) fn list_members(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|&b| b == b',')
        .map(<[u8]>::trim_ascii)
        .filter(|member| !member.is_empty())
}

/// Resolve the request target (RFC 9112 §3.2): origin-form, or absolute-form with an `http` or
/// `https` scheme (whose authority replaces `Host`). `*` is only for `OPTIONS`, which the server
/// does not implement; authority-form only for `CONNECT`, likewise. `None`: a malformed target.
pub(super) fn parse_target(method: &str, target: &[u8]) -> Option<Target> {
    if target.contains(&b'#') {
        // A fragment is the client's business and never part of a request target (§3.2).
        return None;
    }
    if target.first() == Some(&b'/') {
        return Some(Target::from_path(path_of(target)));
    }
    if target == b"*" {
        return (method == "OPTIONS").then_some(Target::Other);
    }
    if method == "CONNECT" {
        return Some(Target::Other);
    }
    let scheme_end = target.windows(3).position(|w| w == b"://")?;
    let scheme = &target[..scheme_end];
    if !scheme.eq_ignore_ascii_case(b"http") && !scheme.eq_ignore_ascii_case(b"https") {
        return None;
    }
    let rest = &target[scheme_end + 3..];
    let authority_end = rest
        .iter()
        .position(|&b| matches!(b, b'/' | b'?' | b'#'))
        .unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    if authority.is_empty() || authority.contains(&b'@') || !is_valid_host(authority) {
        return None;
    }
    match path.first() {
        Some(b'/') => Some(Target::from_path(path_of(path))),
        _ => Some(Target::from_path(b"/")),
    }
}

/// The path of an origin-form target: everything before the query.
fn path_of(target: &[u8]) -> &[u8] {
    match target.iter().position(|&b| b == b'?') {
        Some(query) => &target[..query],
        None => target,
    }
}

/// `Host = uri-host [ ":" port ]` (RFC 9110 §7.2, RFC 3986 §3.2.2): an IP literal in brackets,
/// or a reg-name / IPv4 address of unreserved, sub-delims and percent-encoded octets. Empty is
/// valid (a target without authority).
pub(super) fn is_valid_host(value: &[u8]) -> bool {
    // Fast path, taken by nearly every request: a reg-name or IPv4 address with an optional
    // port, no percent-encoding: one pass over a table.
    let mut colon = None;
    let plain = value.iter().enumerate().all(|(i, &b)| {
        if b == b':' && colon.is_none() {
            colon = Some(i);
            return true;
        }
        is_unreserved_or_sub(b) || (colon.is_some() && b.is_ascii_digit())
    });
    if plain {
        let port_ok = colon.is_none_or(|c| value[c + 1..].iter().all(u8::is_ascii_digit));
        if port_ok {
            return true;
        }
    }
    host_with_literal_or_escapes(value)
}

/// The general [`is_valid_host`]: IP literals and percent-encoded octets.
fn host_with_literal_or_escapes(value: &[u8]) -> bool {
    let (host, port) = if value.first() == Some(&b'[') {
        let Some(close) = value.iter().position(|&b| b == b']') else {
            return false;
        };
        if !is_ip_literal(&value[1..close]) {
            return false;
        }
        (&value[..=close], &value[close + 1..])
    } else {
        match value.iter().rposition(|&b| b == b':') {
            Some(colon) => (&value[..colon], &value[colon..]),
            None => (value, &value[value.len()..]),
        }
    };
    let port_ok = match port {
        [] => true,
        [b':', digits @ ..] => digits.iter().all(u8::is_ascii_digit),
        _ => false,
    };
    port_ok && (host.first() == Some(&b'[') || is_reg_name(host))
}

/// Inside `[...]`: an IPv6 address (hex digits, `:` and `.` for an embedded IPv4) or an
/// `IPvFuture` (`v` hex `.` then unreserved, sub-delims or `:`), RFC 3986 §3.2.2.
fn is_ip_literal(literal: &[u8]) -> bool {
    match literal {
        [b'v' | b'V', rest @ ..] => {
            let Some(dot) = rest.iter().position(|&b| b == b'.') else {
                return false;
            };
            let (version, tail) = (&rest[..dot], &rest[dot + 1..]);
            !version.is_empty()
                && version.iter().all(u8::is_ascii_hexdigit)
                && !tail.is_empty()
                && tail.iter().all(|&b| b == b':' || is_unreserved_or_sub(b))
        }
        _ => {
            literal.contains(&b':')
                && literal
                    .iter()
                    .all(|&b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
        }
    }
}

fn is_reg_name(host: &[u8]) -> bool {
    let mut i = 0;
    while i < host.len() {
        match host[i] {
            b'%' => {
                let hex = host.get(i + 1..i + 3);
                if !hex.is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) {
                    return false;
                }
                i += 3;
            }
            b if is_unreserved_or_sub(b) => i += 1,
            _ => return false,
        }
    }
    true
}

/// RFC 3986 `unreserved` or `sub-delims`.
fn is_unreserved_or_sub(b: u8) -> bool {
    UNRESERVED_OR_SUB[usize::from(b)]
}

/// Lookup table for [`is_unreserved_or_sub`]: `Host` is checked on every request.
static UNRESERVED_OR_SUB: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'-' | b'.'
                    | b'_'
                    | b'~'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
                    | b';'
                    | b'='
            );
        b += 1;
    }
    table
};

/// A `Content-Length` value: `1*DIGIT` (no sign, no list), any number of leading zeros, then
/// at most 18 significant digits (so the value cannot overflow).
pub(super) fn parse_content_length(value: &[u8]) -> Option<usize> {
    let digits = value.trim_ascii();
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let zeros = digits.iter().take_while(|&&d| d == b'0').count();
    let digits = &digits[zeros..];
    if digits.len() > 18 {
        return None;
    }
    let value = digits
        .iter()
        .fold(0u64, |acc, &d| acc * 10 + u64::from(d - b'0'));
    usize::try_from(value).ok()
}
