//! `sendguard eval --by …`: what the whole pipeline (rules, classifier, policy) does to
//! labelled messages, per group: by category, by language, by length band.
//!
//! A filter is judged by its mistakes on the traffic it serves, and an overall figure hides
//! where they fall: a third of one language's ordinary messages flagged is invisible in
//! an average dominated by English. Each message is assessed twice, as a stranger's and
//! as a connection's, because the policy asks for stronger evidence before it moves a
//! connection's message out of the Inbox.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use crate::domain::Relationship;
use crate::domain::{Decision, Format, Label, RenderedBody, Verdict};
use crate::engine::{AssessInput, Engine};
use crate::tsv;

/// What may be grouped on: the file's `category` and `lang` columns, the length band, and
/// `summary` (spam plain/obfuscated, ham English/other languages).
pub const GROUPINGS: [&str; 4] = ["summary", "category", "lang", "length"];

/// The figures of one group of messages of one label.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct GroupFigures {
    pub grouping: String,
    pub group: String,
    pub label: String,
    pub n: usize,
    /// Held for review when sent by a stranger.
    pub held: usize,
    /// Held, or marked by anything suspicious (a rule, the classifier's Other threshold or
    /// its "possible spam" label, a policy score) when sent by a stranger.
    pub flagged: usize,
    /// Held when sent by a connection.
    pub held_from_connection: usize,
    /// Not delivered to the Inbox when sent by a connection.
    pub demoted_from_connection: usize,
}

/// The length band of a message, in characters (Unicode scalar values).
pub fn length_band(text: &str) -> &'static str {
    match text.chars().count() {
        0..40 => "a: under 40",
        40..80 => "b: 40-79",
        80..300 => "c: 80-299",
        _ => "d: 300+",
    }
}

/// Whether a verdict marks the message as suspicious in any way a member would notice or a
/// reviewer would count: held, or a reason from a rule, the policy, a limit, or the
/// classifier's spam thresholds (its hold, or its "possible spam" label). Informational
/// reasons (the relationship, the classifier abstaining) do not count.
pub fn is_flagged(verdict: &Verdict) -> bool {
    verdict.decision == Decision::Held
        || verdict.reasons.iter().any(|reason| {
            matches!(reason.source.as_str(), "rule" | "policy" | "limit")
                || (reason.source == "classifier"
                    && matches!(reason.id.as_str(), "spam_hold" | "possible_spam"))
        })
}

/// The `summary` grouping's groups, named once for the table and the overview.
const SPAM_OBFUSCATED: &str = "spam obfuscated";
const SPAM_PLAIN: &str = "spam plain";
const HAM_ENGLISH: &str = "ham English";
const HAM_OTHER_LANGUAGES: &str = "ham other languages";

