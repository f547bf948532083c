//! A seeded, deterministic week of messaging: 200 normal members with human timing and
//! mostly-connection traffic, and 5 bots (fan-out of lightly edited templates with name
//! swaps, synonym edits and homoglyphs; regular cadence; mostly non-connections).
//!
//! Requirements: every bot is restricted within its first 50 sends; no normal member is
//! ever refused, held or restricted. Run with `--nocapture` to see the figures.

mod limits_common;

use limits_common::{fingerprint, SplitMix};
use sendguard::domain::{MemberId, Millis};
use sendguard::limits::{Check, Limiter, LimitsConfig, SendFacts, SenderState};

const SEC: i64 = 1_000;
const MIN: i64 = 60 * SEC;
const HOUR: i64 = 60 * MIN;
const DAY: i64 = 24 * HOUR;
const T0: Millis = 1_735_689_600_000; // 2025-01-01T00:00:00Z, a Wednesday
const SIM_DAYS: i64 = 7;
const SEED: u64 = 0x5EED_2025;

const WORDS: &[&str] = &[
    "the",
    "a",
    "to",
    "and",
    "of",
    "i",
    "you",
    "for",
    "in",
    "is",
    "it",
    "on",
    "that",
    "with",
    "we",
    "your",
    "this",
    "be",
    "are",
    "at",
    "my",
    "have",
    "can",
    "about",
    "as",
    "will",
    "me",
    "our",
    "next",
    "week",
    "meeting",
    "thanks",
    "project",
    "team",
    "role",
    "job",
    "great",
    "would",
    "like",
    "time",
    "let",
    "know",
    "if",
    "just",
    "happy",
    "share",
    "talk",
    "update",
    "work",
    "new",
    "good",
    "interested",
    "could",
    "discuss",
    "today",
    "tomorrow",
    "review",
    "please",
    "send",
    "deck",
    "notes",
    "follow",
    "up",
    "friday",
    "monday",
    "quick",
    "question",
    "offer",
    "candidate",
    "client",
    "product",
    "launch",
    "data",
    "design",
    "report",
    "plan",
    "budget",
    "quarter",
    "sales",
    "hiring",
    "engineer",
    "manager",
    "coffee",
    "lunch",
    "conference",
    "event",
    "slides",
    "draft",
    "feedback",
    "idea",
    "help",
    "intro",
    "sure",
    "sounds",
    "perfect",
    "agenda",
    "schedule",
    "contract",
    "deadline",
    "roadmap",
    "customer",
    "partner",
    "pipeline",
    "metrics",
    "hire",
    "interview",
    "reference",
    "startup",
    "funding",
    "board",
    "strategy",
    "analysis",
    "migration",
    "release",
    "bug",
    "fix",
    "demo",
    "workshop",
    "panel",
    "speaker",
    "webinar",
    "article",
    "post",
    "podcast",
    "research",
    "paper",
    "course",
];

const STOCK: &[&str] = &[
    "Thanks for connecting!",
    "Congrats on the new role!",
    "Sounds good, talk soon.",
    "Happy work anniversary!",
    "Thank you, much appreciated.",
];

const NAMES: &[&str] = &[
    "Anna", "Ben", "Carla", "Dmitri", "Elif", "Femi", "Grace", "Hiro", "Ines", "Jonas", "Kemal",
    "Lena", "Marco", "Nadia", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tariq", "Uma", "Viktor",
];

const TEMPLATES: &[&str] = &[
    "Hi NAME, I came across your profile and was impressed by your background. We are \
     offering an exclusive opportunity to grow your income working from home with our proven \
     system. Reply today to learn more and claim your free spot before Friday.",
    "Hello NAME, quick question: are you open to new roles? Our client, a fast growing \
     fintech, is hiring senior engineers with great pay and full remote work. Send me your CV \
     and I will get back to you within a day.",
    "Dear NAME, congratulations on your achievements. I would love to connect and share a \
     unique crypto investment strategy that returned forty percent last quarter. Book a free \
     call with me using the link below.",
    "Hey NAME, our agency helps leaders like you generate more qualified leads every month \
     with automated outreach. We guarantee results or your money back. Can I send you a short \
     video that explains how it works?",
    "NAME, I noticed we share several connections. I am building a community of ambitious \
     professionals who want to scale their business fast. Join our private group today, spots \
     are limited and filling up quickly.",
];

