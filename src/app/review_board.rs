//! What the review console reads beyond the review API's own routes: the open queue as a
//! whole (sorted, filtered and counted, without claiming anything), claiming the next item
//! that matches, an item's evidence without its text, the sender's history, the members
//! under restriction, and the audit log filtered, newest first.
//!
//! Nothing here returns message text: content stays behind the audited read
//! ([`App::review_item`]).

use std::collections::{BTreeMap, VecDeque};

use serde::Serialize;

use super::App;
use crate::domain::{
    AuditEntry, Claim, Label, MemberId, MessageId, MessageKind, MessageStatus, Millis, Plan,
    Reason, Restriction, ReviewItem, ReviewOrigin, ReviewerId, Verdict,
};
use crate::domain::{BehaviourSignal, Relationship};
use crate::error::{Error, Result};
use crate::limits::strikes::Strike;
use crate::store::{Reader, ReviewReader, SponsoredReader};

/// Most open items one board or claim looks at; a deeper queue is reported as truncated
/// (the console is for working the queue, not for counting a backlog of this size).
pub const MAX_SCAN: usize = 10_000;
/// Most entries one board page lists.
pub const MAX_BOARD_PAGE: usize = 200;
/// Most items a claim may be asked to skip.
pub const MAX_SKIP: usize = 500;
/// A sender's held messages listed in an item's history (newest first).
const HISTORY_HOLDS: usize = 20;

/// The order of the board and of "claim next".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QueueSort {
    /// Oldest first: the default, so nothing waits forever.
    #[default]
    Oldest,
    /// Highest classifier probability first.
    Score,
    /// Most reports first.
    Reports,
}

impl QueueSort {
    pub fn parse(name: &str) -> Option<QueueSort> {
        match name {
            "oldest" => Some(QueueSort::Oldest),
            "score" => Some(QueueSort::Score),
            "reports" => Some(QueueSort::Reports),
            _ => None,
        }
    }
}

/// Which open items a reviewer wants to see or claim.
#[derive(Debug, Clone, Default)]
pub struct QueueFilter {
    pub sort: QueueSort,
    /// A reason key (`rule/phishing.x`, `limit/fan_out`, `origin/reported`) or a source
    /// alone (`rule`, `classifier`, `limit`).
    pub reason: Option<String>,
    /// A rule id among the item's reasons.
    pub rule: Option<String>,
    /// The message's language (ISO 639-3) as identified.
    pub language: Option<String>,
    pub kind: Option<MessageKind>,
}

/// One open item as the board lists it: facts and reasons, never message text.
#[derive(Debug, Clone, Serialize)]
pub struct BoardEntry {
    pub item_id: u64,
    pub message_id: MessageId,
    pub sender: MemberId,
    pub recipient: MemberId,
    pub origin: ReviewOrigin,
    pub created_at: Millis,
    pub reasons: Vec<Reason>,
    pub score: Option<f64>,
    pub language: Option<String>,
    pub kind: MessageKind,
    /// Reports of this message by its recipient(s).
    pub reports: usize,
    /// Who holds a live claim, if anyone.
    pub claimed_by: Option<ReviewerId>,
    pub claimed_until: Option<Millis>,
}

impl BoardEntry {
    /// The keys this entry counts under: `source/id` of every reason but the relationship's
    /// (which describes where a message would go, not why it is suspect), and
    /// `origin/reported` for a report.
    fn reason_keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self
            .reasons
            .iter()
            .filter(|r| r.source != "relationship")
            .map(|r| format!("{}/{}", r.source, r.id))
            .collect();
        if self.origin == ReviewOrigin::Reported {
            keys.push("origin/reported".into());
        }
        keys.sort();
        keys.dedup();
        keys
    }

    fn matches(&self, filter: &QueueFilter) -> bool {
        if let Some(wanted) = &filter.reason {
            let prefix = format!("{wanted}/");
            let keys = self.reason_keys();
            if !keys.iter().any(|k| k == wanted || k.starts_with(&prefix)) {
                return false;
            }
        }
        if let Some(rule) = &filter.rule {
            if !self
                .reasons
                .iter()
                .any(|r| r.source == "rule" && &r.id == rule)
            {
                return false;
            }
        }
        if let Some(language) = &filter.language {
            if self.language.as_deref() != Some(language.as_str()) {
                return false;
            }
        }
        filter.kind.is_none_or(|kind| kind == self.kind)
    }

    fn live_claim_of_other(&self, reviewer: ReviewerId) -> bool {
        self.claimed_by.is_some_and(|holder| holder != reviewer)
    }
}

