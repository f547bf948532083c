//! A thread as a member's client shows it: each message's visible text and every link with
//! its real target (one CommonMark parse, the same the content checks read), and the
//! "possible spam" label where the classifier put one on a message the member received.
//! A client rendering this never parses markdown itself, so it cannot disagree with what
//! the pipeline judged.

use serde::Serialize;

use super::folders::MessageView;
use super::App;
use crate::domain::body::{Link, RenderedBody};
use crate::domain::{Folder, MemberId, ThreadId, Verdict};
use crate::error::Result;
use crate::store::Reader;

#[derive(Debug, Clone, Serialize)]
pub struct DisplayMessage {
    #[serde(flatten)]
    pub message: MessageView,
    /// What a reader sees: markdown reduced to its text.
    pub visible_text: String,
    /// Every link, with the text shown and the target a click would open.
    pub links: Vec<Link>,
    /// The classifier rated it possible spam (below its hold threshold); only on messages
    /// the member received, never on their own.
    pub possible_spam: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct ThreadDisplay {
    pub thread_id: ThreadId,
    pub with: MemberId,
    pub folder: Folder,
    pub messages: Vec<DisplayMessage>,
}

/// Renders one message view for display.
pub fn display(message: MessageView, possible_spam: bool) -> DisplayMessage {
    let rendered = RenderedBody::render(message.format, &message.body);
    DisplayMessage {
        message,
        visible_text: rendered.visible_text,
        links: rendered.links,
        possible_spam,
    }
}

/// Whether the classifier labelled the verdict "possible spam" (the policy's reason for a
/// score between the Other and hold thresholds).
pub fn possible_spam(verdict: &Verdict) -> bool {
    verdict
        .reasons
        .iter()
        .any(|r| r.source == "classifier" && r.id == "possible_spam")
}

impl App {
    /// The member's thread, rendered; reading it marks it read, as [`App::read_thread`].
    pub fn thread_display(&self, member: MemberId, thread: ThreadId) -> Result<ThreadDisplay> {
        let page = self.read_thread(member, thread)?;
        let mut messages = Vec::with_capacity(page.messages.len());
        for view in page.messages {
            let labelled = view.to == member
                && self
                    .store
                    .message(view.message_id)?
                    // The sponsored channel does not count the classifier: no label there.
                    .is_some_and(|m| m.sponsored.is_none() && possible_spam(&m.verdict));
            messages.push(display(view, labelled));
        }
        Ok(ThreadDisplay {
            thread_id: page.thread_id,
            with: page.with,
            folder: page.folder,
            messages,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Decision, Format, MessageKind, MessageStatus, Reason};

    fn verdict(reasons: Vec<Reason>) -> Verdict {
        Verdict {
            decision: Decision::Inbox,
            route: Folder::Inbox,
            inmail: false,
            reasons,
            score: Some(0.5),
            sanction: None,
            automated: true,
            refused: None,
            language: None,
        }
    }

    #[test]
    fn only_the_classifiers_possible_spam_reason_labels_a_message() {
        let labelled = verdict(vec![Reason::new("classifier", "possible_spam", "score")]);
        assert!(possible_spam(&labelled));
        let other_source = verdict(vec![Reason::new("rule", "possible_spam", "a rule id")]);
        assert!(!possible_spam(&other_source));
        let abstained = verdict(vec![Reason::new("classifier", "abstained", "too little")]);
        assert!(!possible_spam(&abstained));
    }

    #[test]
    fn a_markdown_message_is_displayed_as_text_with_its_links_real_targets() {
        let view = MessageView {
            message_id: 1,
            from: 2,
            to: 3,
            body: "see [linkedin.com](https://evil.example/x) <b>now</b>".into(),
            format: Format::Markdown,
            kind: MessageKind::Message,
            inmail: false,
            attachments: Vec::new(),
            created_at: 0,
            status: MessageStatus::Delivered,
            sponsored: None,
            text_removed: false,
        };
        let shown = display(view, true);
        assert_eq!(shown.visible_text, "see linkedin.com <b>now</b>");
        assert_eq!(shown.links.len(), 1);
        assert_eq!(shown.links[0].target, "https://evil.example/x");
        assert!(shown.possible_spam);
    }
}