/// Light edits a template-spinner makes: (word, replacement).
const SYNONYMS: &[(&str, &str)] = &[
    ("impressed", "amazed"),
    ("exclusive", "unique"),
    ("today", "now"),
    ("free", "complimentary"),
    ("proven", "tested"),
    ("Friday", "Monday"),
    ("great", "excellent"),
    ("quick", "short"),
    ("love", "like"),
    ("fast", "rapidly"),
    ("short", "brief"),
    ("limited", "scarce"),
    ("ambitious", "driven"),
];

/// Latin letters and the Cyrillic look-alikes a spinner swaps in.
const HOMOGLYPHS: &[(char, char)] = &[('a', 'а'), ('e', 'е'), ('o', 'о'), ('p', 'р'), ('c', 'с')];

struct Send {
    at: Millis,
    recipient: MemberId,
    connected: bool,
    new_conversation: bool,
    text: String,
}

#[derive(Default, Debug)]
struct Outcome {
    attempts: usize,
    refused: usize,
    held: usize,
    signals: usize,
    /// 1-based attempt at which the first / the full restriction came.
    restricted_at: Option<usize>,
    full_at: Option<usize>,
    refusal_names: Vec<&'static str>,
    /// 1-based attempt of the first held send.
    first_held: Option<usize>,
}

fn run(limiter: &Limiter, created_at: Millis, sends: &[Send]) -> Outcome {
    let mut state = SenderState::default();
    let mut out = Outcome::default();
    for send in sends {
        out.attempts += 1;
        let facts = SendFacts {
            now: send.at,
            account_created_at: created_at,
            recipient: send.recipient,
            connected: send.connected,
            new_conversation: send.new_conversation,
            fingerprint: fingerprint(limiter, &send.text),
        };
        match limiter.check(&state, &facts) {
            Check::Refuse(refusal) => {
                out.refused += 1;
                if !out.refusal_names.contains(&refusal.limit_name) {
                    out.refusal_names.push(refusal.limit_name);
                }
            }
            Check::Proceed(signals) => {
                out.signals += usize::from(!signals.is_empty());
                if signals.iter().any(|s| s.hold) {
                    out.held += 1;
                    out.first_held.get_or_insert(out.attempts);
                }
                if let Some(sanction) = limiter.record(&mut state, &facts, &signals) {
                    out.restricted_at.get_or_insert(out.attempts);
                    if sanction.restrict == sendguard::domain::RestrictionLevel::Full {
                        out.full_at.get_or_insert(out.attempts);
                    }
                }
            }
        }
        // A restart between any two sends changes nothing (state is a value).
        if out.attempts % 97 == 0 {
            state = serde_json::from_str(&serde_json::to_string(&state).unwrap()).unwrap();
        }
    }
    out
}

fn sentence(rng: &mut SplitMix) -> String {
    let n = 6 + rng.below(30);
    let mut words: Vec<&str> = Vec::with_capacity(n);
    for _ in 0..n {
        // Skewed towards the common words at the front of the list, like real text.
        let z = rng.below(WORDS.len());
        words.push(WORDS[rng.below(z + 1)]);
    }
    let mut text = words.join(" ");
    text.push('.');
    text
}

