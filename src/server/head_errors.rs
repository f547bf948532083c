//! JSON bodies for the errors hyper answers by itself.
//!
//! A request whose head cannot be parsed (too large, too many headers, a malformed request
//! line or header) never reaches a handler: hyper answers 400, 414 or 431 itself, with an
//! empty body. Every other error of the API is `{"error": {code, message, field, limit}}`,
//! and clients should not need a second error format for these. hyper has no hook for it,
//! so this wrapper around the connection's socket recognises such an answer as hyper
//! writes it (status 400/414/431 with `content-length: 0`: no handler of ours answers
//! those with an empty body) and writes the JSON error in its place. hyper closes the
//! connection after these answers, so nothing follows on the wire.
//!
//! hyper's own check is approximate: it refuses a head only once its read buffer is full,
//! and one read can carry the buffer past the limit with the whole head in it (a 400 KB
//! head passed a 256 KB limit). [`head_too_large`] measures each parsed head exactly and
//! answers the same 431, so the limit clients are told is the limit that holds.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The head limits the error message names (hyper enforces them).
#[derive(Debug, Clone, Copy)]
pub struct HeadLimits {
    pub max_header_bytes: usize,
    pub max_headers: usize,
}

/// A socket whose hyper-made head errors get JSON bodies.
pub struct HeadErrors<I> {
    inner: I,
    limits: HeadLimits,
    /// A rewritten answer still being written, and how much of it is out.
    pending: Option<(Vec<u8>, usize)>,
}

impl<I> HeadErrors<I> {
    pub fn new(inner: I, limits: HeadLimits) -> HeadErrors<I> {
        HeadErrors {
            inner,
            limits,
            pending: None,
        }
    }
}

impl<I: AsyncWrite + Unpin> HeadErrors<I> {
    /// Writes out the pending rewritten answer.
    fn drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Some((bytes, written)) = &mut self.pending {
            if *written == bytes.len() {
                self.pending = None;
                break;
            }
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &bytes[*written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            *written += n;
        }
        Poll::Ready(Ok(()))
    }
}

/// The JSON error for a head error status, or `None` for any other answer.
fn error_body(status: &[u8], limits: HeadLimits) -> Option<String> {
    let (code, message, limit) = match status {
        b"431" => (
            "headers_too_large",
            format!(
                "request headers exceed {} bytes or {} fields",
                limits.max_header_bytes, limits.max_headers
            ),
            Some(limits.max_header_bytes),
        ),
        b"414" => ("uri_too_long", "the request URI is too long".into(), None),
        b"400" => (
            "malformed_request",
            "the request line or a header is not valid HTTP/1.1".into(),
            None,
        ),
        _ => return None,
    };
    let mut error = serde_json::json!({"code": code, "message": message, "field": "headers"});
    if let Some(limit) = limit {
        error["limit"] = limit.into();
    }
    Some(serde_json::json!({ "error": error }).to_string())
}

/// Whether `head` on the wire (request line, header lines, the blank line) is over the
/// limit.
pub fn head_too_large(head: &axum::http::request::Parts, limits: HeadLimits) -> bool {
    // "METHOD SP target SP HTTP/1.1 CRLF", each "name: value CRLF", then CRLF.
    let uri = &head.uri;
    let target = uri.scheme_str().map_or(0, |scheme| scheme.len() + 3)
        + uri
            .authority()
            .map_or(0, |authority| authority.as_str().len())
        + uri.path_and_query().map_or(1, |path| path.as_str().len());
    let request_line = head.method.as_str().len() + target + 12;
    let fields: usize = head
        .headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum();
    request_line + fields + 2 > limits.max_header_bytes
}

/// The 431 answer hyper would give, with its JSON body; the connection closes after it.
pub fn too_large_response(limits: HeadLimits) -> axum::response::Response {
    let body = error_body(b"431", limits).expect("431 has a body");
    axum::response::Response::builder()
        .status(axum::http::StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE)
        .header(axum::http::header::CONTENT_TYPE, "application/json")
        .header(axum::http::header::CONNECTION, "close")
        .header(axum::http::header::CONTENT_LENGTH, body.len())
        .body(axum::body::Body::from(body))
        .expect("a static response")
}

/// `answer` with the JSON body, if it is one of hyper's empty head-error answers.
fn rewrite(answer: &[u8], limits: HeadLimits) -> Option<Vec<u8>> {
    let status = answer.strip_prefix(b"HTTP/1.1 ")?.get(..3)?;
    let body = error_body(status, limits)?;
    let end = answer.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&answer[..end]).ok()?;
    let mut lines: Vec<&str> = head.split("\r\n").collect();
    let length = lines
        .iter()
        .position(|line| line.eq_ignore_ascii_case("content-length: 0"))?;
    if answer.len() != end + 4 {
        return None;
    }
    let length_line = format!("content-length: {}", body.len());
    lines[length] = &length_line;
    let mut out = lines.join("\r\n").into_bytes();
    out.extend_from_slice(b"\r\ncontent-type: application/json\r\n\r\n");
    out.extend_from_slice(body.as_bytes());
    Some(out)
}

impl<I: AsyncRead + Unpin> AsyncRead for HeadErrors<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for HeadErrors<I> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        ready!(self.drain(cx))?;
        if let Some(rewritten) = rewrite(buf, self.limits) {
            self.pending = Some((rewritten, 0));
            // Accepted in full; the rewritten bytes go out on this and later polls.
            let _ = self.drain(cx)?;
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.drain(cx))?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.drain(cx))?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    // Not vectored: hyper then writes each answer's head as one buffer, which `rewrite`
    // can recognise.
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: HeadLimits = HeadLimits {
        max_header_bytes: 65536,
        max_headers: 100,
    };

    #[test]
    fn an_empty_431_gets_a_json_body_naming_the_limit() {
        let answer =
            b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\ndate: x\r\n\r\n";
        let out = String::from_utf8(rewrite(answer, LIMITS).unwrap()).unwrap();
        let (head, body) = out.split_once("\r\n\r\n").unwrap();
        assert!(
            head.contains(&format!("content-length: {}", body.len())),
            "{out}"
        );
        let body: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(body["error"]["code"], "headers_too_large");
        assert_eq!(body["error"]["limit"], 65536);
    }

    #[test]
    fn other_answers_are_left_alone() {
        for answer in [
            &b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"[..],
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 2\r\n\r\n{}",
            b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\n\r\nextra",
        ] {
            assert!(rewrite(answer, LIMITS).is_none());
        }
    }
}
