//! The report as one self-contained HTML page: inline CSS, inline SVG charts, no scripts,
//! no external resources, so it can be mailed, archived and printed as one file.
//!
//! Every section has an `id` (`volume`, `rules`, `classifier`, `limits`, `restrictions`,
//! `review`, `appeals`, `campaigns`, `sponsored`, `top-held-senders`) and every daily time series has a chart.
//! All text that comes from data (rule ids, reason codes) is escaped.

use std::fmt::Write;

use super::charts::{self, Series, BLUE, GREEN, GREY, ORANGE, RED};
use super::figures::{Durations, Report};

/// The page title, also what a browser shows in its tab.
pub const TITLE: &str = "sendguard trust-and-safety report";

/// The section ids, in page order.
pub const SECTIONS: [&str; 10] = [
    "volume",
    "rules",
    "classifier",
    "limits",
    "restrictions",
    "review",
    "appeals",
    "campaigns",
    "sponsored",
    "top-held-senders",
];

/// The inline stylesheet; public so the console can allow exactly it by hash in its CSP.
pub const STYLE: &str = "\
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;\
color:#1b1f23;background:#fff;margin:0 auto;max-width:1040px;padding:24px;line-height:1.45}\
h1{font-size:26px;margin:0 0 4px}h2{font-size:20px;margin:0 0 8px;border-bottom:2px solid #d0d7de;padding-bottom:4px}\
.sub{color:#57606a;margin:0 0 20px}section{margin:0 0 28px}\
table{border-collapse:collapse;margin:8px 0 12px;font-size:14px}\
th,td{border:1px solid #d0d7de;padding:4px 10px;text-align:right}\
th:first-child,td:first-child{text-align:left}th{background:#f6f8fa}\
.kpis{display:flex;flex-wrap:wrap;gap:12px;margin:8px 0 12px}\
.kpi{border:1px solid #d0d7de;border-radius:6px;padding:8px 14px;min-width:110px}\
.kpi b{display:block;font-size:22px}.kpi span{color:#57606a;font-size:13px}\
.chart svg{max-width:100%;height:auto;display:block}.note{color:#57606a;font-size:13px}\
@media print{body{padding:0;max-width:none}section{break-inside:avoid}.kpi{border-color:#999}}";

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn percent(value: Option<f64>) -> String {
    value.map_or_else(|| "–".to_string(), |v| format!("{:.1}%", v * 100.0))
}

fn hours(ms: Option<i64>) -> String {
    ms.map_or_else(
        || "–".to_string(),
        |ms| format!("{:.1} h", ms as f64 / 3.6e6),
    )
}

/// A page under construction.
struct Page(String);

impl Page {
    fn push(&mut self, text: &str) {
        self.0.push_str(text);
    }

    fn kpis(&mut self, items: &[(&str, String)]) {
        self.push("<div class=\"kpis\">");
        for (name, value) in items {
            let _ = write!(
                self.0,
                "<div class=\"kpi\"><b>{}</b><span>{}</span></div>",
                escape(value),
                escape(name)
            );
        }
        self.push("</div>");
    }

    fn table(&mut self, head: &[&str], rows: impl IntoIterator<Item = Vec<String>>) {
        self.push("<table><thead><tr>");
        for h in head {
            let _ = write!(self.0, "<th>{}</th>", escape(h));
        }
        self.push("</tr></thead><tbody>");
        let mut any = false;
        for row in rows {
            any = true;
            self.push("<tr>");
            for cell in row {
                let _ = write!(self.0, "<td>{}</td>", escape(&cell));
            }
            self.push("</tr>");
        }
        if !any {
            let _ = write!(
                self.0,
                "<tr><td colspan=\"{}\">none in this period</td></tr>",
                head.len()
            );
        }
        self.push("</tbody></table>");
    }

    fn chart(&mut self, svg: &str) {
        self.push("<div class=\"chart\">");
        self.push(svg);
        self.push("</div>");
    }

