//! A seeded two days of messaging through the real `App` (normalizer, rules, shipped model,
//! limiter, policy, store) on a virtual clock: 5 spintax bots each messaging 60 strangers at
//! human-like intervals, a coordinated campaign of 50 new accounts sending 3 variants each,
//! 200 normal members and 20 recruiters whose personalized templated notes are answered a
//! third of the time. Recipients react as people do: a bot's or the campaign's message is
//! often blocked, sometimes reported or archived unread; a recruiter's is answered a third of
//! the time; a normal member's stranger message often answered.
//!
//! Requirements (issue 22): every bot is restricted within its first 20 sends; the campaign
//! is recognized before 60 of its 150 messages are delivered; no normal member or recruiter
//! is restricted or has a message held. Run with `--nocapture` for the figures.

mod campaigns_common;
mod limits_common;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::Arc;

use campaigns_common::{corpus, spin, Recruiter, BOT_TEMPLATES, CAMPAIGN_TEMPLATE};
use limits_common::SplitMix;
use sendguard::app::{NewMember, SendRequest};
use sendguard::clock::ManualClock;
use sendguard::config::Config;
use sendguard::domain::{Decision, Format, MemberId, Millis, Plan, Relationship, RenderedBody};
use sendguard::engine::AssessInput;
use sendguard::{App, Engine, Store};