/// The open queue as the console shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Board {
    pub items: Vec<BoardEntry>,
    /// Open items looked at (all of them unless `truncated`).
    pub open: usize,
    /// Open items that match the filter.
    pub matching: usize,
    /// Open items per reason key (`rule/…`, `classifier/…`, `limit/…`, `origin/reported`),
    /// over the whole queue, whatever the filter.
    pub by_reason: BTreeMap<String, usize>,
    /// Open items per language, for the language filter.
    pub by_language: BTreeMap<String, usize>,
    /// The queue is longer than [`MAX_SCAN`]; the figures cover its oldest part.
    pub truncated: bool,
}

/// A rule cited by an item, with its description from the rule set now loaded.
#[derive(Debug, Clone, Serialize)]
pub struct RuleInfo {
    pub id: String,
    pub category: String,
    pub description: String,
    pub action: crate::domain::RuleAction,
    pub score: f64,
    pub shadow: bool,
}

/// One of the sender's held messages, for the history panel (no text).
#[derive(Debug, Clone, Serialize)]
pub struct HeldSummary {
    pub message_id: MessageId,
    pub created_at: Millis,
    pub status: MessageStatus,
    /// Reason keys of its verdict.
    pub reasons: Vec<String>,
    pub label: Option<Label>,
}

/// What a reviewer weighs about the sender.
#[derive(Debug, Clone, Serialize)]
pub struct SenderHistory {
    pub member_id: MemberId,
    pub handle: String,
    pub plan: Plan,
    pub member_since: Millis,
    pub restriction: Option<Restriction>,
    /// Points of the strikes still live.
    pub strike_points: u32,
    pub strikes: Vec<Strike>,
    /// Distinct recent reports of this sender's messages.
    pub reports_against: usize,
    /// Other messages of theirs that were held, newest first.
    pub held: Vec<HeldSummary>,
    pub held_total: usize,
}

/// An item's evidence, without the message's text.
#[derive(Debug, Clone, Serialize)]
pub struct ItemContext {
    pub item: ReviewItem,
    pub entry: BoardEntry,
    pub thread_id: u64,
    pub verdict: Verdict,
    pub rules: Vec<RuleInfo>,
    pub behaviour: Vec<BehaviourSignal>,
    pub relationship: Relationship,
    pub sender: SenderHistory,
}

/// A member under restriction, for the restrictions list.
#[derive(Debug, Clone, Serialize)]
pub struct RestrictedMember {
    pub member_id: MemberId,
    pub handle: String,
    pub restriction: Restriction,
    pub strike_points: u32,
}

/// Which audit entries a reviewer wants.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub reviewer: Option<ReviewerId>,
    /// An action or its prefix: `decide_item` matches `decide_item:release`.
    pub action: Option<String>,
    pub from: Millis,
    pub to: Millis,
    pub limit: usize,
}

fn item_not_found() -> Error {
    Error::not_found("item_not_found", "no such review item")
}

/// The board entry of an item, read from any reader (the store, or a write in progress).
fn entry_of<R: ReviewReader>(reader: &R, item: &ReviewItem, now: Millis) -> Result<BoardEntry> {
    let message = reader.message(item.message_id)?;
    let reports = if item.origin == ReviewOrigin::Reported {
        reader
            .reports_against(item.sender)?
            .entries
            .iter()
            .filter(|e| e.message_id == item.message_id)
            .count()
            .max(1)
    } else {
        0
    };
    let live = item.claim.as_ref().filter(|c| c.until > now);
    Ok(BoardEntry {
        item_id: item.id,
        message_id: item.message_id,
        sender: item.sender,
        recipient: message.as_ref().map_or(0, |m| m.to),
        origin: item.origin,
        created_at: item.created_at,
        reasons: message
            .as_ref()
            .map(|m| m.verdict.reasons.clone())
            .unwrap_or_default(),
        score: message.as_ref().and_then(|m| m.verdict.score),
        language: message.as_ref().and_then(|m| m.verdict.language.clone()),
        kind: message.as_ref().map_or(MessageKind::Message, |m| m.kind),
        reports,
        claimed_by: live.map(|c| c.reviewer),
        claimed_until: live.map(|c| c.until),
    })
}

