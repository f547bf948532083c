//! Sponsored messages: advertisers, their sponsored campaigns, and what a member's inbox
//! keeps of them. Named "sponsored" throughout because a plain "campaign" in this codebase is
//! a detected bot campaign (`campaign.rs`).
//!
//! An advertiser is not a member: it has its own id (from the same sequence, so it never
//! equals a member's), its own token kind, and no personal conversations. Each delivered
//! sponsored message sits in a thread of its own, never the pair's personal thread.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{MemberId, MessageId, Millis, Reason, ReviewerId};

pub type AdvertiserId = u64;
pub type SponsoredCampaignId = u64;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Advertiser {
    pub id: AdvertiserId,
    /// Shown on every message it sponsors.
    pub name: String,
    pub created_at: Millis,
}

/// Where a sponsored campaign stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SponsoredStatus {
    /// Judged acceptable for the sponsored channel; may be sent inside its schedule.
    Approved,
    /// Its content is held (phishing, scams, adult, look-alike domains, disguised links…):
    /// nothing is delivered; `reasons` say why.
    Held,
    /// A `reject` rule matched: it can never be sent; `reasons` say why.
    Refused,
    /// Delivered (to every eligible target, within the budget).
    Sent,
}

/// The call to action under the body: a labelled link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CallToAction {
    pub label: String,
    pub url: String,
}

/// When a sponsored campaign may be sent: `[starts_at, ends_at]`, epoch milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Schedule {
    pub starts_at: Millis,
    pub ends_at: Millis,
}

impl Schedule {
    pub fn contains(&self, time: Millis) -> bool {
        (self.starts_at..=self.ends_at).contains(&time)
    }
}

/// What became of a sponsored campaign's targets and its messages, for the advertiser and
/// the trust-and-safety report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SponsoredCounts {
    pub delivered: u64,
    /// Targets left out, by reason (`opted_out`, `frequency_cap`, `unknown_member`,
    /// `budget_exhausted`, `duplicate_target`).
    pub skipped: BTreeMap<String, u64>,
    /// Members who reported one of its messages as misleading.
    pub reports: u64,
    /// Members who opted out of sponsored messages after receiving one of its messages.
    pub opt_outs: u64,
    /// Members' replies delivered to the advertiser (campaigns with `allow_replies`).
    #[serde(default)]
    pub replies: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SponsoredCampaign {
    pub id: SponsoredCampaignId,
    pub advertiser: AdvertiserId,
    pub name: String,
    /// Markdown, as the members will read it (the call to action is added below it).
    pub body: String,
    pub cta: CallToAction,
    pub targets: Vec<MemberId>,
    /// Most messages it may send.
    pub budget: u32,
    pub schedule: Schedule,
    /// Whether recipients may answer; without it a sponsored thread takes no reply.
    pub allow_replies: bool,
    pub status: SponsoredStatus,
    /// Why the content was held or refused, or what it was approved with (rules allowed in
    /// the sponsored channel, for instance); shown to the advertiser.
    pub reasons: Vec<Reason>,
    pub created_at: Millis,
    #[serde(default)]
    pub sent_at: Option<Millis>,
    #[serde(default)]
    pub counts: SponsoredCounts,
    /// A reviewer's decision on held content, when one was made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review: Option<SponsoredReview>,
}

/// A reviewer's decision on a held sponsored campaign: approved to send despite the hold
/// (a false positive of the content rules), or refused for good. The note is the statement
/// of reasons the advertiser reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SponsoredReview {
    pub reviewer: ReviewerId,
    pub approved: bool,
    pub note: String,
    pub at: Millis,
}

impl SponsoredCampaign {
    /// The body members receive: the advertiser's markdown and its call to action.
    pub fn message_body(&self) -> String {
        format!(
            "{}\n\n[{}]({})",
            self.body.trim_end(),
            self.cta.label.replace(['[', ']'], ""),
            self.cta.url
        )
    }
}

/// What a delivered message carries when it is sponsored: shown as "Sponsored" with the
/// advertiser's name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SponsoredMark {
    pub advertiser_id: AdvertiserId,
    pub advertiser_name: String,
    pub campaign_id: SponsoredCampaignId,
    pub allow_replies: bool,
}

/// One sponsored message a member received.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SponsoredReceipt {
    pub at: Millis,
    pub campaign_id: SponsoredCampaignId,
    pub message_id: MessageId,
}

/// A member's side of the sponsored channel: whether they opted out, and what they
/// received recently (the frequency cap counts these across advertisers).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SponsoredInbox {
    pub opted_out: bool,
    /// Newest last; entries older than the cap window are dropped when it is written.
    pub received: Vec<SponsoredReceipt>,
}

impl SponsoredInbox {
    /// Sponsored messages received within `window_ms` before `now`.
    pub fn received_within(&self, now: Millis, window_ms: Millis) -> usize {
        self.received
            .iter()
            .filter(|receipt| now - receipt.at < window_ms)
            .count()
    }

    /// Records a delivery and forgets those that no longer count toward the cap.
    pub fn record(&mut self, receipt: SponsoredReceipt, window_ms: Millis) {
        let now = receipt.at;
        self.received.retain(|old| now - old.at < window_ms);
        self.received.push(receipt);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: Millis = 86_400_000;

    #[test]
    fn the_cap_counts_only_receipts_inside_the_window() {
        let mut inbox = SponsoredInbox::default();
        let receipt = |at| SponsoredReceipt {
            at,
            campaign_id: 1,
            message_id: 2,
        };
        inbox.record(receipt(0), 45 * DAY);
        assert_eq!(inbox.received_within(45 * DAY - 1, 45 * DAY), 1);
        assert_eq!(inbox.received_within(45 * DAY, 45 * DAY), 0);
        inbox.record(receipt(46 * DAY), 45 * DAY);
        assert_eq!(inbox.received.len(), 1, "the old receipt is forgotten");
    }

    #[test]
    fn the_call_to_action_follows_the_body_as_a_link() {
        let campaign = SponsoredCampaign {
            id: 1,
            advertiser: 2,
            name: "launch".into(),
            body: "Meet **Acme CRM**.\n".into(),
            cta: CallToAction {
                label: "Try [it]".into(),
                url: "https://acme.example/try".into(),
            },
            targets: vec![],
            budget: 1,
            schedule: Schedule {
                starts_at: 0,
                ends_at: 1,
            },
            allow_replies: false,
            status: SponsoredStatus::Approved,
            reasons: vec![],
            created_at: 0,
            sent_at: None,
            counts: SponsoredCounts::default(),
            review: None,
        };
        assert_eq!(
            campaign.message_body(),
            "Meet **Acme CRM**.\n\n[Try it](https://acme.example/try)"
        );
    }
}
