//! Host names: validity, the registrable domain, known top-level domains and URL shorteners.
//!
//! No public-suffix list is shipped. [`registrable_domain`] knows a small built-in list of
//! multi-part public suffixes ([`MULTI_PART_SUFFIXES`]: `co.uk`, `com.au`, `co.jp`, ...) and
//! otherwise keeps the last two labels. That is enough for grouping and for the
//! "visible text names another domain than the link target" check; it is not meant for
//! cookie scoping. A bare host written without a scheme (`example.com`) only counts as a
//! link when its last label is in [`KNOWN_TLDS`], so that `node.js` or `e.g` are not links.

/// Top-level domains that make a bare `name.tld` (written without `http://`) count as a link.
/// Sorted, so lookups are a binary search. Chosen for what shows up in messages: the big
/// generic ones, common country codes, and the cheap ones spammers favour.
pub const KNOWN_TLDS: &[&str] = &[
    "ae", "agency", "ai", "app", "ar", "art", "at", "au", "be", "best", "bet", "bid", "biz",
    "blog", "bond", "br", "buzz", "by", "bz", "ca", "cam", "casino", "cc", "cf", "ch", "cl",
    "click", "cloud", "club", "cn", "co", "com", "company", "cricket", "crypto", "cyou", "cz",
    "date", "de", "design", "dev", "dk", "download", "edu", "eg", "email", "es", "eu", "faq", "fi",
    "fm", "fr", "fun", "ga", "gd", "gg", "gl", "global", "gov", "gq", "gr", "hk", "host", "hu",
    "icu", "id", "ie", "il", "im", "in", "info", "io", "ir", "is", "it", "jp", "ke", "kr", "kz",
    "la", "life", "link", "live", "loan", "lol", "ly", "me", "men", "mil", "ml", "mobi", "mov",
    "mx", "my", "name", "net", "network", "news", "ng", "nl", "no", "nz", "one", "online", "org",
    "page", "pe", "ph", "pk", "pl", "pro", "pt", "pw", "racing", "review", "ro", "ru", "sa", "sbs",
    "science", "se", "sg", "sh", "shop", "site", "space", "st", "store", "stream", "su", "tech",
    "th", "tk", "to", "today", "top", "tr", "trade", "tv", "tw", "ua", "uk", "us", "vip", "vn",
    "website", "win", "work", "world", "ws", "xyz", "za", "zip",
];

/// Two-label public suffixes under which the registrable domain has three labels.
pub const MULTI_PART_SUFFIXES: &[&str] = &[
    "ac.in", "ac.jp", "ac.uk", "co.id", "co.il", "co.in", "co.jp", "co.kr", "co.nz", "co.th",
    "co.uk", "co.za", "com.ar", "com.au", "com.br", "com.cn", "com.eg", "com.hk", "com.mx",
    "com.my", "com.ng", "com.ph", "com.pk", "com.pl", "com.ru", "com.sa", "com.sg", "com.tr",
    "com.tw", "com.ua", "com.vn", "edu.au", "edu.cn", "gov.au", "gov.cn", "gov.in", "gov.uk",
    "ltd.uk", "me.uk", "ne.jp", "net.au", "net.br", "net.cn", "net.in", "net.nz", "or.jp", "or.kr",
    "org.au", "org.br", "org.cn", "org.in", "org.nz", "org.uk", "org.za", "plc.uk",
];

/// Known URL shorteners (registrable domains). A link through one hides its destination.
pub const SHORTENERS: &[&str] = &[
    "adf.ly",
    "bit.do",
    "bit.ly",
    "bitly.com",
    "bl.ink",
    "buff.ly",
    "clck.ru",
    "cli.gs",
    "cutt.ly",
    "db.tt",
    "dlvr.it",
    "goo.gl",
    "ift.tt",
    "is.gd",
    "j.mp",
    "lnkd.in",
    "mcaf.ee",
    "ow.ly",
    "po.st",
    "qr.ae",
    "rb.gy",
    "rebrand.ly",
    "s.id",
    "short.io",
    "shorte.st",
    "shorturl.at",
    "snip.ly",
    "soo.gd",
    "t.co",
    "t.ly",
    "tiny.cc",
    "tiny.one",
    "tinyurl.com",
    "tr.im",
    "u.to",
    "v.gd",
    "x.co",
];

/// Is `label` one of [`KNOWN_TLDS`]?
pub fn is_known_tld(label: &str) -> bool {
    KNOWN_TLDS.binary_search(&label).is_ok()
}

/// Is `host` (or its registrable domain) a known URL shortener?
pub fn is_shortener(host: &str) -> bool {
    is_shortener_host(host, &registrable_domain(host))
}

/// [`is_shortener`] for a caller that already has the host's registrable `domain`.
pub(crate) fn is_shortener_host(host: &str, domain: &str) -> bool {
    SHORTENERS.binary_search(&host).is_ok() || SHORTENERS.binary_search(&domain).is_ok()
}