fn sort_entries(entries: &mut [BoardEntry], sort: QueueSort) {
    let oldest = |a: &BoardEntry, b: &BoardEntry| a.created_at.cmp(&b.created_at);
    match sort {
        QueueSort::Oldest => entries.sort_by(oldest),
        QueueSort::Score => entries.sort_by(|a, b| {
            let (sa, sb) = (a.score.unwrap_or(-1.0), b.score.unwrap_or(-1.0));
            sb.total_cmp(&sa).then_with(|| oldest(a, b))
        }),
        QueueSort::Reports => {
            entries.sort_by(|a, b| b.reports.cmp(&a.reports).then_with(|| oldest(a, b)))
        }
    }
}

impl App {
    /// The open queue, sorted and filtered, with counts; claims nothing.
    pub fn review_board(&self, filter: &QueueFilter, limit: usize) -> Result<Board> {
        if limit == 0 || limit > MAX_BOARD_PAGE {
            return Err(
                Error::invalid_field("limit", "limit must be 1-200").limit(MAX_BOARD_PAGE as u64)
            );
        }
        let now = self.clock.now();
        let mut open = 0;
        let mut truncated = false;
        let mut by_reason = BTreeMap::new();
        let mut by_language = BTreeMap::new();
        let mut matching = Vec::new();
        for id in self.store.open_review_items() {
            if open == MAX_SCAN {
                truncated = true;
                break;
            }
            let Some(item) = self.store.review_item(id?)? else {
                continue;
            };
            open += 1;
            let entry = entry_of(&self.store, &item, now)?;
            for key in entry.reason_keys() {
                *by_reason.entry(key).or_insert(0) += 1;
            }
            if let Some(language) = &entry.language {
                *by_language.entry(language.clone()).or_insert(0) += 1;
            }
            if entry.matches(filter) {
                matching.push(entry);
            }
        }
        sort_entries(&mut matching, filter.sort);
        let count = matching.len();
        matching.truncate(limit);
        Ok(Board {
            items: matching,
            open,
            matching: count,
            by_reason,
            by_language,
            truncated,
        })
    }

    /// Claims the first open item (in the filter's order) that matches, is not under
    /// another reviewer's live claim and is not in `skip`. The claim is a lease of
    /// `review.claim_ttl_secs`: an abandoned item returns to the queue when it expires.
    pub fn claim_next(
        &self,
        reviewer: ReviewerId,
        filter: &QueueFilter,
        skip: &[u64],
    ) -> Result<Option<BoardEntry>> {
        if skip.len() > MAX_SKIP {
            return Err(
                Error::invalid_field("skip", "at most 500 item ids to skip").limit(MAX_SKIP as u64)
            );
        }
        let now = self.clock.now();
        let until = now + (self.review.claim_ttl_secs as Millis) * 1000;
        let (claimed, _) = self.store.write(|txn| {
            let mut candidates = Vec::new();
            for id in self.store.open_review_items().take(MAX_SCAN) {
                let id = id?;
                if skip.contains(&id) {
                    continue;
                }
                let Some(item) = txn.review_item(id)? else {
                    continue;
                };
                let entry = entry_of(txn, &item, now)?;
                if entry.matches(filter) && !entry.live_claim_of_other(reviewer) {
                    candidates.push(entry);
                }
            }
            sort_entries(&mut candidates, filter.sort);
            let Some(mut entry) = candidates.into_iter().next() else {
                return Ok::<_, Error>(None);
            };
            let mut item = txn.review_item(entry.item_id)?.ok_or_else(item_not_found)?;
            item.claim = Some(Claim { reviewer, until });
            txn.put_review_item(&item);
            entry.claimed_by = Some(reviewer);
            entry.claimed_until = Some(until);
            Ok(Some(entry))
        })?;
        Ok(claimed)
    }

    /// An item's reasons, rules, behaviour signals and sender history; not its text, so
    /// no justification is needed and nothing is audited.
    pub fn item_context(&self, item_id: u64) -> Result<ItemContext> {
        let now = self.clock.now();
        let item = self
            .store
            .review_item(item_id)?
            .ok_or_else(item_not_found)?;
        let message = self
            .store
            .message(item.message_id)?
            .ok_or_else(item_not_found)?;
        let entry = entry_of(&self.store, &item, now)?;
        let rule_set = self.engine.rules();
        let rules = message
            .verdict
            .reasons
            .iter()
            .filter(|r| r.source == "rule")
            .filter_map(|r| rule_set.rules.iter().find(|rule| rule.id == r.id))
            .map(|rule| RuleInfo {
                id: rule.id.clone(),
                category: rule.category.clone(),
                description: rule.description.clone(),
                action: rule.action,
                score: rule.score,
                shadow: rule.shadow,
            })
            .collect();
        let sender = self.sender_history(item.sender, item.message_id, now)?;
        Ok(ItemContext {
            thread_id: message.thread_id,
            verdict: message.verdict.clone(),
            behaviour: message.signals.behaviour.clone(),
            relationship: message.signals.relationship,
            rules,
            sender,
            entry,
            item,
        })
    }