/// Assesses every row of `data` and returns the figures per group of each grouping in `by`.
pub fn eval_groups(
    engine: &Engine,
    data: &Path,
    by: &[String],
) -> anyhow::Result<Vec<GroupFigures>> {
    for grouping in by {
        if !GROUPINGS.contains(&grouping.as_str()) {
            anyhow::bail!(
                "--by {grouping:?}: expected one of {}",
                GROUPINGS.join(", ")
            );
        }
    }
    let name = data.display().to_string();
    let bytes = std::fs::read(data).map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
    let first_line = bytes.split(|b| *b == b'\n').next().unwrap_or_default();
    let header: Vec<&[u8]> = first_line.split(|b| *b == b'\t').collect();
    // A named column's index among a row's extra columns (those after label and text).
    let column = |wanted: &str| {
        header
            .iter()
            .position(|c| *c == wanted.as_bytes())
            .filter(|_| header.first() == Some(&b"label".as_slice()))
            .map(|i| i - 2)
    };
    let (category, lang, variant) = (column("category"), column("lang"), column("variant"));
    for (grouping, found) in [("category", category), ("lang", lang)] {
        if by.iter().any(|b| b == grouping) && found.is_none() {
            anyhow::bail!("{name}:1: --by {grouping} needs a `{grouping}` column in the header");
        }
    }
    let rows = tsv::read(bytes.as_slice(), &name)?;
    if rows.is_empty() {
        anyhow::bail!("{name}: no rows");
    }
    let mut groups: BTreeMap<(usize, String, &'static str), GroupFigures> = BTreeMap::new();
    let stranger = Relationship::default();
    let connection = Relationship {
        connected: true,
        ..Relationship::default()
    };
    for row in &rows {
        let extra = |i: Option<usize>| {
            i.and_then(|i| row.extra.get(i))
                .map(String::as_str)
                .unwrap_or("")
        };
        let message = engine.normalize(&RenderedBody::render(Format::Text, &row.text));
        let assess = |relationship| {
            engine.assess(&AssessInput {
                message: &message,
                relationship,
                behaviour: &[],
            })
        };
        let (as_stranger, as_connection) = (assess(stranger), assess(connection));
        let label = match row.label {
            Label::Spam => "spam",
            Label::Ham => "ham",
        };
        for (order, grouping) in by.iter().enumerate() {
            let group = match grouping.as_str() {
                "category" => extra(category).to_string(),
                "lang" => extra(lang).to_string(),
                "length" => length_band(&row.text).to_string(),
                _ => match row.label {
                    Label::Spam if extra(variant) == "obfuscated" => SPAM_OBFUSCATED.into(),
                    Label::Spam => SPAM_PLAIN.into(),
                    Label::Ham if extra(lang) == "en" => HAM_ENGLISH.into(),
                    Label::Ham if lang.is_some() => HAM_OTHER_LANGUAGES.into(),
                    Label::Ham => "ham".into(),
                },
            };
            let figures = groups
                .entry((order, group.clone(), label))
                .or_insert_with(|| GroupFigures {
                    grouping: grouping.clone(),
                    group,
                    label: label.to_string(),
                    ..GroupFigures::default()
                });
            figures.n += 1;
            figures.held += usize::from(as_stranger.decision == Decision::Held);
            figures.flagged += usize::from(is_flagged(&as_stranger));
            figures.held_from_connection += usize::from(as_connection.decision == Decision::Held);
            figures.demoted_from_connection +=
                usize::from(as_connection.decision != Decision::Inbox);
        }
    }
    Ok(groups.into_values().collect())
}

/// The whole file at a glance, from the `summary` groups: the figures a trust-and-safety
/// team watches (ham held, a connection's ham moved out of the Inbox, spam held by variant)
/// and how much more often ham in other languages is flagged than English ham, which an
/// average over mostly English traffic hides.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Overview {
    pub ham: usize,
    pub ham_held: usize,
    pub ham_out_of_inbox_from_connection: usize,
    pub spam_plain: usize,
    pub spam_plain_held: usize,
    pub spam_obfuscated: usize,
    pub spam_obfuscated_held: usize,
    pub ham_english: usize,
    pub ham_english_flagged: usize,
    pub ham_other_languages: usize,
    pub ham_other_languages_flagged: usize,
    /// The flag rate of ham in other languages over that of English ham; absent when
    /// either group is empty or no English ham is flagged.
    pub other_languages_flag_ratio: Option<f64>,
}

/// The overview, when the figures include the `summary` grouping.
pub fn overview(figures: &[GroupFigures]) -> Option<Overview> {
    let summary: Vec<&GroupFigures> = figures.iter().filter(|f| f.grouping == "summary").collect();
    if summary.is_empty() {
        return None;
    }
    let mut o = Overview::default();
    for f in summary {
        match (f.label.as_str(), f.group.as_str()) {
            ("ham", group) => {
                o.ham += f.n;
                o.ham_held += f.held;
                o.ham_out_of_inbox_from_connection += f.demoted_from_connection;
                if group == HAM_ENGLISH {
                    (o.ham_english, o.ham_english_flagged) = (f.n, f.flagged);
                } else if group == HAM_OTHER_LANGUAGES {
                    (o.ham_other_languages, o.ham_other_languages_flagged) = (f.n, f.flagged);
                }
            }
            (_, SPAM_OBFUSCATED) => (o.spam_obfuscated, o.spam_obfuscated_held) = (f.n, f.held),
            _ => (o.spam_plain, o.spam_plain_held) = (f.n, f.held),
        }
    }
    let rate = |flagged: usize, n: usize| (n > 0).then(|| flagged as f64 / n as f64);
    o.other_languages_flag_ratio = match (
        rate(o.ham_other_languages_flagged, o.ham_other_languages),
        rate(o.ham_english_flagged, o.ham_english),
    ) {
        (Some(other), Some(english)) if english > 0.0 => Some(other / english),
        _ => None,
    };
    Some(o)
}