/// The registrable domain of a host: `login.paypal.co.uk` -> `paypal.co.uk`,
/// `www.example.com` -> `example.com`. Lowercases; drops user info (`user@`), a port and a
/// trailing dot. An IPv4 address or a single-label host is returned as it is. Uses the small
/// built-in [`MULTI_PART_SUFFIXES`] list instead of the full public-suffix list.
pub fn registrable_domain(host: &str) -> String {
    let h = host.trim();
    let h = h.rsplit('@').next().unwrap_or(h);
    let h = strip_port(h).unwrap_or(h).trim_end_matches('.');
    let h = h.to_ascii_lowercase();
    if is_ipv4(&h) {
        return h;
    }
    let mut dots = h.rmatch_indices('.').map(|(i, _)| i);
    let (Some(last), Some(second)) = (dots.next(), dots.next()) else {
        return h; // zero or one dot: already registrable
    };
    let _ = last;
    if MULTI_PART_SUFFIXES.binary_search(&&h[second + 1..]).is_ok() {
        match dots.next() {
            Some(third) => h[third + 1..].to_string(),
            None => h,
        }
    } else {
        h[second + 1..].to_string()
    }
}

/// Splits `host:port` and returns the host; `None` when what follows `:` is not a port.
pub(crate) fn strip_port(host: &str) -> Option<&str> {
    match host.rfind(':') {
        None => Some(host),
        Some(i) => {
            let port = &host[i + 1..];
            if !port.is_empty() && port.len() <= 5 && port.bytes().all(|b| b.is_ascii_digit()) {
                Some(&host[..i])
            } else {
                None
            }
        }
    }
}

/// Dotted-quad IPv4 address.
pub(crate) fn is_ipv4(h: &str) -> bool {
    let mut n = 0;
    for part in h.split('.') {
        n += 1;
        if part.is_empty() || part.len() > 3 || !part.bytes().all(|b| b.is_ascii_digit()) {
            return false;
        }
        if part.parse::<u16>().map_or(true, |v| v > 255) {
            return false;
        }
    }
    n == 4
}

/// At least two dot-separated labels of `[a-z0-9_-]`, each 1..=63 long, not starting or ending
/// with `-`, 253 characters at most, and an alphabetic (or punycode) last label.
fn labels_ok(host: &str) -> bool {
    if host.len() > 253 || !host.contains('.') {
        return false;
    }
    for label in host.split('.') {
        let b = label.as_bytes();
        if b.is_empty() || b.len() > 63 || b[0] == b'-' || b[b.len() - 1] == b'-' {
            return false;
        }
        if !b
            .iter()
            .all(|&c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-' || c == b'_')
        {
            return false;
        }
    }
    let tld = tld_of(host);
    tld.len() >= 2 && (tld.bytes().all(|b| b.is_ascii_lowercase()) || tld.starts_with("xn--"))
}

fn tld_of(host: &str) -> &str {
    host.rsplit('.').next().unwrap_or(host)
}

/// A host written without a scheme counts as a link: valid labels, a known TLD (or a
/// `www.` prefix, or a known shortener), and some label other than the TLD with a letter.
pub(crate) fn is_bare_host(host: &str) -> bool {
    if !labels_ok(host) {
        return false;
    }
    let tld = tld_of(host);
    let name = &host[..host.len() - tld.len() - 1];
    let has_letter = name.bytes().any(|b| b.is_ascii_lowercase());
    has_letter && (is_known_tld(tld) || host.starts_with("www.") || is_shortener(host))
}

/// A host after `http://`: any valid domain name or an IPv4 address.
pub(crate) fn is_scheme_host(host: &str) -> bool {
    is_ipv4(host) || labels_ok(host)
}

/// A host after `@` in an e-mail address.
pub(crate) fn is_mail_host(host: &str) -> bool {
    labels_ok(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_sorted_for_binary_search() {
        for list in [KNOWN_TLDS, MULTI_PART_SUFFIXES, SHORTENERS] {
            assert!(list.windows(2).all(|w| w[0] < w[1]), "{list:?}");
        }
    }

    #[test]
    fn registrable_domains() {
        let cases = [
            ("login.paypal.co.uk", "paypal.co.uk"),
            ("paypal.co.uk", "paypal.co.uk"),
            ("www.example.com", "example.com"),
            ("a.b.c.example.com", "example.com"),
            ("Example.COM.", "example.com"),
            ("example.com:8080", "example.com"),
            ("user@evil.example.net", "example.net"),
            ("shop.example.com.au", "example.com.au"),
            ("co.uk", "co.uk"),
            ("localhost", "localhost"),
            ("10.0.0.1", "10.0.0.1"),
            ("bit.ly", "bit.ly"),
            ("x.bit.ly", "bit.ly"),
            ("", ""),
        ];
        for (host, want) in cases {
            assert_eq!(registrable_domain(host), want, "{host}");
        }
    }

    #[test]
    fn hosts() {
        for h in [
            "example.com",
            "www.foo.zzz",
            "a-b.example.io",
            "bit.ly",
            "t.co",
        ] {
            assert!(is_bare_host(h), "{h}");
        }
        for h in [
            "node.js", "e.g", "f.r.e", "1.5", "123.com", "-a.com", "a..com", "com",
        ] {
            assert!(!is_bare_host(h), "{h}");
        }
        for h in ["evil.zzz", "1.2.3.4", "xn--80ak6aa92e.xn--p1ai"] {
            assert!(is_scheme_host(h), "{h}");
        }
        for h in ["evil", "1.2.3.999", "ex ample.com"] {
            assert!(!is_scheme_host(h), "{h}");
        }
        assert!(is_shortener("bit.ly") && is_shortener("www.bit.ly"));
        assert!(!is_shortener("example.com"));
    }
}
