//! The member's copy of their data (right of access): one JSON document, written piece by
//! piece to a `Write`, so a long history is never held in memory: the server streams it.
//!
//! What the member gets: their profile facts; every thread they take part in with the
//! messages they sent (whatever became of them) and those delivered to them; the members
//! they block; the reports they made; statements of reasons; their appeals; and what was
//! decided about their messages, as statements (the decision and the reasons a member may
//! read, a reviewer's label in words), never raw scores, evidence tokens or model weights.

use std::io::Write;

use serde::Serialize;
use serde_json::json;

use super::App;
use crate::domain::{
    Attachment, Decision, Format, LabelSource, MemberId, Message, MessageId, MessageKind,
    MessageStatus, Millis, Reason, ThreadId,
};
use crate::error::{Error, ErrorKind, Result};
use crate::store::{Reader, ReviewReader};

/// Bumped when a field changes meaning; fields are only ever added otherwise.
pub const EXPORT_FORMAT: &str = "sendguard-export/1";

/// One message as the member's export shows it.
#[derive(Serialize)]
struct ExportedMessage<'a> {
    message_id: MessageId,
    thread_id: ThreadId,
    /// `sent` or `received`.
    direction: &'static str,
    from: MemberId,
    to: MemberId,
    created_at: Millis,
    status: MessageStatus,
    body: &'a str,
    format: Format,
    kind: MessageKind,
    attachments: &'a [Attachment],
    text_removed: bool,
    /// Sent messages only: what the pipeline decided and why, in the words a member may
    /// read (no score, no evidence).
    #[serde(skip_serializing_if = "Option::is_none")]
    decision: Option<Decision>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    reasons: Vec<Reason>,
    /// A person's label of the message, as a sentence.
    #[serde(skip_serializing_if = "Option::is_none")]
    review: Option<String>,
}

fn io(error: std::io::Error) -> Error {
    Error::new(ErrorKind::Internal, "export_write", error.to_string())
}

fn write_json(out: &mut impl Write, value: &impl Serialize) -> Result<()> {
    serde_json::to_writer(&mut *out, value)
        .map_err(|e| Error::new(ErrorKind::Internal, "export_write", e.to_string()))
}

impl App {
    /// Writes `member`'s export to `out`; 404 for an unknown (or erased) member.
    pub fn export_member_data(&self, member: MemberId, out: &mut impl Write) -> Result<()> {
        let profile = self
            .store
            .member(member)?
            .ok_or_else(|| Error::not_found("unknown_member", format!("no member {member}")))?;
        write!(out, "{{\"format\":\"{EXPORT_FORMAT}\",\"generated_at\":").map_err(io)?;
        write_json(out, &self.clock.now())?;
        write!(out, ",\"member\":").map_err(io)?;
        write_json(
            out,
            &json!({
                "member_id": profile.id,
                "handle": profile.handle,
                "display_name": profile.display_name,
                "plan": profile.plan,
                "created_at": profile.created_at,
                "restriction": profile.restriction.as_ref().map(|r| json!({
                    "level": r.level, "reason": r.reason, "since": r.since, "automated": r.automated,
                })),
            }),
        )?;
        write!(out, ",\"blocks\":").map_err(io)?;
        write_json(out, &self.store.blocked_by(member)?)?;
        write!(out, ",\"threads\":[").map_err(io)?;
        for (index, thread) in self.store.threads_of(member)?.into_iter().enumerate() {
            let Some(record) = self.store.thread(thread)? else {
                continue;
            };
            if index > 0 {
                write!(out, ",").map_err(io)?;
            }
            write!(
                out,
                "{{\"thread_id\":{thread},\"with\":{},\"created_at\":{},\"messages\":[",
                record.other(member),
                record.created_at
            )
            .map_err(io)?;
            let mut first = true;
            for id in self.store.thread_message_ids(thread, false) {
                let Some(message) = self.store.message(id?)? else {
                    continue;
                };
                let sent = message.from == member;
                if !sent && !message.visible_to(member) {
                    continue;
                }
                if !first {
                    write!(out, ",").map_err(io)?;
                }
                first = false;
                write_json(out, &self.exported(&message, sent)?)?;
            }
            write!(out, "]}}").map_err(io)?;
        }
        write!(out, "],\"reports_made\":").map_err(io)?;
        let reports: Vec<_> = self
            .store
            .reports_by(member)?
            .into_iter()
            .map(|(sender, report)| {
                json!({"sender": sender, "message_id": report.message_id, "at": report.at})
            })
            .collect();
        write_json(out, &reports)?;
        write!(out, ",\"statements\":").map_err(io)?;
        write_json(out, &self.statements(member)?)?;
        write!(out, ",\"appeals\":[").map_err(io)?;
        let mut first = true;
        for appeal in self.store.appeals() {
            let appeal = appeal?;
            if appeal.member != member {
                continue;
            }
            if !first {
                write!(out, ",").map_err(io)?;
            }
            first = false;
            write_json(out, &appeal)?;
        }
        write!(out, "]}}").map_err(io)?;
        out.flush().map_err(io)
    }

    fn exported<'a>(&self, message: &'a Message, sent: bool) -> Result<ExportedMessage<'a>> {
        let review = if sent {
            self.store.label(message.id)?.map(|label| {
                let who = match label.source {
                    LabelSource::Reviewer => "A reviewer",
                    LabelSource::MarkSafe => "The recipient",
                    LabelSource::Appeal => "A reviewer deciding your appeal",
                };
                format!("{who} labelled this message {}.", label.label.as_str())
            })
        } else {
            None
        };
        Ok(ExportedMessage {
            message_id: message.id,
            thread_id: message.thread_id,
            direction: if sent { "sent" } else { "received" },
            from: message.from,
            to: message.to,
            created_at: message.created_at,
            status: message.status,
            body: &message.body,
            format: message.format,
            kind: message.kind,
            attachments: &message.attachments,
            text_removed: message.text_removed.is_some(),
            decision: sent.then_some(message.verdict.decision),
            reasons: if sent {
                message
                    .verdict
                    .reasons
                    .iter()
                    .map(Reason::for_member)
                    .collect()
            } else {
                Vec::new()
            },
            review,
        })
    }
}