/// The overview as text, under the tables.
pub fn write_overview(o: &Overview, out: &mut impl std::io::Write) -> std::io::Result<()> {
    let line = |out: &mut dyn std::io::Write, what: &str, count: usize, n: usize| {
        writeln!(
            out,
            "{what:<44} {:>6.1} %  ({count} of {n})",
            percent(count, n)
        )
    };
    writeln!(out, "\noverall")?;
    line(out, "ham held", o.ham_held, o.ham)?;
    line(
        out,
        "ham from a connection, out of the Inbox",
        o.ham_out_of_inbox_from_connection,
        o.ham,
    )?;
    line(out, "plain spam held", o.spam_plain_held, o.spam_plain)?;
    line(
        out,
        "obfuscated spam held",
        o.spam_obfuscated_held,
        o.spam_obfuscated,
    )?;
    if let Some(ratio) = o.other_languages_flag_ratio {
        writeln!(
            out,
            "{:<44} {ratio:>6.2} ×  ({} of {} against {} of {})",
            "ham flagged, other languages against English",
            o.ham_other_languages_flagged,
            o.ham_other_languages,
            o.ham_english_flagged,
            o.ham_english
        )?;
    }
    Ok(())
}

/// `count` as a percentage of `n` (0 for an empty group).
fn percent(count: usize, n: usize) -> f64 {
    100.0 * count as f64 / n.max(1) as f64
}

/// The figures as a text table, one line per group, percentages of the group's messages.
pub fn write_table(figures: &[GroupFigures], out: &mut impl std::io::Write) -> std::io::Result<()> {
    let mut last = "";
    for f in figures {
        if f.grouping != last {
            writeln!(
                out,
                "\n{:<28} {:>5} {:>5} {:>8} {:>8} {:>10} {:>10}",
                format!("by {}", f.grouping),
                "label",
                "n",
                "held %",
                "flagged %",
                "conn held %",
                "conn demoted %"
            )?;
            last = &f.grouping;
        }
        writeln!(
            out,
            "{:<28} {:>5} {:>5} {:>8.1} {:>9.1} {:>11.1} {:>14.1}",
            f.group,
            f.label,
            f.n,
            percent(f.held, f.n),
            percent(f.flagged, f.n),
            percent(f.held_from_connection, f.n),
            percent(f.demoted_from_connection, f.n)
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(group: &str, label: &str, n: usize, held: usize, flagged: usize) -> GroupFigures {
        GroupFigures {
            grouping: "summary".into(),
            group: group.into(),
            label: label.into(),
            n,
            held,
            flagged,
            held_from_connection: held,
            demoted_from_connection: held + 1,
        }
    }

    #[test]
    fn the_overview_adds_up_the_summary_groups_and_compares_languages() {
        let figures = [
            group(HAM_ENGLISH, "ham", 200, 2, 10),
            group(HAM_OTHER_LANGUAGES, "ham", 100, 1, 10),
            group(SPAM_OBFUSCATED, "spam", 50, 45, 49),
            group(SPAM_PLAIN, "spam", 150, 120, 140),
            GroupFigures {
                grouping: "lang".into(),
                ..group("en", "ham", 999, 999, 999)
            },
        ];
        let o = overview(&figures).expect("a summary grouping");
        assert_eq!((o.ham, o.ham_held), (300, 3));
        assert_eq!(o.ham_out_of_inbox_from_connection, 5);
        assert_eq!((o.spam_plain, o.spam_plain_held), (150, 120));
        assert_eq!((o.spam_obfuscated, o.spam_obfuscated_held), (50, 45));
        // 10 % of other-language ham against 5 % of English ham.
        assert_eq!(o.other_languages_flag_ratio, Some(2.0));
        let mut text = Vec::new();
        write_overview(&o, &mut text).unwrap();
        let text = String::from_utf8(text).unwrap();
        assert!(text.contains("plain spam held"), "{text}");
        assert!(text.contains("80.0 %  (120 of 150)"), "{text}");
        assert!(
            text.contains("2.00 ×  (10 of 100 against 10 of 200)"),
            "{text}"
        );

        let no_english_flagged = [
            group(HAM_ENGLISH, "ham", 10, 0, 0),
            group(HAM_OTHER_LANGUAGES, "ham", 10, 0, 1),
        ];
        assert_eq!(
            overview(&no_english_flagged)
                .unwrap()
                .other_languages_flag_ratio,
            None
        );
        assert_eq!(overview(&figures[4..]), None, "no summary grouping");
    }

    #[test]
    fn length_bands_follow_characters_not_bytes() {
        assert_eq!(length_band("thanks 🙏"), "a: under 40");
        assert_eq!(length_band(&"é".repeat(79)), "b: 40-79");
        assert_eq!(length_band(&"x".repeat(80)), "c: 80-299");
        assert_eq!(length_band(&"x".repeat(300)), "d: 300+");
    }
}
