//! The report as one CSV file in long format: `section,key,metric,value`.
//!
//! One file rather than a directory or a zip: it opens in any spreadsheet, loads into a
//! database or a dataframe with one call, and filters by `section`. `key` is what a row is
//! about (a day, a rule id, a limit name, a member id, or `total`), `metric` the figure,
//! `value` a number (empty when undefined, e.g. precision without labels).

use std::fmt::Write;

use super::figures::Durations;
use super::Report;

struct Table(String);

impl Table {
    fn row(&mut self, section: &str, key: &str, metric: &str, value: impl Into<Value>) {
        let value = match value.into() {
            Value::Int(n) => n.to_string(),
            Value::Float(Some(x)) => format!("{x}"),
            Value::Float(None) => String::new(),
        };
        let _ = writeln!(
            self.0,
            "{},{},{},{}",
            field(section),
            field(key),
            field(metric),
            value
        );
    }

    fn durations(&mut self, section: &str, key: &str, durations: &Durations) {
        self.row(section, key, "count", durations.count);
        let ms = |v: Option<i64>| Value::Float(v.map(|v| v as f64));
        self.row(section, key, "median_ms", ms(durations.median_ms));
        self.row(section, key, "p90_ms", ms(durations.p90_ms));
        self.row(section, key, "max_ms", ms(durations.max_ms));
    }
}

enum Value {
    Int(i128),
    Float(Option<f64>),
}

impl From<u64> for Value {
    fn from(n: u64) -> Value {
        Value::Int(n.into())
    }
}

impl From<Option<f64>> for Value {
    fn from(x: Option<f64>) -> Value {
        Value::Float(x)
    }
}

/// Quotes a field when it holds a comma, a quote or a line break (RFC 4180).
fn field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

