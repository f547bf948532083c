//! Message generators shared by the campaign tests: spintax templates as automation tools
//! write them, recruiters' personalized notes, and real-looking unrelated messages from the
//! LinkedIn-style training corpus (`datasets/linkedin/train.tsv`; never the held-out test set).
#![allow(dead_code)]

use sendguard::domain::{Format, RenderedBody};
use sendguard::limits::{Limiter, TemplateSignature};
use sendguard::Engine;

pub use crate::limits_common::SplitMix;

/// Growth-program, lead-generation and "investment" pitches with alternatives in every slot
/// (greeting × name × hook × offer × urgency × call to action × link). `{a|b}` is a slot,
/// `@name` a first name, `@link` a rotating short or look-alike booking link.
pub const BOT_TEMPLATES: &[&str] = &[
    "{Hi|Hello|Hey|Good morning} @name, {I came across your profile|your profile popped up in my feed|I noticed your recent post|a mutual connection mentioned you} and {loved your experience|was impressed by your background|thought of you right away}. {Our growth program|Our accelerator|Our coaching circle} {helps professionals|has helped hundreds of people|is helping consultants} {double their income|build a second income stream|reach six figures} {in 90 days|within three months|this quarter}. {Only a few spots are left|Enrollment closes Friday|We only take ten people per cohort}, {book your intro session|grab a slot on my calendar|pick a time that suits you} {here|below|at this link}: @link",
    "{Hi|Hey|Hello} @name! {Quick question|Random question|Curious}: {are you open to|would you consider|have you thought about} {new revenue streams|passive income|a side business} {this year|right now|in 2025}? {My team|My partners and I|Our community} {found a way|built a system|have a simple method} to {grow a portfolio|earn on autopilot|make your savings work} {with little effort|in minutes a day|without quitting your job}. {Happy to show you|Let me walk you through it|I can share the details} {on a short call|in a quick chat|over zoom}, {reserve a time|book here|my calendar is open}: @link",
    "{Hello|Hi|Dear} @name, {we help|our agency helps|my company helps} {B2B founders|agency owners|coaches and consultants} {fill their calendar|book more sales calls|land new clients every week} {with automated outreach|using our outbound engine|through a proven LinkedIn system}. {Clients usually see|Most partners get|Our last client got} {20 to 40 qualified meetings|a full pipeline|three new deals} {in the first month|within weeks|before the end of the quarter}. {Worth a quick look?|Open to hearing more?|Should I send details?} {Pick a slot|Book a demo|See the case study} {here|now}: @link",
    "{Hi|Hey} @name, {congrats on your recent milestone|great to connect with you|hope your week is going well}! {I run|I lead|I manage} {an exclusive mastermind|a private network|an invite-only community} {for ambitious professionals|for high performers|for people like you} {who want to scale faster|who are ready for the next level|who want more freedom}. {Members get|You would get|It includes} {weekly coaching|expert sessions|done-with-you strategy} {and a proven roadmap|plus accountability|and a supportive group}. {Seats are limited|Doors close soon|Applications close this week}, {apply here|claim your seat|secure your spot}: @link",
    "{Hello|Hi|Hey} @name, {I help|my firm helps|we help} {busy professionals|executives|people in tech} {protect and grow their savings|diversify beyond stocks|build wealth quietly} {through a private fund|with a managed strategy|via a members-only program} {that returned well last year|with steady monthly returns|that beat the market}. {No experience needed|Everything is handled for you|It takes five minutes to start}. {Let's have a quick call|I would love to explain more|Can I send you the overview?} {Schedule here|Book a time|Details}: @link",
];

/// The coordinated campaign's template: many new accounts, three variants each.
pub const CAMPAIGN_TEMPLATE: &str = "{Hi|Hello|Hey} @name, {I'm reaching out to a few|I'm contacting selected|I'm messaging a handful of} {professionals in your field|people with your background|experts like you} {about a paid survey|for a short paid study|about a research panel}. {It takes 15 minutes|It only takes a few minutes|It's quick and online} and {pays $150|you earn a gift card|compensation is generous}. {Spots fill fast|Places are limited|We close it soon}, {register here|sign up below|see the details}: @link";