    fn sender_history(
        &self,
        sender: MemberId,
        this_message: MessageId,
        now: Millis,
    ) -> Result<SenderHistory> {
        let Some(member) = self.store.member(sender)? else {
            return self.advertiser_history(sender);
        };
        let strikes_config = &self.limiter.config().strikes;
        let state = self.current_sender_state(sender)?;
        let strike_points = crate::limits::strikes::points(strikes_config, &state.strikes, now);
        let mut held_ids = Vec::new();
        for id in self.store.sender_holds(sender) {
            let id = id?;
            if id != this_message {
                held_ids.push(id);
            }
        }
        let held_total = held_ids.len();
        let mut held = Vec::new();
        for id in held_ids.iter().rev().take(HISTORY_HOLDS) {
            let Some(message) = self.store.message(*id)? else {
                continue;
            };
            held.push(HeldSummary {
                message_id: message.id,
                created_at: message.created_at,
                status: message.status,
                reasons: message
                    .verdict
                    .reasons
                    .iter()
                    .filter(|r| r.source != "relationship")
                    .map(|r| format!("{}/{}", r.source, r.id))
                    .collect(),
                label: self.store.label(message.id)?.map(|l| l.label),
            });
        }
        Ok(SenderHistory {
            member_id: member.id,
            handle: member.handle,
            plan: member.plan,
            member_since: member.created_at,
            restriction: member.restriction,
            strike_points,
            strikes: state.strikes.strikes,
            reports_against: self.store.reports_against(sender)?.entries.len(),
            held,
            held_total,
        })
    }

    /// A sponsored message's sender: an advertiser, with no member record, strikes or
    /// holds; its handle names it as one.
    fn advertiser_history(&self, sender: MemberId) -> Result<SenderHistory> {
        let advertiser = self
            .store
            .advertiser(sender)?
            .ok_or_else(|| Error::not_found("unknown_member", format!("no member {sender}")))?;
        Ok(SenderHistory {
            member_id: advertiser.id,
            handle: format!("advertiser:{}", advertiser.name),
            plan: Plan::Free,
            member_since: advertiser.created_at,
            restriction: None,
            strike_points: 0,
            strikes: Vec::new(),
            reports_against: 0,
            held: Vec::new(),
            held_total: 0,
        })
    }

    /// Members under restriction now, by id, at most `limit`. Reads every member record:
    /// restrictions live on the member (what sends check), and there is no index of them.
    pub fn restricted_members(&self, limit: usize) -> Result<Vec<RestrictedMember>> {
        let now = self.clock.now();
        let strikes_config = &self.limiter.config().strikes;
        let mut out = Vec::new();
        for member in self.store.members() {
            let member = member?;
            let Some(restriction) = member.restriction else {
                continue;
            };
            let state = self.current_sender_state(member.id)?;
            out.push(RestrictedMember {
                member_id: member.id,
                handle: member.handle,
                restriction,
                strike_points: crate::limits::strikes::points(strikes_config, &state.strikes, now),
            });
            if out.len() == limit {
                break;
            }
        }
        Ok(out)
    }

    /// Audit entries in `[from, to)` that match, newest first, at most `limit`.
    pub fn audit_search(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>> {
        let mut kept = VecDeque::with_capacity(filter.limit.min(1024));
        for entry in self.store.audit_range(filter.from, filter.to) {
            let entry = entry?;
            if let Some(reviewer) = filter.reviewer {
                if entry.actor != crate::domain::Actor::Reviewer(reviewer) {
                    continue;
                }
            }
            if let Some(action) = &filter.action {
                let matches = entry.action == *action
                    || entry
                        .action
                        .strip_prefix(action.as_str())
                        .is_some_and(|rest| rest.starts_with(':'));
                if !matches {
                    continue;
                }
            }
            if kept.len() == filter.limit {
                kept.pop_front();
            }
            kept.push_back(entry);
        }
        Ok(kept.into_iter().rev().collect())
    }
}
