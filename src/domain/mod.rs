//! The product's vocabulary: members, threads, messages, folders (here), the verdict
//! ([`verdict`]), the signals the stages report ([`signals`]), review, appeal, label and
//! audit records ([`review`]) and rendered message bodies ([`body`]).
//!
//! Plain data with serde derives, shared by every stage; no I/O and no policy lives here,
//! and nothing else of the crate is imported, so the store, the engine and the HTTP layer
//! all speak the same types.

pub mod body;
pub mod campaign;
pub mod credits;
pub mod lifecycle;
pub mod review;
pub mod signals;
pub mod sponsored;
pub mod verdict;

use serde::{Deserialize, Serialize};

pub use body::{Link, RenderedBody};
pub use campaign::{Campaign, CampaignAccount, CampaignId, CampaignStatus};
pub use credits::{CreditTerms, InmailLedger, PendingRefund};
pub use lifecycle::{ErasureCounts, ErasureRecord};
pub use review::{
    Actor, Appeal, AppealOutcome, AppealTarget, AuditEntry, Claim, Label, LabelRecord, LabelSource,
    OverturnedRestriction, ReportEntry, ReporterStanding, ReportsAgainst, ReviewAction,
    ReviewDecision, ReviewItem, ReviewOrigin,
};
pub use signals::{BehaviourSignal, ClassifierSignal, Relationship, RuleAction, RuleHit};
pub use sponsored::{
    Advertiser, AdvertiserId, CallToAction, Schedule, SponsoredCampaign, SponsoredCampaignId,
    SponsoredCounts, SponsoredInbox, SponsoredMark, SponsoredReceipt, SponsoredReview,
    SponsoredStatus,
};
pub use verdict::{Decision, Reason, Sanction, SendSignals, Verdict};

/// Member, thread and message ids: `u64`s handed out by the store, never reused.
pub type MemberId = u64;
pub type ThreadId = u64;
pub type MessageId = u64;
pub type ReviewerId = u64;

/// Milliseconds since the Unix epoch (UTC). Every time in the system is an input in this unit.
pub type Millis = i64;

/// A member's subscription plan; it decides whether InMail may be sent and how many a month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Plan {
    Free,
    Premium,
}