const SEC: i64 = 1_000;
const MIN: i64 = 60 * SEC;
const HOUR: i64 = 60 * MIN;
const DAY: i64 = 24 * HOUR;
const T0: Millis = 1_796_083_200_000; // 2026-12-01T00:00:00Z
const SEED: u64 = 0xC0FF_EE22;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Role {
    Normal,
    Recruiter,
    Bot(usize),
    Campaign,
    Recipient,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Event {
    /// A first message (or a message to a connection) from `from` to `to`.
    Send {
        from: MemberId,
        to: MemberId,
    },
    /// `from` answers `to` in their thread.
    Reply {
        from: MemberId,
        to: MemberId,
        thread: u64,
    },
    Block {
        who: MemberId,
        target: MemberId,
    },
    Report {
        who: MemberId,
        message: u64,
    },
    ArchiveUnread {
        who: MemberId,
        thread: u64,
    },
}

/// How a recipient reacts to a delivered first message, by the sender's role.
fn react(rng: &mut SplitMix, role: Role) -> Option<(i64, u8)> {
    // 0 reply, 1 block, 2 report, 3 archive unread
    let delay = (rng.lognormal(40.0, 0.8) * MIN as f64) as i64;
    let roll = rng.unit();
    let kind = match role {
        Role::Bot(_) | Role::Campaign => {
            if roll < 0.30 {
                1
            } else if roll < 0.40 {
                2
            } else if roll < 0.70 {
                3
            } else {
                return None;
            }
        }
        Role::Recruiter => {
            if roll < 1.0 / 3.0 {
                0
            } else if roll < 0.36 {
                1
            } else if roll < 0.55 {
                3
            } else {
                return None;
            }
        }
        _ => {
            if roll < 0.5 {
                0
            } else if roll < 0.51 {
                1
            } else {
                return None;
            }
        }
    };
    let delay = if kind == 0 {
        (rng.lognormal(3.0, 0.8) * HOUR as f64) as i64
    } else {
        delay
    };
    Some((delay, kind))
}

/// Word successors from the corpus's ham messages, to write normal members' messages as
/// unique, plausible text (real people do not send each other identical texts).
struct Babbler {
    starts: Vec<String>,
    next: HashMap<String, Vec<String>>,
}

impl Babbler {
    fn new() -> Babbler {
        let mut starts = Vec::new();
        let mut next: HashMap<String, Vec<String>> = HashMap::new();
        for (spam, text) in corpus() {
            if spam {
                continue;
            }
            let words: Vec<&str> = text.split_whitespace().collect();
            if let Some(first) = words.first() {
                starts.push(first.to_string());
            }
            for pair in words.windows(2) {
                next.entry(pair[0].to_string())
                    .or_default()
                    .push(pair[1].to_string());
            }
        }
        Babbler { starts, next }
    }

    fn message(&self, rng: &mut SplitMix) -> String {
        let length = 8 + rng.below(30);
        let mut word = rng.pick(&self.starts).clone();
        let mut out = vec![word.clone()];
        while out.len() < length {
            match self.next.get(&word) {
                Some(options) => {
                    word = rng.pick(options).clone();
                    out.push(word.clone());
                }
                None => break,
            }
        }
        out.join(" ")
    }
}

/// Writes one message of a sender's template.
type TextGenerator = Box<dyn Fn(&mut SplitMix) -> String>;

#[derive(Default)]
struct SenderOutcome {
    sends: usize,
    held: usize,
    delivered: usize,
    refused: usize,
    /// 1-based send attempt at which the sender was first told it is restricted.
    restricted_at: Option<usize>,
}

struct Sim {
    app: App,
    clock: Arc<ManualClock>,
    engine: Engine,
    rng: SplitMix,
    roles: HashMap<MemberId, Role>,
    outcomes: HashMap<MemberId, SenderOutcome>,
    queue: BinaryHeap<Reverse<(Millis, u64, Event)>>,
    sequence: u64,
    texts: HashMap<MemberId, TextGenerator>,
    babbler: Babbler,
    /// The campaign's messages: (time, delivered).
    campaign_messages: Vec<(Millis, bool)>,
    normal_text_resampled: usize,
}

impl Sim {
    fn schedule(&mut self, at: Millis, event: Event) {
        self.sequence += 1;
        self.queue.push(Reverse((at, self.sequence, event)));
    }

    async fn member(&mut self, handle: String, role: Role) -> MemberId {
        let id = self
            .app
            .create_member(NewMember {
                handle,
                display_name: None,
                plan: Plan::Free,
            })
            .await
            .unwrap()
            .member_id;
        self.roles.insert(id, role);
        id
    }

    /// A normal member's message: unique text the content stage alone would not hold (the
    /// simulation is about behaviour signals; content false positives are measured elsewhere).
    fn normal_text(&mut self) -> String {
        loop {
            let text = self.babbler.message(&mut self.rng);
            let normalized = self
                .engine
                .normalize(&RenderedBody::render(Format::Text, &text));
            let verdict = self.engine.assess(&AssessInput {
                message: &normalized,
                relationship: Relationship::default(),
                behaviour: &[],
            });
            if verdict.decision != Decision::Held && verdict.refused.is_none() {
                return text;
            }
            self.normal_text_resampled += 1;
        }
    }

    async fn run_send(&mut self, from: MemberId, to: MemberId, thread: Option<u64>) {
        let role = self.roles[&from];
        let text = match role {
            Role::Normal | Role::Recipient => self.normal_text(),
            _ => {
                let generate = self.texts.get(&from).expect("a text generator");
                generate(&mut self.rng)
            }
        };
        let request = SendRequest {
            thread_id: thread,
            ..SendRequest::text(to, text)
        };
        let result = self.app.send(from, request).await;
        let outcome = self.outcomes.entry(from).or_default();
        outcome.sends += 1;
        let attempt = outcome.sends;
        match result {
            Ok(sent) => {
                if sent.sender_restricted {
                    outcome.restricted_at.get_or_insert(attempt);
                }
                let delivered = sent.decision != Decision::Held;
                if delivered {
                    outcome.delivered += 1;
                } else {
                    outcome.held += 1;
                }
                if role == Role::Campaign {
                    self.campaign_messages.push((self.clock_now(), delivered));
                }
                if delivered && thread.is_none() {
                    if let Some((delay, kind)) = react(&mut self.rng, role) {
                        let at = self.clock_now() + delay;
                        let event = match kind {
                            0 => Event::Reply {
                                from: to,
                                to: from,
                                thread: sent.thread_id,
                            },
                            1 => Event::Block {
                                who: to,
                                target: from,
                            },
                            2 => Event::Report {
                                who: to,
                                message: sent.message_id,
                            },
                            _ => Event::ArchiveUnread {
                                who: to,
                                thread: sent.thread_id,
                            },
                        };
                        self.schedule(at, event);
                    }
                }
            }
            Err(error) => {
                outcome.refused += 1;
                if error.code == "sender_restricted" {
                    outcome.restricted_at.get_or_insert(attempt);
                } else {
                    assert!(
                        error.code == "rate_limited" || error.code == "blocked",
                        "unexpected refusal {error:?} for {role:?}"
                    );
                }
            }
        }
    }

    fn clock_now(&self) -> Millis {
        use sendguard::clock::Clock;
        self.clock.now()
    }

    async fn run(&mut self) {
        while let Some(Reverse((at, _, event))) = self.queue.pop() {
            let now = self.clock_now();
            if at > now {
                self.clock.advance_ms(at - now);
            }
            match event {
                Event::Send { from, to } => self.run_send(from, to, None).await,
                Event::Reply { from, to, thread } => self.run_send(from, to, Some(thread)).await,
                Event::Block { who, target } => {
                    self.app.set_block(who, target, true).await.unwrap();
                }
                Event::Report { who, message } => {
                    // The message may have become invisible meanwhile (a block hides it).
                    let _ = self.app.report(who, message, "spam").await;
                }
                Event::ArchiveUnread { who, thread } => {
                    let _ = self.app.set_archived(who, thread, true).await;
                }
            }
        }
    }
}

/// Send times in waking hours over two days, starting at `start`, with gaps drawn by `gap`.
fn waking_times(
    rng: &mut SplitMix,
    start: Millis,
    count: usize,
    mut gap: impl FnMut(&mut SplitMix) -> i64,
) -> Vec<Millis> {
    let mut t = start;
    let mut times = Vec::with_capacity(count);
    while times.len() < count {
        let hour = (t - T0).rem_euclid(DAY) / HOUR;
        if !(8..22).contains(&hour) {
            // Sleep until 8:00 plus a little.
            let day = (t - T0).div_euclid(DAY);
            let next = if hour >= 22 { day + 1 } else { day };
            t = T0 + next * DAY + 8 * HOUR + rng.below(3600) as i64 * SEC;
            continue;
        }
        times.push(t);
        t += gap(rng).max(20 * SEC);
    }
    times
}

#[tokio::test(flavor = "current_thread")]
async fn spintax_bots_and_a_coordinated_campaign_are_stopped_and_recruiters_are_not() {
    simulate("shipped rules and model", || {
        sendguard::shipped::engine(Config::default().policy, None, None).expect("shipped engine")
    })
    .await;
}

/// The same two days with no rules and no classifier: every message looks fine on its own
/// (as the 40 pitches did), so only templates and recipients' reactions can act.
#[tokio::test(flavor = "current_thread")]
async fn with_no_content_signals_at_all_templates_and_reactions_still_stop_the_bots() {
    simulate("no content signals", || {
        Engine::new(
            Config::default().policy,
            sendguard::rules::compile(&[]).expect("an empty rule set"),
            None,
        )
    })
    .await;
}

async fn simulate(label: &str, engine: fn() -> Engine) {
    println!("--- {label}");
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::at(T0 - 60 * DAY));
    let config = Config::default();
    let app = App::new(
        Store::open(dir.path()).unwrap(),
        engine(),
        &config,
        Arc::clone(&clock) as Arc<dyn sendguard::clock::Clock>,
    );
    let mut sim = Sim {
        app,
        clock: Arc::clone(&clock),
        engine: engine(),
        rng: SplitMix(SEED),
        roles: HashMap::new(),
        outcomes: HashMap::new(),
        queue: BinaryHeap::new(),
        sequence: 0,
        texts: HashMap::new(),
        babbler: Babbler::new(),
        campaign_messages: Vec::new(),
        normal_text_resampled: 0,
    };

    // Established accounts, two months old.
    let mut normals = Vec::new();
    for i in 0..200 {
        normals.push(sim.member(format!("member{i}"), Role::Normal).await);
    }
    let mut recruiters = Vec::new();
    for i in 0..20 {
        let id = sim.member(format!("recruiter{i}"), Role::Recruiter).await;
        let recruiter = Recruiter::new(i);
        sim.texts
            .insert(id, Box::new(move |rng: &mut SplitMix| recruiter.note(rng)));
        recruiters.push(id);
    }
    let mut bots = Vec::new();
    for (i, template) in BOT_TEMPLATES.iter().enumerate() {
        let id = sim.member(format!("bot{i}"), Role::Bot(i)).await;
        let template = template.to_string();
        sim.texts
            .insert(id, Box::new(move |rng: &mut SplitMix| spin(rng, &template)));
        bots.push(id);
    }
    let mut strangers = Vec::new();
    for i in 0..1000 {
        strangers.push(sim.member(format!("stranger{i}"), Role::Recipient).await);
    }
    // Normal members know about 15 others each.
    let mut connections: HashMap<MemberId, Vec<MemberId>> = HashMap::new();
    for &member in &normals {
        for _ in 0..8 {
            let other = *sim.rng.pick(&normals);
            if other != member && !connections.entry(member).or_default().contains(&other) {
                sim.app.connect(member, other).await.unwrap();
                connections.entry(member).or_default().push(other);
                connections.entry(other).or_default().push(member);
            }
        }
    }
    // The campaign's accounts are a day old.
    clock.advance_ms(59 * DAY);
    let mut campaign_accounts = Vec::new();
    for i in 0..50 {
        let id = sim.member(format!("panel{i}"), Role::Campaign).await;
        sim.texts.insert(
            id,
            Box::new(|rng: &mut SplitMix| spin(rng, CAMPAIGN_TEMPLATE)),
        );
        campaign_accounts.push(id);
    }
    clock.advance_ms(DAY);

    let mut next_stranger = 0;
    let mut stranger = |rng: &mut SplitMix| {
        let _ = rng;
        let id = strangers[next_stranger % strangers.len()];
        next_stranger += 1;
        id
    };
    // Bots: 60 strangers each over two days, a human-like pace (median 20 min apart).
    for &bot in &bots {
        let start = T0 + 8 * HOUR + sim.rng.below(4 * 3600) as i64 * SEC;
        for at in waking_times(&mut sim.rng, start, 60, |rng| {
            (rng.lognormal(20.0, 0.6) * MIN as f64) as i64
        }) {
            let to = stranger(&mut sim.rng);
            sim.schedule(at, Event::Send { from: bot, to });
        }
    }
    // The coordinated campaign: each account sends 3 variants, a few minutes apart, the
    // accounts starting at random moments over the two days.
    for &account in &campaign_accounts {
        let start = T0 + 8 * HOUR + sim.rng.below(36 * 3600) as i64 * SEC;
        for at in waking_times(&mut sim.rng, start, 3, |rng| {
            (rng.lognormal(8.0, 0.5) * MIN as f64) as i64
        }) {
            let to = stranger(&mut sim.rng);
            sim.schedule(at, Event::Send { from: account, to });
        }
    }
    // Recruiters: 10 to 15 candidates in one sitting, a couple of minutes apart.
    for &recruiter in &recruiters {
        let start = T0 + 9 * HOUR + sim.rng.below(30 * 3600) as i64 * SEC;
        let count = 10 + sim.rng.below(6);
        for at in waking_times(&mut sim.rng, start, count, |rng| {
            (rng.lognormal(2.0, 0.4) * MIN as f64) as i64
        }) {
            let to = stranger(&mut sim.rng);
            sim.schedule(
                at,
                Event::Send {
                    from: recruiter,
                    to,
                },
            );
        }
    }
    // Normal members: a few messages a day, mostly to connections, sometimes to a stranger.
    for &member in &normals {
        let start = T0 + 8 * HOUR + sim.rng.below(12 * 3600) as i64 * SEC;
        let count = 2 + sim.rng.below(8);
        for at in waking_times(&mut sim.rng, start, count, |rng| {
            (rng.lognormal(90.0, 1.0) * MIN as f64) as i64
        }) {
            let known = connections.get(&member).cloned().unwrap_or_default();
            let to = if known.is_empty() || sim.rng.chance(0.15) {
                stranger(&mut sim.rng)
            } else {
                *sim.rng.pick(&known)
            };
            sim.schedule(at, Event::Send { from: member, to });
        }
    }

    sim.run().await;

    // Bots: restricted within their first 20 sends.
    let mut bot_lines = Vec::new();
    for &bot in &bots {
        let o = &sim.outcomes[&bot];
        bot_lines.push(format!(
            "bot {}: restricted at send {:?}, {} sends ({} delivered, {} held, {} refused)",
            bot, o.restricted_at, o.sends, o.delivered, o.held, o.refused
        ));
    }
    println!("{}", bot_lines.join("\n"));
    for &bot in &bots {
        let o = &sim.outcomes[&bot];
        assert!(
            o.restricted_at.is_some_and(|at| at <= 20),
            "bot {bot} restricted at {:?}\n{}",
            o.restricted_at,
            bot_lines.join("\n")
        );
    }

    // The campaign: recognized before 60 of its messages were delivered.
    let campaigns = sim.app.campaigns(100).unwrap();
    let recognized: Vec<_> = campaigns
        .iter()
        .filter(|c| {
            c.accounts
                .iter()
                .any(|a| campaign_accounts.contains(&a.member_id))
        })
        .collect();
    assert!(!recognized.is_empty(), "the campaign was never recognized");
    let campaign = recognized.iter().max_by_key(|c| c.accounts_total).unwrap();
    let recognized_at = campaign.recognized_at.expect("recognized");
    let delivered_before = sim
        .campaign_messages
        .iter()
        .filter(|(at, delivered)| *at < recognized_at && *delivered)
        .count();
    let campaign_delivered = sim.campaign_messages.iter().filter(|m| m.1).count();
    let campaign_restricted = campaign_accounts
        .iter()
        .filter(|a| {
            sim.outcomes
                .get(a)
                .is_some_and(|o| o.restricted_at.is_some())
        })
        .count();
    println!(
        "campaign {}: recognized after {delivered_before} of its {} messages were delivered; \
         {} accounts in the record ({} in the largest recognized record, {} records); \
         {campaign_delivered} delivered and {} held in all; {campaign_restricted} accounts \
         restricted automatically",
        campaign.id,
        sim.campaign_messages.len(),
        campaign.accounts_total,
        campaign.accounts_total,
        recognized.len(),
        sim.campaign_messages.len() - campaign_delivered
    );
    assert!(
        delivered_before < 60,
        "recognized after {delivered_before} delivered"
    );
    // Its recipients' reactions, pooled over all its accounts, hold the rest of it.
    assert!(
        campaign_delivered < 60,
        "{campaign_delivered} of the campaign's messages delivered"
    );
    // No recognized campaign is made of people.
    for c in &campaigns {
        let people = c
            .accounts
            .iter()
            .filter(|a| {
                matches!(
                    sim.roles.get(&a.member_id),
                    Some(Role::Normal | Role::Recruiter | Role::Recipient)
                )
            })
            .count();
        let roles: Vec<_> = c
            .accounts
            .iter()
            .filter_map(|a| sim.roles.get(&a.member_id))
            .filter(|r| matches!(r, Role::Normal | Role::Recruiter | Role::Recipient))
            .collect();
        assert_eq!(
            people, 0,
            "campaign {} lists {people} people: {roles:?}",
            c.id
        );
    }

    // People: never restricted, never held.
    let mut people_sends = 0;
    for (&member, outcome) in &sim.outcomes {
        let role = sim.roles[&member];
        if matches!(role, Role::Normal | Role::Recruiter | Role::Recipient) {
            people_sends += outcome.sends;
            assert_eq!(
                (outcome.held, outcome.restricted_at),
                (0, None),
                "{role:?} {member}: {} held, restricted at {:?}",
                outcome.held,
                outcome.restricted_at
            );
        }
    }
    let recruiter_sends: usize = recruiters.iter().map(|r| sim.outcomes[r].sends).sum();
    println!(
        "people: {people_sends} sends (recruiters {recruiter_sends}), none held or restricted; \
         {} generated normal texts resampled because the content stage alone held them",
        sim.normal_text_resampled
    );
}
