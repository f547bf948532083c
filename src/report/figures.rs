//! The report's figures, computed in one pass over each kind of record.
//!
//! Messages are the bulk of a store, so they are read once, in id (= send time) order, into
//! fixed-size aggregates: per-day counters, per-rule and per-signal counters, score bins.
//! Memory grows only with the number of days, rules, reviewer labels and distinct held
//! senders, never with the number of messages, and message bodies are never decoded (the
//! record type below does not have the field). The smaller record kinds (audit entries in
//! the period, review items, appeals, refusal counters) are read in their own pass.
//!
//! Definitions (the HTML page states them too):
//! - a message counts on the day it was sent, by its stored verdict's decision;
//! - *labels* are reviewers' decisions and overturned appeals (a recipient's mark-safe is
//!   not a reviewer's judgement and is left out); the latest label of a message counts;
//! - rule precision = labelled spam / labelled messages among the rule's hits;
//! - the classifier predicts spam when its score alone would hold the message
//!   (reason `classifier/spam_hold`); precision and recall are over labelled messages;
//! - a review item's time to decision is decision time minus queueing time; queue depth at
//!   the end of a day counts items queued by then and not yet decided.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::dates::{format_day, DAY_MS};
use crate::domain::{
    Actor, AppealOutcome, AppealTarget, Decision, Label, LabelSource, MemberId, MessageId, Millis,
    ReviewAction, ReviewOrigin,
};
use crate::store::StoreResult;
use crate::Store;

/// Version of the JSON layout; bumped when a field changes meaning or goes away.
pub const SCHEMA_VERSION: u32 = 1;

/// Number of equal-width score bins in the classifier histogram.
pub const SCORE_BINS: usize = 10;

/// Longest day axis drawn; a wider explicit period falls back to the days with data.
const MAX_AXIS_DAYS: i64 = 3660;

#[derive(Debug, Clone)]
pub struct ReportOptions {
    /// Start of the period (inclusive); `None` = from the first record.
    pub from: Option<Millis>,
    /// End of the period (exclusive); `None` = up to `now`.
    pub to: Option<Millis>,
    /// The time the report is made; open items' ages are measured at `min(to, now)`.
    pub now: Millis,
    /// How many held senders to list.
    pub top_senders: usize,
}

impl ReportOptions {
    pub fn new(from: Option<Millis>, to: Option<Millis>, now: Millis) -> ReportOptions {
        ReportOptions {
            from,
            to,
            now,
            top_senders: 10,
        }
    }

    fn start(&self) -> Millis {
        self.from.unwrap_or(0)
    }

    fn end(&self) -> Millis {
        self.to.unwrap_or(Millis::MAX)
    }