/// A normal member's week: a few sessions a day in waking hours, bursts of messages with
/// human pauses, mostly to connections and mostly replies.
fn normal_member(rng: &mut SplitMix, id: MemberId) -> (Millis, Vec<Send>) {
    let young = rng.chance(0.1);
    let created_at = if young {
        T0 - rng.below(5) as i64 * DAY
    } else {
        T0 - (30 + rng.below(3000) as i64) * DAY
    };
    let heavy = rng.chance(0.15); // recruiters, sales: more sends and more strangers
    let recruiter = heavy && rng.chance(0.5);
    let connections: Vec<MemberId> = (0..50 + rng.below(300))
        .map(|i| 10_000 * id + i as u64)
        .collect();
    let mut threads: Vec<MemberId> = connections[..10].to_vec();
    let mut sends = Vec::new();
    let mut next_stranger = 10_000 * id + 5_000;
    for day in 0..SIM_DAYS {
        let sessions = if heavy {
            2 + rng.below(5)
        } else {
            rng.below(4)
        };
        let mut starts: Vec<i64> = (0..sessions)
            .map(|_| day * DAY + 8 * HOUR + rng.below(14 * 3600) as i64 * SEC)
            .collect();
        starts.sort_unstable();
        let mut last_end = 0;
        for start in starts {
            let mut t = T0 + start.max(last_end + MIN);
            let messages = 1 + rng.below(if heavy { 12 } else { 6 });
            // Sometimes one invitation to a few colleagues, written once and pasted.
            let invite = (rng.chance(0.05)).then(|| {
                let first = sentence(rng);
                let second = sentence(rng);
                format!("{first} {second}")
            });
            for m in 0..messages {
                let stranger_chance = if recruiter { 0.4 } else { 0.1 };
                let (recipient, connected) = if rng.chance(stranger_chance) {
                    if rng.chance(0.5) || threads.len() < 12 {
                        next_stranger += 1;
                        (next_stranger, false)
                    } else {
                        (*rng.pick(&threads), false)
                    }
                } else {
                    (*rng.pick(&connections), true)
                };
                let new_conversation = !threads.contains(&recipient);
                if new_conversation {
                    threads.push(recipient);
                }
                let text = match (&invite, m) {
                    (Some(text), m) if m < 4 => format!("{}, {text}", rng.pick(NAMES)),
                    _ if rng.chance(0.1) => rng.pick(STOCK).to_string(),
                    _ => sentence(rng),
                };
                sends.push(Send {
                    at: t,
                    recipient,
                    connected,
                    new_conversation,
                    text,
                });
                // Reading, thinking, typing: log-normal around 45 s, at least 3 s.
                t += (rng.lognormal(45.0, 1.0).max(3.0) * 1000.0) as i64;
            }
            last_end = t - T0;
        }
    }
    (created_at, sends)
}

fn spin(rng: &mut SplitMix, template: &str, name: &str) -> String {
    let mut text = template.replace("NAME", name);
    for _ in 0..rng.below(3) {
        let (from, to) = *rng.pick(SYNONYMS);
        text = text.replacen(from, to, 1);
    }
    if rng.chance(0.4) {
        // One look-alike letter somewhere in one word.
        let (latin, cyrillic) = *rng.pick(HOMOGLYPHS);
        let positions: Vec<usize> = text.match_indices(latin).map(|(i, _)| i).collect();
        if !positions.is_empty() {
            let at = *rng.pick(&positions);
            text.replace_range(at..at + 1, &cyrillic.to_string());
        }
    }
    match rng.below(3) {
        0 => text.push_str(" :)"),
        1 => text.push('!'),
        _ => {}
    }
    text
}

/// A bot: regular intervals, lightly spun templates, mostly strangers.
fn bot(rng: &mut SplitMix, id: MemberId, n: usize) -> Vec<Send> {
    let period = (25 + rng.below(90)) as f64 * 1000.0;
    let templates: Vec<&str> = (0..1 + n % 3)
        .map(|k| TEMPLATES[(n + k) % TEMPLATES.len()])
        .collect();
    let connections: Vec<MemberId> = (0..40).map(|i| 10_000 * id + i).collect();
    let mut t = T0 + rng.below(12 * 3600) as i64 * SEC;
    let mut sends = Vec::new();
    for i in 0..400u64 {
        let connected = rng.chance(0.15);
        let recipient = if connected {
            *rng.pick(&connections)
        } else {
            10_000 * id + 1_000 + i
        };
        let template = *rng.pick(&templates);
        let text = spin(rng, template, NAMES[recipient as usize % NAMES.len()]);
        sends.push(Send {
            at: t,
            recipient,
            connected,
            // Connections it writes to are contacted for the first time too.
            new_conversation: !connected || i % 2 == 0,
            text,
        });
        // A scheduler: the period, ±2 %.
        t += (period * (0.98 + 0.04 * rng.unit())) as i64;
    }
    sends
}