/// Links a bot rotates: shorteners and look-alike booking domains.
pub const LINKS: &[&str] = &[
    "https://bit.ly/3gRwth",
    "https://tinyurl.com/grow-now",
    "https://bit.ly/scale-fast",
    "https://calendIy.co/intro-call",
    "https://caIendly-booking.com/session",
    "https://tinyurl.com/book-a-slot",
    "https://booking-calendly.net/strategy",
];

pub const NAMES: &[&str] = &[
    "Dana", "Marco", "Priya", "Tomás", "Olufemi", "Lena", "Rahul", "Claire", "Wei", "Aisha",
    "Jonas", "Sofia", "Kenji", "Maria", "Ahmed", "Emma", "Lucas", "Fatima", "Noah", "Zoe",
];

/// Expands a spintax template with one random alternative per slot.
pub fn spin(rng: &mut SplitMix, template: &str) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = open + rest[open..].find('}').expect("closed slot");
        let options: Vec<&str> = rest[open + 1..close].split('|').collect();
        let option = *rng.pick(&options);
        out.push_str(option);
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    let name = *rng.pick(NAMES);
    let link = *rng.pick(LINKS);
    out.replace("@name", name).replace("@link", link)
}

/// A recruiter's own template: one of the hand-written recruiter notes of the training
/// corpus (each recruiter writes their own), with the greeted name as the slot `note` fills.
pub struct Recruiter {
    template: String,
}

impl Recruiter {
    /// The `index`-th recruiter note of the corpus (wrapping around).
    pub fn new(index: usize) -> Recruiter {
        let notes: Vec<String> = corpus_rows()
            .into_iter()
            .filter(|(_, _, category)| category == "recruiter_outreach")
            .map(|(_, text, _)| text)
            .collect();
        let text = &notes[index % notes.len()];
        let mut words: Vec<String> = text.split(' ').map(str::to_string).collect();
        if let Some(i) = words
            .iter()
            .position(|w| matches!(w.to_lowercase().as_str(), "hi" | "hello" | "hey" | "dear"))
        {
            if let Some(name) = words.get_mut(i + 1) {
                let tail: String = name.chars().skip_while(|c| c.is_alphabetic()).collect();
                *name = format!("@name{tail}");
            }
        }
        Recruiter {
            template: words.join(" "),
        }
    }

    /// The note for one candidate, with their name.
    pub fn note(&self, rng: &mut SplitMix) -> String {
        let name = *rng.pick(NAMES);
        self.template.replace("@name", name)
    }
}

fn corpus_rows() -> Vec<(bool, String, String)> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/datasets/linkedin/train.tsv");
    let text = std::fs::read_to_string(path).expect("datasets/linkedin/train.tsv");
    let mut out: Vec<(bool, String, String)> = Vec::new();
    for (i, line) in text.split('\n').enumerate() {
        if let Ok(Some(row)) = sendguard::tsv::parse_line(line, i + 1) {
            let spam = row.label == sendguard::domain::Label::Spam;
            let category = row.extra.first().cloned().unwrap_or_default();
            if !out.iter().any(|(_, t, _)| *t == row.text) {
                out.push((spam, row.text, category));
            }
        }
    }
    out
}

/// The training corpus's messages (ham and spam), one per distinct text: real-looking
/// messages that are not variants of each other's template.
pub fn corpus() -> Vec<(bool, String)> {
    corpus_rows()
        .into_iter()
        .map(|(spam, text, _)| (spam, text))
        .collect()
}

/// A plain-text message's template signature as the send path computes it.
pub fn signature(limiter: &Limiter, text: &str) -> Option<TemplateSignature> {
    thread_local! {
        static ENGINE: Engine = Engine::default();
    }
    let normalized =
        ENGINE.with(|engine| engine.normalize(&RenderedBody::render(Format::Text, text)));
    limiter.template_signature(&normalized.tokens)
}