pub fn render(report: &Report) -> String {
    let mut t = Table(String::from("section,key,metric,value\n"));
    t.row(
        "report",
        "schema",
        "version",
        u64::from(report.schema_version),
    );

    let v = &report.volume;
    for (metric, value) in [
        ("inbox", v.inbox),
        ("other", v.other),
        ("held", v.held),
        ("refused", v.refused),
    ] {
        t.row("volume", "total", metric, value);
    }
    for (reason, count) in &v.refused_by_reason {
        t.row("refused_by_reason", reason, "refused", *count);
    }
    for (language, row) in &v.by_language {
        t.row("language", language, "inbox", row.inbox);
        t.row("language", language, "other", row.other);
        t.row("language", language, "held", row.held);
    }
    for day in &v.days {
        t.row("volume", &day.day, "inbox", day.inbox);
        t.row("volume", &day.day, "other", day.other);
        t.row("volume", &day.day, "held", day.held);
        t.row("volume", &day.day, "refused", day.refused);
    }

    for rule in &report.rules {
        t.row("rules", &rule.rule, "hits", rule.hits);
        t.row("rules", &rule.rule, "held", rule.held);
        t.row("rules", &rule.rule, "labelled_spam", rule.labelled_spam);
        t.row("rules", &rule.rule, "labelled_ham", rule.labelled_ham);
        t.row("rules", &rule.rule, "precision", rule.precision);
    }

    let c = &report.classifier;
    for (metric, value) in [
        ("scored", c.scored),
        ("labelled_spam", c.labelled_spam),
        ("labelled_ham", c.labelled_ham),
        ("tp", c.tp),
        ("fp", c.fp),
        ("fn", c.fn_),
        ("tn", c.tn),
    ] {
        t.row("classifier", "total", metric, value);
    }
    t.row("classifier", "total", "precision", c.precision);
    t.row("classifier", "total", "recall", c.recall);
    for bin in &c.bins {
        let key = format!("{:.1}-{:.1}", bin.from, bin.to);
        t.row("score_distribution", &key, "ham", bin.ham);
        t.row("score_distribution", &key, "spam", bin.spam);
    }

    let l = &report.limits;
    for (limit, count) in &l.rate_limited {
        t.row("rate_limits", limit, "refused", *count);
    }
    t.row(
        "rate_limits",
        "sender_restricted",
        "refused",
        l.sender_restricted,
    );
    for signal in &l.signals {
        t.row("bot_signals", &signal.signal, "messages", signal.messages);
        t.row("bot_signals", &signal.signal, "held", signal.held);
    }
    for day in &l.days {
        t.row("limits", &day.day, "rate_limited", day.rate_limited);
        t.row("limits", &day.day, "signals", day.signals);
    }

    let r = &report.restrictions;
    for (by, count) in &r.restricted {
        t.row("restrictions", by, "restricted", *count);
    }
    for (by, count) in &r.lifted {
        t.row("restrictions", by, "lifted", *count);
    }
    t.row(
        "restrictions",
        "total",
        "members_restricted",
        r.members_restricted,
    );
    t.row("restrictions", "total", "members_lifted", r.members_lifted);
    for day in &r.days {
        t.row("restrictions", &day.day, "restricted", day.restricted);
        t.row("restrictions", &day.day, "lifted", day.lifted);
    }

    let q = &report.review;
    t.row("review", "total", "queued_held", q.queued_held);
    t.row("review", "total", "queued_reported", q.queued_reported);
    for (action, count) in &q.decided {
        t.row("review", action, "decided", *count);
    }
    for (label, count) in &q.labelled {
        t.row("review", label, "labelled", *count);
    }
    t.durations("review_time_to_decision", "total", &q.time_to_decision);
    t.row("review", "total", "open_at_end", q.open_at_end);
    t.row(
        "review",
        "total",
        "oldest_open_age_ms",
        q.oldest_open_age_ms.map(|ms| ms as f64),
    );
    for day in &q.days {
        t.row("review", &day.day, "queued", day.queued);
        t.row("review", &day.day, "decided", day.decided);
        t.row("review", &day.day, "depth", day.depth);
    }

    let a = &report.appeals;
    for (metric, value) in [
        ("filed", a.filed),
        ("on_messages", a.on_messages),
        ("on_restrictions", a.on_restrictions),
        ("upheld", a.upheld),
        ("overturned", a.overturned),
        ("open", a.open),
    ] {
        t.row("appeals", "total", metric, value);
    }
    t.durations("appeals_time_to_decision", "total", &a.time_to_decision);

    let c = &report.campaigns;
    for (metric, value) in [
        ("recognized", c.recognized),
        ("accounts", c.accounts),
        ("volume", c.volume),
        ("delivered", c.delivered),
        ("held", c.held),
    ] {
        t.row("campaigns", "total", metric, value);
    }
    for (outcome, count) in &c.by_outcome {
        t.row("campaigns_by_outcome", outcome, "campaigns", *count);
    }
    for row in &c.campaigns {
        let key = row.id.to_string();
        t.row("campaigns", &key, "accounts", u64::from(row.accounts));
        t.row("campaigns", &key, "volume", row.volume);
        t.row("campaigns", &key, "delivered", row.delivered);
        t.row("campaigns", &key, "held", row.held);
        t.row("campaigns", &key, &format!("outcome_{}", row.outcome), 1u64);
    }

    let s = &report.sponsored;
    for (metric, value) in [
        ("sent", s.sent),
        ("delivered", s.delivered),
        ("reports", s.reports),
        ("opt_outs", s.opt_outs),
        ("held", s.held),
        ("refused", s.refused),
    ] {
        t.row("sponsored", "total", metric, value);
    }
    for (reason, count) in &s.skipped {
        t.row("sponsored_skipped", reason, "targets", *count);
    }
    for row in &s.campaigns {
        let key = row.id.to_string();
        t.row("sponsored", &key, "advertiser", row.advertiser);
        t.row("sponsored", &key, &format!("status_{}", row.status), 1u64);
        t.row("sponsored", &key, "delivered", row.counts.delivered);
        for (reason, count) in &row.counts.skipped {
            t.row("sponsored", &key, &format!("skipped_{reason}"), *count);
        }
        t.row("sponsored", &key, "reports", row.counts.reports);
        t.row("sponsored", &key, "opt_outs", row.counts.opt_outs);
        t.row("sponsored", &key, "replies", row.counts.replies);
    }

    for sender in &report.top_held_senders {
        let key = sender.member_id.to_string();
        t.row("top_held_senders", &key, "held", sender.held);
        t.row(
            "top_held_senders",
            &key,
            "labelled_spam",
            sender.labelled_spam,
        );
        t.row(
            "top_held_senders",
            &key,
            "labelled_ham",
            sender.labelled_ham,
        );
    }
    t.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_with_separators_are_quoted() {
        assert_eq!(field("plain_id"), "plain_id");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }
}