    fn note(&mut self, text: &str) {
        let _ = write!(self.0, "<p class=\"note\">{}</p>", escape(text));
    }

    fn section(&mut self, id: &str, title: &str) {
        let _ = write!(self.0, "<section id=\"{id}\"><h2>{}</h2>", escape(title));
    }

    fn end_section(&mut self) {
        self.push("</section>");
    }
}

fn durations_row(name: &str, d: &Durations) -> Vec<String> {
    vec![
        name.to_string(),
        d.count.to_string(),
        hours(d.median_ms),
        hours(d.p90_ms),
        hours(d.max_ms),
    ]
}

pub fn render(report: &Report) -> String {
    let mut page = Page(String::with_capacity(64 * 1024));
    let period = &report.period;
    let span = format!(
        "{} to {} (end exclusive) · {} day(s) · schema {}",
        period.from.as_deref().unwrap_or("the first record"),
        period.to.as_deref().unwrap_or("now"),
        period.days.len(),
        report.schema_version
    );
    let _ = write!(
        page.0,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{TITLE}</title><style>{STYLE}</style></head><body>\
         <h1>{TITLE}</h1><p class=\"sub\">{}</p>",
        escape(&span)
    );
    let days = &period.days;

    let v = &report.volume;
    page.section("volume", "Message volume by decision");
    page.kpis(&[
        ("inbox", v.inbox.to_string()),
        ("other", v.other.to_string()),
        ("held", v.held.to_string()),
        ("refused", v.refused.to_string()),
    ]);
    page.chart(&charts::daily_lines(
        "Messages per day by decision",
        "messages",
        days,
        &[
            series("inbox", GREEN, v.days.iter().map(|d| d.inbox)),
            series("other", BLUE, v.days.iter().map(|d| d.other)),
            series("held", ORANGE, v.days.iter().map(|d| d.held)),
            series("refused", RED, v.days.iter().map(|d| d.refused)),
        ],
    ));
    page.table(
        &["refused because", "sends"],
        v.refused_by_reason
            .iter()
            .map(|(reason, n)| vec![reason.clone(), n.to_string()]),
    );
    page.table(
        &["language", "inbox", "other", "held"],
        v.by_language.iter().map(|(language, row)| {
            vec![
                language.clone(),
                row.inbox.to_string(),
                row.other.to_string(),
                row.held.to_string(),
            ]
        }),
    );
    page.end_section();

    page.section("rules", "Rule hits and precision");
    page.table(
        &[
            "rule",
            "hits",
            "held",
            "labelled spam",
            "labelled ham",
            "precision",
        ],
        report.rules.iter().map(|r| {
            vec![
                r.rule.clone(),
                r.hits.to_string(),
                r.held.to_string(),
                r.labelled_spam.to_string(),
                r.labelled_ham.to_string(),
                percent(r.precision),
            ]
        }),
    );
    page.note("Precision is the share of reviewer-confirmed spam among the rule's labelled hits.");
    page.end_section();

    let c = &report.classifier;
    page.section("classifier", "Classifier scores against reviewer labels");
    page.kpis(&[
        ("scored messages", c.scored.to_string()),
        ("labelled spam", c.labelled_spam.to_string()),
        ("labelled ham", c.labelled_ham.to_string()),
        ("precision", percent(c.precision)),
        ("recall", percent(c.recall)),
    ]);
    let bins: Vec<(f64, f64, Vec<u64>)> = c
        .bins
        .iter()
        .map(|b| (b.from, b.to, vec![b.ham, b.spam]))
        .collect();
    page.chart(&charts::binned_bars(
        "Spam probability of labelled messages",
        "classifier spam probability",
        &bins,
        &[("ham", GREEN), ("spam", RED)],
    ));
    page.table(
        &["", "labelled spam", "labelled ham"],
        [
            vec![
                "classifier would hold".into(),
                c.tp.to_string(),
                c.fp.to_string(),
            ],
            vec![
                "classifier would not hold".into(),
                c.fn_.to_string(),
                c.tn.to_string(),
            ],
        ],
    );
    page.note(
        "Labels come from reviewers (review decisions and appeals). Only held or reported \
         messages reach a reviewer, so these figures describe the reviewed traffic, not all of it.",
    );
    page.end_section();

    let l = &report.limits;
    page.section("limits", "Rate limits and bot signals");
    page.chart(&charts::daily_lines(
        "Rate-limit refusals and bot signals per day",
        "events",
        days,
        &[
            series("rate limited", RED, l.days.iter().map(|d| d.rate_limited)),
            series("bot signals", GREY, l.days.iter().map(|d| d.signals)),
        ],
    ));
    let mut limit_rows: Vec<Vec<String>> = l
        .rate_limited
        .iter()
        .map(|(limit, n)| vec![limit.clone(), n.to_string()])
        .collect();
    limit_rows.push(vec![
        "sender restricted".into(),
        l.sender_restricted.to_string(),
    ]);
    page.table(&["refused by limit", "sends"], limit_rows);
    page.table(
        &["bot signal", "messages", "held"],
        l.signals
            .iter()
            .map(|s| vec![s.signal.clone(), s.messages.to_string(), s.held.to_string()]),
    );
    page.end_section();

    let r = &report.restrictions;
    page.section("restrictions", "Senders restricted and lifted");
    page.kpis(&[
        ("members restricted", r.members_restricted.to_string()),
        ("members lifted", r.members_lifted.to_string()),
    ]);
    page.chart(&charts::daily_lines(
        "Restrictions per day",
        "restrictions",
        days,
        &[
            series("restricted", RED, r.days.iter().map(|d| d.restricted)),
            series("lifted", GREEN, r.days.iter().map(|d| d.lifted)),
        ],
    ));
    let rows = r
        .restricted
        .iter()
        .map(|(by, n)| vec![format!("restricted by {by}"), n.to_string()])
        .chain(
            r.lifted
                .iter()
                .map(|(by, n)| vec![format!("lifted by {by}"), n.to_string()]),
        );
    page.table(&["event", "count"], rows);
    page.end_section();

    let q = &report.review;
    page.section("review", "Review queue: depth and time to decision");
    page.kpis(&[
        ("queued (held)", q.queued_held.to_string()),
        ("queued (reported)", q.queued_reported.to_string()),
        ("open at end", q.open_at_end.to_string()),
        ("oldest open", hours(q.oldest_open_age_ms)),
        (
            "median time to decision",
            hours(q.time_to_decision.median_ms),
        ),
    ]);
    page.chart(&charts::daily_lines(
        "Review queue per day",
        "items",
        days,
        &[
            series("open at end of day", ORANGE, q.days.iter().map(|d| d.depth)),
            series("queued", BLUE, q.days.iter().map(|d| d.queued)),
            series("decided", GREEN, q.days.iter().map(|d| d.decided)),
        ],
    ));
    page.table(
        &["decision", "items"],
        q.decided
            .iter()
            .map(|(a, n)| vec![a.clone(), n.to_string()])
            .chain(
                q.labelled
                    .iter()
                    .map(|(l, n)| vec![format!("labelled {l}"), n.to_string()]),
            ),
    );
    page.table(
        &[
            "time to decision",
            "items",
            "median",
            "90th percentile",
            "longest",
        ],
        [durations_row("review items", &q.time_to_decision)],
    );
    page.end_section();

    let a = &report.appeals;
    page.section("appeals", "Appeals and their outcomes");
    page.kpis(&[
        ("filed", a.filed.to_string()),
        ("upheld", a.upheld.to_string()),
        ("overturned", a.overturned.to_string()),
        ("open", a.open.to_string()),
    ]);
    page.table(
        &["appeals against", "filed"],
        [
            vec!["held or removed messages".into(), a.on_messages.to_string()],
            vec!["restrictions".into(), a.on_restrictions.to_string()],
        ],
    );
    page.table(
        &[
            "time to decision",
            "appeals",
            "median",
            "90th percentile",
            "longest",
        ],
        [durations_row("appeals", &a.time_to_decision)],
    );
    page.end_section();

    let c = &report.campaigns;
    page.section("campaigns", "Coordinated campaigns");
    page.kpis(&[
        ("recognized", c.recognized.to_string()),
        ("accounts", c.accounts.to_string()),
        ("messages", c.volume.to_string()),
        ("delivered", c.delivered.to_string()),
        ("held", c.held.to_string()),
    ]);
    page.table(
        &["ended", "campaigns"],
        c.by_outcome
            .iter()
            .map(|(outcome, count)| vec![outcome.clone(), count.to_string()]),
    );
    page.table(
        &[
            "campaign",
            "accounts",
            "messages",
            "delivered",
            "held",
            "ended",
        ],
        c.campaigns.iter().map(|row| {
            vec![
                row.id.to_string(),
                row.accounts.to_string(),
                row.volume.to_string(),
                row.delivered.to_string(),
                row.held.to_string(),
                row.outcome.clone(),
            ]
        }),
    );
    page.note(
        "One template (spintax variants included) sent to members outside their network by \
         several accounts within the window, recognized in this period; largest first.",
    );
    page.end_section();

    let s = &report.sponsored;
    page.section("sponsored", "Sponsored messages");
    page.kpis(&[
        ("campaigns sent", s.sent.to_string()),
        ("delivered", s.delivered.to_string()),
        ("skipped", s.skipped.values().sum::<u64>().to_string()),
        ("reports", s.reports.to_string()),
        ("opt-outs", s.opt_outs.to_string()),
        ("held", s.held.to_string()),
        ("refused", s.refused.to_string()),
    ]);
    page.table(
        &["skipped because", "targets"],
        s.skipped
            .iter()
            .map(|(reason, count)| vec![reason.clone(), count.to_string()]),
    );
    page.table(
        &[
            "sponsored campaign",
            "advertiser",
            "status",
            "delivered",
            "skipped",
            "reports",
            "opt-outs",
            "replies",
        ],
        s.campaigns.iter().map(|row| {
            let skipped = row
                .counts
                .skipped
                .iter()
                .map(|(reason, count)| format!("{reason} {count}"))
                .collect::<Vec<_>>()
                .join(", ");
            vec![
                row.id.to_string(),
                row.advertiser.to_string(),
                row.status.clone(),
                row.counts.delivered.to_string(),
                skipped,
                row.counts.reports.to_string(),
                row.counts.opt_outs.to_string(),
                row.counts.replies.to_string(),
            ]
        }),
    );
    page.note(
        "Paid promotions sent by advertisers in this period (held and refused ones by when \
         they were created); skipped targets by reason; reports as misleading and opt-outs \
         their messages drew, to date.",
    );
    page.end_section();

    page.section("top-held-senders", "Top held senders");
    page.table(
        &["member id", "held", "labelled spam", "labelled ham"],
        report.top_held_senders.iter().map(|s| {
            vec![
                s.member_id.to_string(),
                s.held.to_string(),
                s.labelled_spam.to_string(),
                s.labelled_ham.to_string(),
            ]
        }),
    );
    page.note("Member ids only: reports never contain message text.");
    page.end_section();

    page.push("</body></html>\n");
    page.0
}

fn series<'a>(
    name: &'a str,
    color: plotters::style::RGBColor,
    values: impl Iterator<Item = u64>,
) -> Series<'a> {
    Series {
        name,
        values: values.collect(),
        color,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_text_is_escaped() {
        assert_eq!(escape("<b>&\"x'"), "&lt;b&gt;&amp;&quot;x&#39;");
    }
}
