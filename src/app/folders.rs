//! Folders and threads as a member sees them: listings with previews and unread counts,
//! reading a thread (which marks it read), archive and unarchive.

use serde::Serialize;

use super::App;
use crate::domain::{
    Attachment, Folder, Format, MemberId, Message, MessageId, MessageKind, MessageStatus, Millis,
    SponsoredMark, ThreadId, ThreadView,
};
use crate::error::{Error, Result};
use crate::store::{Reader, SponsoredReader};

pub const MAX_PAGE: usize = 100;
const PREVIEW_CHARS: usize = 140;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ThreadSummary {
    pub thread_id: ThreadId,
    pub with: MemberId,
    pub with_handle: String,
    pub folder: Folder,
    pub last_activity: Millis,
    pub unread: u32,
    pub last_message: Option<MessageView>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FolderPage {
    pub folder: Folder,
    pub threads: Vec<ThreadSummary>,
    /// Pass as `cursor` for the next page; `None` at the end. A page can hold fewer than
    /// `limit` threads (hidden conversations are skipped), so follow the cursor, not the count.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MessageView {
    pub message_id: MessageId,
    pub from: MemberId,
    pub to: MemberId,
    pub body: String,
    pub format: Format,
    pub kind: MessageKind,
    pub inmail: bool,
    pub attachments: Vec<Attachment>,
    pub created_at: Millis,
    pub status: MessageStatus,
    /// On a sponsored message: shown marked "Sponsored" with the advertiser's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sponsored: Option<SponsoredMark>,
    /// The text was removed (the sender's account was erased, or a retention window
    /// passed): `body` is empty and the message shows as removed.
    pub text_removed: bool,
}

impl MessageView {
    pub(super) fn of(message: &Message) -> MessageView {
        MessageView {
            message_id: message.id,
            from: message.from,
            to: message.to,
            body: message.body.clone(),
            format: message.format,
            kind: message.kind,
            inmail: message.verdict.inmail,
            attachments: message.attachments.clone(),
            created_at: message.created_at,
            status: message.status,
            sponsored: message.sponsored.clone(),
            text_removed: message.text_removed.is_some(),
        }
    }

    fn preview(message: &Message) -> MessageView {
        let mut view = MessageView::of(message);
        if let Some((cut, _)) = view.body.char_indices().nth(PREVIEW_CHARS) {
            view.body.truncate(cut);
            view.body.push('…');
        }
        view
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ThreadPage {
    pub thread_id: ThreadId,
    pub with: MemberId,
    pub folder: Folder,
    pub messages: Vec<MessageView>,
}

impl App {
    pub fn list_folder(
        &self,
        member: MemberId,
        folder: Folder,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<FolderPage> {
        if limit == 0 || limit > MAX_PAGE {
            return Err(Error::invalid_field("limit", "limit must be 1-100").limit(MAX_PAGE as u64));
        }
        let after = cursor.map(parse_cursor).transpose()?;
        let page = self.store.folder_page(member, folder, after, limit)?;
        let next_cursor = (page.len() == limit)
            .then(|| page.last().map(|(_, position)| hex::encode(position)))
            .flatten();
        let mut threads = Vec::with_capacity(page.len());
        for (view, _) in page {
            if self.store.blocked_either_way(member, view.other)? {
                continue;
            }
            threads.push(self.summary(&view)?);
        }
        Ok(FolderPage {
            folder,
            threads,
            next_cursor,
        })
    }

    fn summary(&self, view: &ThreadView) -> Result<ThreadSummary> {
        let mut unread = 0;
        let mut last_message = None;
        for id in self.store.thread_message_ids(view.thread_id, true) {
            let id = id?;
            if id <= view.last_read && last_message.is_some() {
                break;
            }
            let Some(message) = self.store.message(id)? else {
                continue;
            };
            if !message.visible_to(view.member) {
                continue;
            }
            if id > view.last_read && message.from != view.member {
                unread += 1;
            }
            if last_message.is_none() {
                last_message = Some(MessageView::preview(&message));
            }
        }
        let with_handle = match self.store.member(view.other)? {
            Some(member) => member.handle,
            // A sponsored thread's other side is an advertiser, shown by its name.
            None => self
                .store
                .advertiser(view.other)?
                .map(|advertiser| advertiser.name)
                .unwrap_or_default(),
        };
        Ok(ThreadSummary {
            thread_id: view.thread_id,
            with: view.other,
            with_handle,
            folder: view.listed_in(),
            last_activity: view.last_activity,
            unread,
            last_message,
        })
    }

    /// The caller's view of a thread; reading marks it read. Another member's thread is 404.
    pub fn read_thread(&self, member: MemberId, thread: ThreadId) -> Result<ThreadPage> {
        let view = self.visible_view(member, thread)?;
        let messages: Vec<Message> = self
            .store
            .thread_messages(thread)?
            .into_iter()
            .filter(|m| m.visible_to(member))
            .collect();
        if let Some(newest) = messages.last().map(|m| m.id) {
            if newest > view.last_read {
                // Read marks are not worth a wait for durability; losing one re-shows unread.
                self.store.write(|txn| {
                    if let Some(current) = txn.view(member, thread)? {
                        let mut updated = current.clone();
                        updated.last_read = updated.last_read.max(newest);
                        txn.put_view(Some(&current), &updated);
                    }
                    Ok::<_, Error>(())
                })?;
            }
        }
        Ok(ThreadPage {
            thread_id: thread,
            with: view.other,
            folder: view.listed_in(),
            messages: messages.iter().map(MessageView::of).collect(),
        })
    }

    pub async fn set_archived(
        &self,
        member: MemberId,
        thread: ThreadId,
        archived: bool,
    ) -> Result<()> {
        self.visible_view(member, thread)?;
        self.commit(|txn| {
            let current = txn.view(member, thread)?.ok_or_else(thread_not_found)?;
            if current.archived != archived {
                let mut updated = current.clone();
                updated.archived = archived;
                txn.put_view(Some(&current), &updated);
                if archived && current.last_read == 0 {
                    // Archived without reading anything of it: a reaction to outreach.
                    self.note_reaction(
                        txn,
                        current.other,
                        member,
                        crate::limits::Reaction::ArchivedUnread,
                    )?;
                }
            }
            Ok::<_, Error>(())
        })
        .await?;
        Ok(())
    }

    /// The member's view of a thread, or 404 when they have none or it is hidden by a block
    /// or by their report.
    fn visible_view(&self, member: MemberId, thread: ThreadId) -> Result<ThreadView> {
        let view = self
            .store
            .view(member, thread)?
            .filter(ThreadView::is_listed)
            .ok_or_else(thread_not_found)?;
        if self.store.blocked_either_way(member, view.other)? {
            return Err(thread_not_found());
        }
        Ok(view)
    }
}

fn thread_not_found() -> Error {
    Error::not_found("thread_not_found", "no such thread")
}

fn parse_cursor(cursor: &str) -> Result<[u8; 16]> {
    let bytes = hex::decode(cursor).ok().filter(|b| b.len() == 16);
    let bytes =
        bytes.ok_or_else(|| Error::invalid_field("cursor", "cursor is not one this API gave"))?;
    let mut position = [0u8; 16];
    position.copy_from_slice(&bytes);
    Ok(position)
}
