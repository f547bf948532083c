//! `/console`: the review console and member view, one page served by this server.
//!
//! The files under `console/` are built into the binary, so the page works with no network
//! and no CDN. Every answer carries a strict Content-Security-Policy: scripts and styles
//! only from this origin (no inline script or style, no `eval`), no plugins, no framing by
//! other sites, connections only back to this server, and Trusted Types required, so an
//! HTML string can reach the DOM only through the one named policy that embeds the
//! trust-and-safety report in a sandboxed frame. The report's own inline stylesheet is
//! allowed by its hash, nothing else inline is.

use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::{header, HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use crate::error::Error;

/// (name under `/console/`, content type, bytes).
const ASSETS: &[(&str, &str, &str)] = &[
    (
        "console.css",
        "text/css; charset=utf-8",
        include_str!("../../console/console.css"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_str!("../../console/app.js"),
    ),
    (
        "api.js",
        "text/javascript; charset=utf-8",
        include_str!("../../console/api.js"),
    ),
    (
        "render.js",
        "text/javascript; charset=utf-8",
        include_str!("../../console/render.js"),
    ),
    (
        "review.js",
        "text/javascript; charset=utf-8",
        include_str!("../../console/review.js"),
    ),
    (
        "member.js",
        "text/javascript; charset=utf-8",
        include_str!("../../console/member.js"),
    ),
];

const INDEX: &str = include_str!("../../console/index.html");

/// The name of the one Trusted Types policy the page may create (`console/review.js`).
pub const REPORT_POLICY: &str = "sendguard-report";

/// The policy, computed once: it names the report stylesheet's hash.
pub fn content_security_policy() -> &'static str {
    static CSP: OnceLock<String> = OnceLock::new();
    CSP.get_or_init(|| {
        format!(
            "default-src 'none'; script-src 'self'; style-src 'self' 'sha256-{}'; \
             img-src 'self'; connect-src 'self'; frame-src 'self'; base-uri 'none'; \
             form-action 'none'; frame-ancestors 'none'; \
             require-trusted-types-for 'script'; trusted-types {REPORT_POLICY}",
            sha256_base64(crate::report::html::STYLE.as_bytes())
        )
    })
}

fn sha256_base64(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    base64(&Sha256::digest(bytes))
}

/// Standard base64 with padding (what CSP hash sources use); 20 lines rather than a crate.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn with_headers(content_type: &str, body: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    let set = |headers: &mut axum::http::HeaderMap, name: HeaderName, value: &str| {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    };
    set(headers, header::CONTENT_TYPE, content_type);
    set(
        headers,
        header::CONTENT_SECURITY_POLICY,
        content_security_policy(),
    );
    set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(headers, header::REFERRER_POLICY, "no-referrer");
    set(headers, header::X_FRAME_OPTIONS, "DENY");
    set(
        headers,
        HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    );
    // Small files built into the binary: always fresh, nothing left in shared caches.
    set(headers, header::CACHE_CONTROL, "no-store");
    response
}

/// `GET /console`: the page.
pub async fn page() -> Response {
    with_headers("text/html; charset=utf-8", INDEX)
}

/// `GET /console/{asset}`: a script or the stylesheet.
pub async fn asset(Path(name): Path<String>) -> Result<Response, ApiError> {
    let (_, content_type, body) = ASSETS
        .iter()
        .find(|(asset, _, _)| *asset == name)
        .ok_or_else(|| ApiError(Error::not_found("unknown_asset", "no such console file")))?;
    Ok(with_headers(content_type, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_rfc_4648_examples() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (input, want) in cases {
            assert_eq!(base64(input.as_bytes()), want, "{input:?}");
        }
    }

    #[test]
    fn the_policy_allows_no_inline_script_and_only_the_report_style() {
        let csp = content_security_policy();
        assert!(csp.contains("script-src 'self';"), "{csp}");
        assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"));
        assert_eq!(csp.matches("'sha256-").count(), 1, "{csp}");
    }

    #[test]
    fn every_script_the_page_imports_is_served() {
        for script in ["app.js", "api.js", "render.js", "review.js", "member.js"] {
            let imported = ASSETS
                .iter()
                .any(|(name, kind, _)| *name == script && kind.starts_with("text/javascript"));
            assert!(imported, "{script} is not served");
        }
        assert!(INDEX.contains("/console/app.js") && INDEX.contains("/console/console.css"));
        assert!(!INDEX.contains("<script>") && !INDEX.contains("style="));
    }
}