    fn contains(&self, at: Millis) -> bool {
        at >= self.start() && at < self.end()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub schema_version: u32,
    pub period: Period,
    pub volume: Volume,
    pub rules: Vec<RuleRow>,
    pub classifier: ClassifierFigures,
    pub limits: LimitFigures,
    pub restrictions: RestrictionFigures,
    pub review: ReviewFigures,
    pub appeals: AppealFigures,
    pub top_held_senders: Vec<HeldSender>,
    /// Coordinated campaigns recognized in the period (`report/campaigns.rs`).
    #[serde(default)]
    pub campaigns: super::campaigns::CampaignFigures,
    /// Sponsored messages: campaigns sent, skips by reason, reports and opt-outs
    /// (`report/sponsored.rs`).
    #[serde(default)]
    pub sponsored: super::sponsored::SponsoredFigures,
    /// Accounts erased in the period (issue 24): counts only, no member is named.
    #[serde(default)]
    pub erasures: ErasureFigures,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ErasureFigures {
    /// Erasures requested in the period; `completed` of them finished.
    pub requested: u64,
    pub completed: u64,
    pub messages_redacted: u64,
    pub audit_entries_pseudonymized: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Period {
    /// `YYYY-MM-DD` of the first day, or `null` for "from the beginning".
    pub from: Option<String>,
    pub from_ms: Option<Millis>,
    /// Exclusive end, or `null` for "up to the report time".
    pub to: Option<String>,
    pub to_ms: Option<Millis>,
    pub generated_at_ms: Millis,
    /// The days of the time series, `YYYY-MM-DD`, oldest first.
    pub days: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Volume {
    pub inbox: u64,
    pub other: u64,
    pub held: u64,
    pub refused: u64,
    /// Refused sends by error code (`rate_limited` summed over its limits).
    pub refused_by_reason: BTreeMap<String, u64>,
    pub days: Vec<VolumeDay>,
    /// Delivered and held messages by language (ISO 639-3; `und` when not identified):
    /// where a filter over-flags one language, this is where it shows.
    #[serde(default)]
    pub by_language: BTreeMap<String, LanguageRow>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct LanguageRow {
    pub inbox: u64,
    pub other: u64,
    pub held: u64,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct VolumeDay {
    pub day: String,
    pub inbox: u64,
    pub other: u64,
    pub held: u64,
    pub refused: u64,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RuleRow {
    pub rule: String,
    /// Messages the rule matched (non-shadow hits recorded in verdicts).
    pub hits: u64,
    /// Of those, held.
    pub held: u64,
    pub labelled_spam: u64,
    pub labelled_ham: u64,
    /// `labelled_spam / (labelled_spam + labelled_ham)`; `null` with no labels.
    pub precision: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ScoreBin {
    /// Spam probability range `[from, to)` (the last bin includes 1.0).
    pub from: f64,
    pub to: f64,
    pub ham: u64,
    pub spam: u64,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ClassifierFigures {
    /// Messages in the period with a classifier score.
    pub scored: u64,
    pub labelled_spam: u64,
    pub labelled_ham: u64,
    /// Score distribution of labelled messages.
    pub bins: Vec<ScoreBin>,
    pub tp: u64,
    pub fp: u64,
    #[serde(rename = "fn")]
    pub fn_: u64,
    pub tn: u64,
    pub precision: Option<f64>,
    pub recall: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SignalRow {
    /// Behaviour signal id (`fan_out`, `cadence`).
    pub signal: String,
    pub messages: u64,
    pub held: u64,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct LimitsDay {
    pub day: String,
    pub rate_limited: u64,
    pub signals: u64,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct LimitFigures {
    /// Sends refused by a rate or new-conversation limit, by limit name.
    pub rate_limited: BTreeMap<String, u64>,
    /// Sends refused because the sender was restricted.
    pub sender_restricted: u64,
    /// Bot signals raised on stored messages.
    pub signals: Vec<SignalRow>,
    pub days: Vec<LimitsDay>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RestrictionsDay {
    pub day: String,
    pub restricted: u64,
    pub lifted: u64,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RestrictionFigures {
    /// Restrictions applied, by who: `automated`, `reviewer`, `admin`.
    pub restricted: BTreeMap<String, u64>,
    /// Restrictions lifted, by who: `reviewer`, `appeal`, `admin`.
    pub lifted: BTreeMap<String, u64>,
    pub members_restricted: u64,
    pub members_lifted: u64,
    pub days: Vec<RestrictionsDay>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ReviewDay {
    pub day: String,
    pub queued: u64,
    pub decided: u64,
    /// Open items at the end of the day.
    pub depth: u64,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Durations {
    pub count: u64,
    pub median_ms: Option<Millis>,
    pub p90_ms: Option<Millis>,
    pub max_ms: Option<Millis>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ReviewFigures {
    /// Items queued in the period, by origin.
    pub queued_held: u64,
    pub queued_reported: u64,
    /// Items decided in the period, by action and by label.
    pub decided: BTreeMap<String, u64>,
    pub labelled: BTreeMap<String, u64>,
    /// Time from queueing to decision of the items decided in the period.
    pub time_to_decision: Durations,
    /// Open items at the end of the period, and the age of the oldest.
    pub open_at_end: u64,
    pub oldest_open_age_ms: Option<Millis>,
    pub days: Vec<ReviewDay>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct AppealFigures {
    /// Appeals filed in the period, by target, and what became of them.
    pub filed: u64,
    pub on_messages: u64,
    pub on_restrictions: u64,
    pub upheld: u64,
    pub overturned: u64,
    pub open: u64,
    pub time_to_decision: Durations,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct HeldSender {
    pub member_id: MemberId,
    pub held: u64,
    pub labelled_spam: u64,
    pub labelled_ham: u64,
}

/// What a report reads of a message: no body, no recipient, no attachments.
#[derive(Deserialize)]
struct MessageFacts {
    id: MessageId,
    from: MemberId,
    created_at: Millis,
    verdict: VerdictFacts,
}

#[derive(Deserialize)]
struct VerdictFacts {
    decision: Decision,
    #[serde(default)]
    reasons: Vec<ReasonFacts>,
    #[serde(default)]
    score: Option<f64>,
    #[serde(default)]
    language: Option<String>,
}

#[derive(Deserialize)]
struct ReasonFacts {
    source: String,
    id: String,
}

/// Per-day counters of every time series.
#[derive(Default)]
struct Day {
    inbox: u64,
    other: u64,
    held: u64,
    refused: u64,
    rate_limited: u64,
    signals: u64,
    restricted: u64,
    lifted: u64,
    queued: u64,
    decided: u64,
}

#[derive(Default)]
struct HeldAgg {
    held: u64,
    spam: u64,
    ham: u64,
}

fn day_of(at: Millis) -> i64 {
    at.div_euclid(DAY_MS)
}

fn ratio(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[Millis], p: f64) -> Option<Millis> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len() as f64).ceil().max(1.0) as usize;
    Some(sorted[rank.min(sorted.len()) - 1])
}

fn durations(mut values: Vec<Millis>) -> Durations {
    values.sort_unstable();
    Durations {
        count: values.len() as u64,
        median_ms: percentile(&values, 0.5),
        p90_ms: percentile(&values, 0.9),
        max_ms: values.last().copied(),
    }
}

fn bump(map: &mut BTreeMap<String, u64>, key: &str, by: u64) {
    *map.entry(key.to_string()).or_default() += by;
}

/// Reads the store and computes every figure of the report.
pub fn build(store: &Store, options: &ReportOptions) -> StoreResult<Report> {
    let mut days: BTreeMap<i64, Day> = BTreeMap::new();
    let labels = reviewer_labels(store)?;

    let mut volume = Volume::default();
    let mut rules: BTreeMap<String, RuleRow> = BTreeMap::new();
    let mut classifier = ClassifierFigures {
        bins: (0..SCORE_BINS)
            .map(|i| ScoreBin {
                from: i as f64 / SCORE_BINS as f64,
                to: (i + 1) as f64 / SCORE_BINS as f64,
                ..ScoreBin::default()
            })
            .collect(),
        ..ClassifierFigures::default()
    };
    let mut signals: BTreeMap<String, SignalRow> = BTreeMap::new();
    let mut held_senders: HashMap<MemberId, HeldAgg> = HashMap::new();

    for message in store.message_facts::<MessageFacts>() {
        let message = message?;
        if !options.contains(message.created_at) {
            continue;
        }
        let day = days.entry(day_of(message.created_at)).or_default();
        let held = message.verdict.decision == Decision::Held;
        let (total, daily) = match message.verdict.decision {
            Decision::Inbox => (&mut volume.inbox, &mut day.inbox),
            Decision::Other => (&mut volume.other, &mut day.other),
            Decision::Held => (&mut volume.held, &mut day.held),
        };
        *total += 1;
        *daily += 1;
        let language = message.verdict.language.as_deref().unwrap_or("und");
        let row = match volume.by_language.get_mut(language) {
            Some(row) => row,
            None => volume.by_language.entry(language.to_string()).or_default(),
        };
        match message.verdict.decision {
            Decision::Inbox => row.inbox += 1,
            Decision::Other => row.other += 1,
            Decision::Held => row.held += 1,
        }
        let label = labels.get(&message.id).copied();
        let mut classifier_hold = false;
        for reason in &message.verdict.reasons {
            match reason.source.as_str() {
                "rule" => {
                    let row = rules.entry(reason.id.clone()).or_insert_with(|| RuleRow {
                        rule: reason.id.clone(),
                        ..RuleRow::default()
                    });
                    row.hits += 1;
                    row.held += u64::from(held);
                    match label {
                        Some(Label::Spam) => row.labelled_spam += 1,
                        Some(Label::Ham) => row.labelled_ham += 1,
                        None => {}
                    }
                }
                "limit" => {
                    let row = signals
                        .entry(reason.id.clone())
                        .or_insert_with(|| SignalRow {
                            signal: reason.id.clone(),
                            ..SignalRow::default()
                        });
                    row.messages += 1;
                    row.held += u64::from(held);
                    day.signals += 1;
                }
                "classifier" if reason.id == "spam_hold" => classifier_hold = true,
                _ => {}
            }
        }
        if let Some(score) = message.verdict.score {
            classifier.scored += 1;
            if let Some(label) = label {
                let bin = ((score * SCORE_BINS as f64) as usize).min(SCORE_BINS - 1);
                let spam = label == Label::Spam;
                if spam {
                    classifier.labelled_spam += 1;
                    classifier.bins[bin].spam += 1;
                } else {
                    classifier.labelled_ham += 1;
                    classifier.bins[bin].ham += 1;
                }
                match (classifier_hold, spam) {
                    (true, true) => classifier.tp += 1,
                    (true, false) => classifier.fp += 1,
                    (false, true) => classifier.fn_ += 1,
                    (false, false) => classifier.tn += 1,
                }
            }
        }
        if held {
            let agg = held_senders.entry(message.from).or_default();
            agg.held += 1;
            match label {
                Some(Label::Spam) => agg.spam += 1,
                Some(Label::Ham) => agg.ham += 1,
                None => {}
            }
        }
    }
    classifier.precision = ratio(classifier.tp, classifier.tp + classifier.fp);
    classifier.recall = ratio(classifier.tp, classifier.tp + classifier.fn_);

    let mut limits = LimitFigures::default();
    let to = options.to.unwrap_or(options.now.saturating_add(1));
    for count in store.refusals(options.start(), to) {
        let count = count?;
        // Counters are per day: a period that starts or ends inside a day includes it whole.
        let day = days.entry(count.day).or_default();
        day.refused += count.count;
        volume.refused += count.count;
        let code = match count.reason.split_once('/') {
            Some((code, limit)) => {
                bump(&mut limits.rate_limited, limit, count.count);
                day.rate_limited += count.count;
                code
            }
            None => count.reason.as_str(),
        };
        if code == "sender_restricted" {
            limits.sender_restricted += count.count;
        }
        bump(&mut volume.refused_by_reason, code, count.count);
    }

    let restrictions = restriction_figures(store, options, &mut days)?;
    let (mut review, depth_deltas) = review_figures(store, options, &mut days)?;
    let appeals = appeal_figures(store, options)?;

    let axis = axis_days(options, &days);
    let mut depth: i64 = depth_deltas
        .range(..axis.first().copied().unwrap_or(i64::MAX))
        .map(|(_, delta)| delta)
        .sum();
    let empty = Day::default();
    for &d in &axis {
        let counts = days.get(&d).unwrap_or(&empty);
        let name = format_day(d * DAY_MS);
        depth += depth_deltas.get(&d).copied().unwrap_or(0);
        volume.days.push(VolumeDay {
            day: name.clone(),
            inbox: counts.inbox,
            other: counts.other,
            held: counts.held,
            refused: counts.refused,
        });
        limits.days.push(LimitsDay {
            day: name.clone(),
            rate_limited: counts.rate_limited,
            signals: counts.signals,
        });
        review.days.push(ReviewDay {
            day: name.clone(),
            queued: counts.queued,
            decided: counts.decided,
            depth: depth.max(0) as u64,
        });
    }
    let mut restrictions = restrictions;
    for &d in &axis {
        let counts = days.get(&d).unwrap_or(&empty);
        restrictions.days.push(RestrictionsDay {
            day: format_day(d * DAY_MS),
            restricted: counts.restricted,
            lifted: counts.lifted,
        });
    }

    let mut rules: Vec<RuleRow> = rules
        .into_values()
        .map(|mut row| {
            row.precision = ratio(row.labelled_spam, row.labelled_spam + row.labelled_ham);
            row
        })
        .collect();
    rules.sort_by(|a, b| b.hits.cmp(&a.hits).then_with(|| a.rule.cmp(&b.rule)));
    limits.signals = signals.into_values().collect();

    let mut top: Vec<HeldSender> = held_senders
        .into_iter()
        .map(|(member_id, agg)| HeldSender {
            member_id,
            held: agg.held,
            labelled_spam: agg.spam,
            labelled_ham: agg.ham,
        })
        .collect();
    top.sort_by(|a, b| b.held.cmp(&a.held).then(a.member_id.cmp(&b.member_id)));
    top.truncate(options.top_senders);

    Ok(Report {
        schema_version: SCHEMA_VERSION,
        period: Period {
            from: options.from.map(format_day),
            from_ms: options.from,
            to: options.to.map(format_day),
            to_ms: options.to,
            generated_at_ms: options.now,
            days: axis.iter().map(|d| format_day(d * DAY_MS)).collect(),
        },
        volume,
        rules,
        classifier,
        limits,
        restrictions,
        review,
        appeals,
        top_held_senders: top,
        campaigns: super::campaigns::build(store, options.from, options.to)?,
        sponsored: super::sponsored::build(store, options.from, options.to)?,
        erasures: erasure_figures(store, options)?,
    })
}

/// Erasures requested in the period and what they removed.
fn erasure_figures(store: &Store, options: &ReportOptions) -> StoreResult<ErasureFigures> {
    let mut figures = ErasureFigures::default();
    for erasure in store.erasures() {
        let erasure = erasure?;
        if !options.contains(erasure.requested_at) {
            continue;
        }
        figures.requested += 1;
        figures.completed += u64::from(erasure.completed_at.is_some());
        figures.messages_redacted += erasure.counts.messages_redacted;
        figures.audit_entries_pseudonymized += erasure.counts.audit_entries_pseudonymized;
    }
    Ok(figures)
}

/// The latest reviewer judgement of each labelled message.
fn reviewer_labels(store: &Store) -> StoreResult<HashMap<MessageId, Label>> {
    let mut labels = HashMap::new();
    for record in store.labels() {
        let record = record?;
        if matches!(record.source, LabelSource::Reviewer | LabelSource::Appeal) {
            labels.insert(record.message_id, record.label);
        }
    }
    Ok(labels)
}

/// The days the time series show: the whole explicit period when it is of a drawable
/// length, else the span of the days that have data.
fn axis_days(options: &ReportOptions, days: &BTreeMap<i64, Day>) -> Vec<i64> {
    let first_data = days.keys().next().copied();
    let last_data = days.keys().next_back().copied();
    let first = options.from.map(day_of).or(first_data);
    let last = options
        .to
        .map(|to| day_of(to.saturating_sub(1)))
        .or(last_data);
    match (first, last) {
        (Some(first), Some(last)) if last >= first && last - first < MAX_AXIS_DAYS => {
            (first..=last).collect()
        }
        _ => match (first_data, last_data) {
            (Some(first), Some(last)) if last - first < MAX_AXIS_DAYS => (first..=last).collect(),
            _ => days.keys().copied().collect(),
        },
    }
}

/// Restrictions and lifts, from the audit log of the period.
fn restriction_figures(
    store: &Store,
    options: &ReportOptions,
    days: &mut BTreeMap<i64, Day>,
) -> StoreResult<RestrictionFigures> {
    let mut figures = RestrictionFigures::default();
    let mut restricted_members = HashSet::new();
    let mut lifted_members = HashSet::new();
    for entry in store.audit_range(options.start(), options.end()) {
        let entry = entry?;
        let restricted = match (entry.action.as_str(), entry.actor) {
            ("restrict:automated", _) => Some("automated"),
            ("decide_item:restrict_sender", _) => Some("reviewer"),
            ("restrict", Actor::Admin) => Some("admin"),
            _ => None,
        };
        let lifted = match (entry.action.as_str(), entry.actor) {
            ("lift_restriction", Actor::Admin) => Some("admin"),
            ("lift_restriction", _) => Some("reviewer"),
            // An overturned appeal without a message is an appeal against a restriction.
            ("decide_appeal:overturned", _) if entry.message_id.is_none() => Some("appeal"),
            _ => None,
        };
        let day = days.entry(day_of(entry.at)).or_default();
        if let Some(by) = restricted {
            bump(&mut figures.restricted, by, 1);
            day.restricted += 1;
            restricted_members.extend(entry.member_id);
        }
        if let Some(by) = lifted {
            bump(&mut figures.lifted, by, 1);
            day.lifted += 1;
            lifted_members.extend(entry.member_id);
        }
    }
    figures.members_restricted = restricted_members.len() as u64;
    figures.members_lifted = lifted_members.len() as u64;
    Ok(figures)
}

/// Queue figures from every review item (items queued before the period still count toward
/// its depth). Returns the figures and the per-day change of the queue depth.
fn review_figures(
    store: &Store,
    options: &ReportOptions,
    days: &mut BTreeMap<i64, Day>,
) -> StoreResult<(ReviewFigures, BTreeMap<i64, i64>)> {
    let mut figures = ReviewFigures::default();
    let mut deltas: BTreeMap<i64, i64> = BTreeMap::new();
    let mut waits = Vec::new();
    let as_of = options.now.min(options.end());
    let mut oldest_open: Option<Millis> = None;
    for item in store.review_items() {
        let item = item?;
        *deltas.entry(day_of(item.created_at)).or_default() += 1;
        if let Some(decision) = &item.decision {
            *deltas.entry(day_of(decision.at)).or_default() -= 1;
        }
        if options.contains(item.created_at) {
            days.entry(day_of(item.created_at)).or_default().queued += 1;
            match item.origin {
                ReviewOrigin::Held => figures.queued_held += 1,
                ReviewOrigin::Reported => figures.queued_reported += 1,
            }
        }
        match &item.decision {
            Some(decision) if options.contains(decision.at) => {
                days.entry(day_of(decision.at)).or_default().decided += 1;
                let action = match decision.action {
                    ReviewAction::Release => "release",
                    ReviewAction::Remove => "remove",
                    ReviewAction::RestrictSender => "restrict_sender",
                };
                bump(&mut figures.decided, action, 1);
                bump(&mut figures.labelled, decision.label.as_str(), 1);
                waits.push(decision.at - item.created_at);
            }
            _ => {}
        }
        let open_at_end =
            item.created_at < as_of && item.decision.as_ref().is_none_or(|d| d.at >= as_of);
        if open_at_end {
            figures.open_at_end += 1;
            oldest_open = Some(oldest_open.map_or(item.created_at, |o| o.min(item.created_at)));
        }
    }
    figures.time_to_decision = durations(waits);
    figures.oldest_open_age_ms = oldest_open.map(|created| as_of - created);
    Ok((figures, deltas))
}

/// Appeals filed in the period and what became of them.
fn appeal_figures(store: &Store, options: &ReportOptions) -> StoreResult<AppealFigures> {
    let mut figures = AppealFigures::default();
    let mut waits = Vec::new();
    for appeal in store.appeals() {
        let appeal = appeal?;
        if !options.contains(appeal.created_at) {
            continue;
        }
        figures.filed += 1;
        match appeal.target {
            AppealTarget::Message { .. } => figures.on_messages += 1,
            AppealTarget::Restriction { .. } => figures.on_restrictions += 1,
        }
        match appeal.outcome {
            Some(AppealOutcome::Upheld) => figures.upheld += 1,
            Some(AppealOutcome::Overturned) => figures.overturned += 1,
            None => figures.open += 1,
        }
        if let Some(at) = appeal.decided_at {
            waits.push(at - appeal.created_at);
        }
    }
    figures.time_to_decision = durations(waits);
    Ok(figures)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let values: Vec<Millis> = (1..=10).collect();
        assert_eq!(percentile(&values, 0.5), Some(5));
        assert_eq!(percentile(&values, 0.9), Some(9));
        assert_eq!(percentile(&[7], 0.9), Some(7));
        assert_eq!(percentile(&[], 0.5), None);
    }

    #[test]
    fn an_explicit_period_sets_the_axis_even_without_data() {
        let options = ReportOptions::new(Some(3 * DAY_MS), Some(6 * DAY_MS), 0);
        assert_eq!(axis_days(&options, &BTreeMap::new()), vec![3, 4, 5]);
        let open = ReportOptions::new(None, None, 0);
        let mut days = BTreeMap::new();
        days.insert(10, Day::default());
        days.insert(12, Day::default());
        assert_eq!(axis_days(&open, &days), vec![10, 11, 12]);
    }
}
