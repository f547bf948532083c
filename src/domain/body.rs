//! What a message body shows: the visible text and every link with its real target.
//!
//! Markdown bodies are parsed with a real CommonMark parser (pulldown-cmark) rather than
//! stripped with patterns, so `[linkedin.com](https://evil.example)` yields the visible text
//! *and* the target that a click would open: the pair the phishing checks need.

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};
use serde::{Deserialize, Serialize};

use super::Format;

/// A hyperlink as the body gave it: the text a member sees and the target a click opens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    pub text: String,
    pub target: String,
}

impl Link {
    /// Whether the target may be stored as a clickable link: relative, or http(s) or mailto.
    /// Any other scheme (`javascript:`, `data:`, `file:`, ...) runs or opens something in the
    /// recipient's client. Browsers skip ASCII whitespace and control characters in a URL
    /// and ignore case, so those are removed first (`Java\tScript:` is `javascript:`).
    pub fn has_safe_scheme(&self) -> bool {
        let cleaned: String = self
            .target
            .chars()
            .filter(|c| !c.is_ascii_whitespace() && !c.is_ascii_control())
            .take(64)
            .collect::<String>()
            .to_ascii_lowercase();
        let Some((scheme, _)) = cleaned.split_once(':') else {
            return true;
        };
        let is_scheme = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
        !is_scheme || matches!(scheme, "http" | "https" | "mailto")
    }
}

/// The body as the recipient would see it, which is what every content check reads.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RenderedBody {
    pub visible_text: String,
    pub links: Vec<Link>,
}

impl RenderedBody {
    pub fn render(format: Format, body: &str) -> RenderedBody {
        match format {
            Format::Text => RenderedBody {
                visible_text: body.to_string(),
                links: Vec::new(),
            },
            Format::Markdown => render_markdown(body),
        }
    }
}

fn render_markdown(source: &str) -> RenderedBody {
    let mut visible = String::with_capacity(source.len());
    let mut links = Vec::new();
    // Links can nest inside emphasis but not inside links; images are treated as links.
    let mut open_link: Option<(String, usize)> = None;
    for event in Parser::new_ext(source, Options::ENABLE_STRIKETHROUGH) {
        match event {
            Event::Start(Tag::Link { dest_url, .. })
            | Event::Start(Tag::Image { dest_url, .. }) => {
                open_link = Some((dest_url.into_string(), visible.len()));
            }
            Event::End(TagEnd::Link) | Event::End(TagEnd::Image) => {
                if let Some((target, start)) = open_link.take() {
                    links.push(Link {
                        text: visible[start..].trim().to_string(),
                        target,
                    });
                }
            }
            Event::Text(text) | Event::Code(text) | Event::Html(text) | Event::InlineHtml(text) => {
                visible.push_str(&text)
            }
            Event::SoftBreak | Event::HardBreak | Event::Rule => visible.push('\n'),
            Event::End(TagEnd::Paragraph)
            | Event::End(TagEnd::Item)
            | Event::End(TagEnd::Heading(_))
            | Event::End(TagEnd::CodeBlock)
            | Event::End(TagEnd::BlockQuote(_)) => visible.push('\n'),
            _ => {}
        }
    }
    let trimmed_len = visible.trim_end().len();
    visible.truncate(trimmed_len);
    RenderedBody {
        visible_text: visible,
        links,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_http_https_mailto_and_relative_links_are_safe() {
        let safe = |target: &str| {
            super::Link {
                text: "x".into(),
                target: target.into(),
            }
            .has_safe_scheme()
        };
        for ok in [
            "https://a.example/x",
            "HTTP://a.example",
            "mailto:a@b.example",
            "/path?q=a:b",
            "page#x:y",
        ] {
            assert!(safe(ok), "{ok}");
        }
        for bad in [
            "javascript:alert(1)",
            " JavaScript:alert(1)",
            "java\tscript:x",
            "data:text/html,x",
            "vbscript:x",
            "file:///etc/passwd",
        ] {
            assert!(!safe(bad), "{bad}");
        }
    }

    use super::*;

    #[test]
    fn plain_text_is_kept_verbatim() {
        let body = RenderedBody::render(Format::Text, "Hi **there** [x](y)");
        assert_eq!(body.visible_text, "Hi **there** [x](y)");
        assert!(body.links.is_empty());
    }

    #[test]
    fn markdown_yields_visible_text_and_real_targets() {
        let body = RenderedBody::render(
            Format::Markdown,
            "Please **verify** your account at [linkedin.com](https://linkedln-secure.example/login)\n\n- one\n- *two*",
        );
        assert_eq!(
            body.visible_text,
            "Please verify your account at linkedin.com\none\ntwo"
        );
        assert_eq!(
            body.links,
            vec![Link {
                text: "linkedin.com".into(),
                target: "https://linkedln-secure.example/login".into()
            }]
        );
    }

    #[test]
    fn autolinks_and_emphasised_link_text_are_links() {
        let body = RenderedBody::render(
            Format::Markdown,
            "see <https://a.example/x> and [**bold** site](https://b.example)",
        );
        let targets: Vec<_> = body.links.iter().map(|l| l.target.as_str()).collect();
        assert_eq!(targets, ["https://a.example/x", "https://b.example"]);
        assert_eq!(body.links[1].text, "bold site");
    }
}