#[test]
fn bots_are_restricted_early_and_normal_members_never_notice() {
    let limiter = Limiter::default();
    let mut rng = SplitMix(SEED);

    let mut normal_sends = 0;
    let mut normal_stranger_new = 0;
    let mut normal_max_day_new = 0;
    let mut refused = Vec::new();
    let mut held = Vec::new();
    let mut restricted = Vec::new();
    let mut signalled = 0;
    for id in 1..=200 {
        let (created_at, sends) = normal_member(&mut rng, id);
        normal_sends += sends.len();
        let strangers: Vec<&Send> = sends
            .iter()
            .filter(|s| !s.connected && s.new_conversation)
            .collect();
        normal_stranger_new += strangers.len();
        for day in 0..SIM_DAYS {
            let count = strangers
                .iter()
                .filter(|s| (s.at - T0) / DAY == day)
                .count();
            normal_max_day_new = normal_max_day_new.max(count);
        }
        let out = run(&limiter, created_at, &sends);
        if out.refused > 0 {
            refused.push((id, out.refusal_names.clone()));
        }
        if out.held > 0 {
            held.push(id);
        }
        if out.restricted_at.is_some() {
            restricted.push(id);
        }
        signalled += usize::from(out.signals > 0);
    }
    println!(
        "normal members: 200, sends {normal_sends}, new conversations with non-connections \
         {normal_stranger_new} (busiest member-day {normal_max_day_new}); refused {}, held {}, \
         restricted {}, with any signal {signalled}",
        refused.len(),
        held.len(),
        restricted.len()
    );

    let mut worst = 0;
    for n in 0..5 {
        let id = 900 + n as u64;
        let sends = bot(&mut rng, id, n);
        // Bots 0 and 1 are young accounts (lower rate limits), the others older.
        let created_at = T0 - (2 + n as i64 * 4) * DAY;
        let out = run(&limiter, created_at, &sends);
        println!(
            "bot {n}: first held at send {:?}, restricted at send {:?}, full at send {:?}; of {} \
             attempts: {} held, {} refused ({:?})",
            out.first_held,
            out.restricted_at,
            out.full_at,
            out.attempts,
            out.held,
            out.refused,
            out.refusal_names
        );
        let at = out
            .restricted_at
            .unwrap_or_else(|| panic!("bot {n} never restricted"));
        assert!(at <= 50, "bot {n} restricted only at send {at}");
        worst = worst.max(at);
    }
    println!("every bot restricted within {worst} sends");

    // Fan-out alone (cadence strikes off) must be enough too: a bot that jitters its timing
    // more is still caught by its content.
    let mut config = LimitsConfig::default();
    config.cadence.strike_weight = 0;
    let fanout_only = Limiter::new(config);
    let mut rng = SplitMix(SEED ^ 1);
    for n in 0..5 {
        let sends = bot(&mut rng, 900 + n as u64, n);
        let out = run(&fanout_only, T0 - 30 * DAY, &sends);
        println!(
            "bot {n}, fan-out only: first held at send {:?}, restricted at send {:?}, full at {:?}",
            out.first_held, out.restricted_at, out.full_at
        );
        assert!(
            out.restricted_at.is_some_and(|at| at <= 50),
            "bot {n}: {out:?}"
        );
    }
    assert!(refused.is_empty(), "normal members refused: {refused:?}");
    assert!(held.is_empty(), "normal members held: {held:?}");
    assert!(
        restricted.is_empty(),
        "normal members restricted: {restricted:?}"
    );
}
