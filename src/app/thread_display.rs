//! A thread as a member's client shows it: each message's visible text and every link with
//! its real target (one CommonMark parse, the same the content checks read), and the
//! "possible spam" label where the classifier put one on a message the member received.
//! A client rendering this never parses markdown itself, so it cannot disagree with what
//! the pipeline judged.

use serde::Serialize;

use super::folders::MessageView;
use super::App;
use crate::domain::body::{Link, RenderedBody};
use crate::domain::{Folder, MemberId, ThreadId};
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

impl App {
    /// The member's thread, rendered; reading it marks it read, as [`App::read_thread`].
    pub fn thread_display(&self, member: MemberId, thread: ThreadId) -> Result<ThreadDisplay> {
        let page = self.read_thread(member, thread)?;
        let mut messages = Vec::with_capacity(page.messages.len());
        for view in page.messages {
            let labelled = view.to == member
                && self.store.message(view.message_id)?.is_some_and(|m| {
                    m.verdict
                        .reasons
                        .iter()
                        .any(|r| r.source == "classifier" && r.id == "possible_spam")
                });
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