/// How far a restricted member is held back, lifted only by a reviewer.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum RestrictionLevel {
    /// No new conversations with non-connections; replies in existing threads still go.
    NewConversations,
    /// Only existing connections can be messaged.
    Full,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Restriction {
    pub level: RestrictionLevel,
    pub reason: String,
    pub since: Millis,
    /// Set by the pipeline rather than a person.
    #[serde(default)]
    pub automated: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Member {
    pub id: MemberId,
    pub handle: String,
    pub display_name: String,
    pub plan: Plan,
    /// Account creation time: young accounts get lower limits.
    pub created_at: Millis,
    #[serde(default)]
    pub restriction: Option<Restriction>,
}

/// The three roles a bearer token can carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "role", content = "id", rename_all = "snake_case")]
pub enum Principal {
    Member(MemberId),
    Reviewer(ReviewerId),
    /// Another service of the platform that may call `/v1/assess`.
    Service(u64),
    Admin,
    /// An advertiser: may run its own sponsored campaigns, nothing else.
    Advertiser(sponsored::AdvertiserId),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reviewer {
    pub id: ReviewerId,
    pub name: String,
    pub created_at: Millis,
}

/// A conversation between exactly two members; one per pair, like the product's threads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Thread {
    pub id: ThreadId,
    /// The two participants, lower id first.
    pub members: [MemberId; 2],
    pub created_at: Millis,
}

impl Thread {
    pub fn has(&self, member: MemberId) -> bool {
        self.members.contains(&member)
    }

    /// The participant that is not `member`.
    pub fn other(&self, member: MemberId) -> MemberId {
        if self.members[0] == member {
            self.members[1]
        } else {
            self.members[0]
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    #[default]
    Text,
    Markdown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    #[default]
    Message,
    Inmail,
    /// A paid promotion, sent only through an advertiser's sponsored campaign.
    Sponsored,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AttachmentType {
    Gif,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Attachment {
    #[serde(rename = "type")]
    pub kind: AttachmentType,
    pub url: String,
}

/// Where a message stands in its life; only `Delivered` messages are shown to the recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MessageStatus {
    Delivered,
    Held,
    Recalled,
    Removed,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub id: MessageId,
    pub thread_id: ThreadId,
    pub from: MemberId,
    pub to: MemberId,
    /// The body exactly as sent (markdown source for markdown messages), kept for display.
    pub body: String,
    pub format: Format,
    pub kind: MessageKind,
    #[serde(default)]
    pub attachments: Vec<Attachment>,
    pub created_at: Millis,
    pub status: MessageStatus,
    pub verdict: Verdict,
    /// What the sender side looked like at send time (for rescoring).
    #[serde(default)]
    pub signals: SendSignals,
    #[serde(default)]
    pub recalled_at: Option<Millis>,
    /// Verdicts a batch rescore replaced, oldest first: what the message was decided on
    /// before, kept with it so a reviewer sees the history (`docs/ARCHITECTURE.md`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub previous_verdicts: Vec<Verdict>,
    /// Set on a sponsored message: the advertiser and campaign it is shown with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sponsored: Option<SponsoredMark>,
    /// Set when the body and attachments were removed (the sender's account was erased,
    /// or a retention window passed): the record stays so the other side's thread and the
    /// counts keep their shape, the text is gone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_removed: Option<TextRemoval>,
    /// The store's encrypted form of `body` (`store::crypt`): set only in the stored
    /// record, where `body` is then empty; every read through the store opens it again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed_body: Option<SealedText>,
}

/// A text encrypted at rest: which key, the nonce and the ciphertext with its tag (hex).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedText {
    pub key: String,
    pub nonce: String,
    pub text: String,
}

/// Why and when a message's text was removed (`Message::text_removed`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TextRemoval {
    pub at: Millis,
    pub why: TextRemovalReason,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TextRemovalReason {
    /// The sender's account was erased (`sendguard member erase`, the admin route).
    Erasure,
    /// A `[retention]` window passed.
    Retention,
}

impl Message {
    /// Drops the text and attachments, keeping the record's facts (ids, times, verdict).
    pub fn remove_text(&mut self, at: Millis, why: TextRemovalReason) {
        self.body.clear();
        self.attachments.clear();
        // The reviewer's evidence names the message's own words.
        for verdict in std::iter::once(&mut self.verdict).chain(&mut self.previous_verdicts) {
            for reason in &mut verdict.reasons {
                reason.evidence.clear();
            }
        }
        if self.text_removed.is_none() {
            self.text_removed = Some(TextRemoval { at, why });
        }
    }
}

impl Message {
    /// Whether `viewer` (a participant) sees this message in the thread.
    pub fn visible_to(&self, viewer: MemberId) -> bool {
        match self.status {
            MessageStatus::Delivered => true,
            MessageStatus::Held => viewer == self.from,
            MessageStatus::Recalled | MessageStatus::Removed => false,
        }
    }
}

/// A member's folders. Archived is a flag on top of Inbox/Other so unarchive restores the place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Hash, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Folder {
    Inbox,
    Other,
    Archived,
}

impl Folder {
    pub fn parse(name: &str) -> Option<Folder> {
        match name {
            "inbox" => Some(Folder::Inbox),
            "other" => Some(Folder::Other),
            "archived" => Some(Folder::Archived),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Folder::Inbox => "inbox",
            Folder::Other => "other",
            Folder::Archived => "archived",
        }
    }
}

/// One member's place for a thread: which folder it sits in, and how far they have read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThreadView {
    pub thread_id: ThreadId,
    pub member: MemberId,
    pub other: MemberId,
    /// Inbox or Other; `archived` hides it from both into Archived.
    pub placement: Folder,
    pub archived: bool,
    /// Time of the newest message this member can see; orders the folder listing.
    pub last_activity: Millis,
    /// Highest message id this member has read.
    pub last_read: MessageId,
    /// This member has had a message delivered in the thread: they take part in it, so
    /// the other side's messages land in their Inbox.
    #[serde(default)]
    pub sent_any: bool,
    /// The member reported a message here: the thread stays out of their folders, search
    /// and reads whatever the other side sends later (a report that a next message undid
    /// would be no protection), until the member writes in it or marks a message safe.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub hidden_by_report: bool,
}

impl ThreadView {
    /// Whether the thread is listed in a folder at all (not hidden by the member's report).
    pub fn is_listed(&self) -> bool {
        !self.hidden_by_report
    }

    /// The folder the thread is listed in right now (when it [is listed](Self::is_listed)).
    pub fn listed_in(&self) -> Folder {
        if self.archived {
            Folder::Archived
        } else {
            self.placement
        }
    }
}
