//! Crash loop: start the server, load it with a mix of sends, SIGKILL it at a seeded moment
//! while sends are in flight, restart, and check the whole history every time.
//!
//! What must hold after every restart:
//! - the store opens (the server prints its listen line and `/readyz` answers 200);
//! - every acknowledged send is stored exactly once, visible to its sender, and to its
//!   recipient in the folder its verdict named (held ones: not at all);
//! - a send whose answer was lost in the crash, retried with its idempotency key, either
//!   replays the stored original or is sent now: never both, never twice.
//!
//! CI runs `CRASH_LOOP_ITERATIONS` (default 20) iterations of a small load; set it higher,
//! and `CRASH_LOOP_SEED` to vary the schedule, for a longer soak.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{Server, ADMIN_TOKEN};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

/// Load, not abuse: every limit that would refuse a busy but honest sender is off. Fan-out
/// and cadence stay on, so the spammer's sends are held as in production.
const CONFIG: &str = "[limits.rate]\nper_minute = 0\nper_hour = 0\nper_day = 0\n\
[limits.young_rate]\nper_minute = 0\nper_hour = 0\nper_day = 0\n\
[limits.new_conversations]\nper_day = 0\nper_week = 0\n";

const SPAM: &str = "I write as the attorney of my late client. As next of kin you are the \
beneficiary of the funds; reply today with your bank details for the release of the funds.";

#[derive(Clone)]
struct Member {
    id: u64,
    token: String,
}

/// One send as the client asked it; the idempotency key makes it safe to retry.
#[derive(Clone, Debug)]
struct Request {
    sender: usize,
    body: Value,
}

/// A send known to be stored, with the verdict the server answered.
#[derive(Clone, Debug)]
struct Stored {
    sender: usize,
    recipient: usize,
    message_id: u64,
    thread_id: u64,
    /// `inbox`, `other` or `held`.
    decision: String,
}

enum Sent {
    Answered(u16, Value),
    /// No answer: the server died with the request in flight (or before it arrived).
    Lost,
}

/// Refusals the mix runs into by design, which store nothing: the spammer ends up
/// restricted, and the premium member spends its month of InMail credits.
fn refused(status: u16, answer: &Value) -> bool {
    let code = answer["error"]["code"].as_str().unwrap_or("");
    status == 403 && matches!(code, "sender_restricted" | "inmail_quota_exhausted")
}

async fn post(client: &reqwest::Client, base: &str, token: &str, body: &Value) -> Sent {
    let response = client
        .post(format!("{base}/v1/messages"))
        .bearer_auth(token)
        .json(body)
        .send()
        .await;
    let Ok(response) = response else {
        return Sent::Lost;
    };
    let status = response.status().as_u16();
    match response.bytes().await {
        Ok(bytes) => Sent::Answered(
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        ),
        Err(_) => Sent::Lost,
    }
}

struct World {
    members: Vec<Member>,
    /// Indices into `members`.
    senders: Vec<usize>,
    recipients: Vec<usize>,
    premium: usize,
    spammer: usize,
}

async fn setup(server: &Server) -> World {
    let mut members = Vec::new();
    let mut add = |id: u64, token: String| {
        members.push(Member { id, token });
        members.len() - 1
    };
    let mut recipients = Vec::new();
    for r in 0..4 {
        let (id, token) = server.member(&format!("recipient{r}"), "free").await;
        recipients.push(add(id, token));
    }
    let mut senders = Vec::new();
    for s in 0..4 {
        let (id, token) = server.member(&format!("sender{s}"), "free").await;
        senders.push(add(id, token));
    }
    let (id, token) = server.member("premium", "premium").await;
    let premium = add(id, token);
    let (id, token) = server.member("spammer", "free").await;
    let spammer = add(id, token);
    // Each sender is connected to one recipient (Inbox) and a stranger to the rest (Other).
    for (i, &s) in senders.iter().enumerate() {
        let r = recipients[i % recipients.len()];
        server.connect(members[s].id, members[r].id).await;
    }
    World {
        members,
        senders,
        recipients,
        premium,
        spammer,
    }
}

/// The next send of worker `sender` (a mix of replies, new conversations, InMail and spam).
fn next_request(world: &World, rng: &mut StdRng, sender: usize, key: String) -> Request {
    let recipient = world.recipients[rng.random_range(0..world.recipients.len())];
    let to = world.members[recipient].id;
    let n: u32 = rng.random();
    let body = if sender == world.spammer {
        json!({"to": to, "body": SPAM, "idempotency_key": key})
    } else if sender == world.premium && rng.random_bool(0.5) {
        json!({"to": to, "body": format!("An opening you may like ({n})"), "kind": "inmail",
               "idempotency_key": key})
    } else {
        json!({"to": to, "body": format!("Following up on our call, note {n}"),
               "format": if rng.random_bool(0.3) { "markdown" } else { "text" },
               "idempotency_key": key})
    };
    Request { sender, body }
}

fn stored(world: &World, request: &Request, answer: &Value) -> Stored {
    let to = request.body["to"].as_u64().unwrap();
    Stored {
        sender: request.sender,
        recipient: world.members.iter().position(|m| m.id == to).unwrap(),
        message_id: answer["message_id"].as_u64().unwrap(),
        thread_id: answer["thread_id"].as_u64().unwrap(),
        decision: answer["decision"].as_str().unwrap().to_string(),
    }
}

struct Outcome {
    stored: Vec<Stored>,
    lost: Vec<Request>,
}

/// Runs every worker until the server dies under it; SIGKILLs the server once `kill_after`
/// sends are acknowledged. Returns what was acknowledged and what was lost in flight.
async fn load_and_kill(
    world: &Arc<World>,
    server: Server,
    iteration: usize,
    seed: u64,
    kill_after: usize,
) -> (Outcome, usize) {
    let acked = Arc::new(AtomicUsize::new(0));
    let in_flight = Arc::new(AtomicUsize::new(0));
    let acked_signal = Arc::new(tokio::sync::Notify::new());
    let mut workers = Vec::new();
    let mut workers_of: Vec<usize> = world.senders.clone();
    workers_of.extend([world.premium, world.spammer]);
    for (w, sender) in workers_of.into_iter().enumerate() {
        let world = Arc::clone(world);
        let (acked, in_flight, signal) = (acked.clone(), in_flight.clone(), acked_signal.clone());
        let client = server.client.clone();
        let base = server.base.clone();
        let mut rng = StdRng::seed_from_u64(seed ^ ((w as u64 + 1) << 32));
        workers.push(tokio::spawn(async move {
            let mut outcome = Outcome {
                stored: Vec::new(),
                lost: Vec::new(),
            };
            // Bounded, so a server that never dies cannot hang the test.
            for n in 0..10_000 {
                let key = format!("i{iteration}-w{w}-n{n}");
                let request = next_request(&world, &mut rng, sender, key);
                in_flight.fetch_add(1, Ordering::SeqCst);
                let sent = post(&client, &base, &world.members[sender].token, &request.body).await;
                in_flight.fetch_sub(1, Ordering::SeqCst);
                match sent {
                    Sent::Answered(201, answer) => {
                        outcome.stored.push(stored(&world, &request, &answer));
                        acked.fetch_add(1, Ordering::SeqCst);
                        signal.notify_one();
                    }
                    // Refused members would only spin; the others carry the load on.
                    Sent::Answered(status, answer) if refused(status, &answer) => break,
                    Sent::Answered(status, answer) => {
                        panic!("unexpected answer {status} to {:?}: {answer}", request.body)
                    }
                    Sent::Lost => {
                        outcome.lost.push(request);
                        break;
                    }
                }
            }
            outcome
        }));
    }
    let wait = async {
        while acked.load(Ordering::SeqCst) < kill_after {
            acked_signal.notified().await;
        }
    };
    tokio::time::timeout(Duration::from_secs(60), wait)
        .await
        .expect("the load never reached the kill point");
    let in_flight_at_kill = in_flight.load(Ordering::SeqCst);
    server.kill();
    let mut all = Outcome {
        stored: Vec::new(),
        lost: Vec::new(),
    };
    for worker in workers {
        let outcome = worker.await.unwrap();
        all.stored.extend(outcome.stored);
        all.lost.extend(outcome.lost);
    }
    (all, in_flight_at_kill)
}

/// Retries each lost send with its key: 200 `replayed` means it was stored before the
/// crash, 201 that it was not and is now. Either way exactly one message exists for it.
async fn resolve_lost(world: &World, server: &Server, lost: Vec<Request>) -> Vec<Stored> {
    let mut resolved = Vec::new();
    for request in lost {
        let token = &world.members[request.sender].token;
        match post(&server.client, &server.base, token, &request.body).await {
            Sent::Answered(200, answer) => {
                assert_eq!(answer["replayed"], true, "{answer}");
                resolved.push(stored(world, &request, &answer));
            }
            Sent::Answered(201, answer) => {
                assert_eq!(answer["replayed"], false, "{answer}");
                resolved.push(stored(world, &request, &answer));
            }
            Sent::Answered(status, answer) if refused(status, &answer) => {}
            Sent::Answered(status, answer) => panic!("retry answered {status}: {answer}"),
            Sent::Lost => panic!("the restarted server did not answer a retry"),
        }
    }
    resolved
}

async fn thread_page(server: &Server, token: &str, thread: u64) -> Option<Value> {
    let (status, body) = server.get(&format!("/v1/threads/{thread}"), token).await;
    match status {
        200 => Some(body),
        404 => None,
        _ => panic!("reading thread {thread}: {status} {body}"),
    }
}

/// Checks the whole history against the restarted server's view of it.
async fn verify(world: &World, server: &Server, history: &[Stored]) {
    let (status, _) = server
        .request(reqwest::Method::GET, "/readyz", None, None)
        .await;
    assert_eq!(status, 200, "the store did not come back ready");

    let mut by_thread: BTreeMap<(usize, u64), Vec<&Stored>> = BTreeMap::new();
    for message in history {
        by_thread
            .entry((message.sender, message.thread_id))
            .or_default()
            .push(message);
    }
    let mut seen_by_sender: HashMap<usize, usize> = HashMap::new();
    // Recipient side: (recipient, thread) → messages that were delivered to it.
    let mut delivered: BTreeMap<(usize, u64), Vec<&Stored>> = BTreeMap::new();
    for ((sender, thread), messages) in &by_thread {
        let page = thread_page(server, &world.members[*sender].token, *thread)
            .await
            .expect("the sender's thread is gone");
        let ids: Vec<u64> = page["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["from"].as_u64() == Some(world.members[*sender].id))
            .map(|m| m["message_id"].as_u64().unwrap())
            .collect();
        *seen_by_sender.entry(*sender).or_default() += ids.len();
        for message in messages {
            let copies = ids.iter().filter(|&&id| id == message.message_id).count();
            assert_eq!(copies, 1, "message {message:?} stored {copies} times");
            if message.decision != "held" {
                delivered
                    .entry((message.recipient, message.thread_id))
                    .or_default()
                    .push(message);
            }
        }
    }
    for (sender, count) in seen_by_sender {
        let known = history.iter().filter(|m| m.sender == sender).count();
        assert_eq!(
            count, known,
            "member {sender} has sends nobody acknowledged"
        );
    }
    for message in history.iter().filter(|m| m.decision == "held") {
        let visible = thread_page(
            server,
            &world.members[message.recipient].token,
            message.thread_id,
        )
        .await
        .is_some_and(|page| {
            page["messages"]
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m["message_id"].as_u64() == Some(message.message_id))
        });
        assert!(!visible, "held message {message:?} reached its recipient");
    }
    for ((recipient, thread), messages) in delivered {
        let token = &world.members[recipient].token;
        let page = thread_page(server, token, thread)
            .await
            .unwrap_or_else(|| panic!("delivered thread {thread} missing for its recipient"));
        let ids: Vec<u64> = page["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["message_id"].as_u64().unwrap())
            .collect();
        for message in &messages {
            assert_eq!(
                ids.iter().filter(|&&id| id == message.message_id).count(),
                1,
                "delivered message {message:?} not seen exactly once by its recipient"
            );
        }
        // A thread lands in Other, and moves to the Inbox for good once an Inbox message
        // arrives in it.
        let folder = if messages.iter().any(|m| m.decision == "inbox") {
            "inbox"
        } else {
            "other"
        };
        assert_eq!(page["folder"], folder, "thread {thread} of {recipient}");
        assert!(
            server.folder(token, folder).await.contains(&thread),
            "thread {thread} not listed in {folder}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_sends_survive_repeated_sigkill_under_load() {
    let iterations: usize = std::env::var("CRASH_LOOP_ITERATIONS")
        .ok()
        .map(|v| v.parse().expect("CRASH_LOOP_ITERATIONS must be a number"))
        .unwrap_or(20);
    let seed: u64 = std::env::var("CRASH_LOOP_SEED")
        .ok()
        .map(|v| v.parse().expect("CRASH_LOOP_SEED must be a number"))
        .unwrap_or(0x5e4d_9a4d);
    let mut rng = StdRng::seed_from_u64(seed);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");

    let server = Server::start(&data, Some(CONFIG));
    let world = Arc::new(setup(&server).await);
    let _ = ADMIN_TOKEN;
    let mut history: Vec<Stored> = Vec::new();
    let mut server = Some(server);
    let mut kills_with_sends_in_flight = 0;
    let mut resolved_total = 0;
    for iteration in 0..iterations {
        let kill_after = rng.random_range(5..40);
        let running = server.take().unwrap();
        let (outcome, in_flight) =
            load_and_kill(&world, running, iteration, rng.random(), kill_after).await;
        assert!(
            outcome.stored.len() >= kill_after,
            "{} acknowledged before the kill, wanted {kill_after}",
            outcome.stored.len()
        );
        kills_with_sends_in_flight += usize::from(in_flight > 0);
        history.extend(outcome.stored);

        let restarted = Server::start(&data, Some(CONFIG));
        let resolved = resolve_lost(&world, &restarted, outcome.lost).await;
        resolved_total += resolved.len();
        history.extend(resolved);
        verify(&world, &restarted, &history).await;
        server = Some(restarted);
    }
    // Every worker sends without pause, so the kill lands amid sends nearly every time.
    assert!(
        kills_with_sends_in_flight * 2 >= iterations,
        "only {kills_with_sends_in_flight} of {iterations} kills hit sends in flight"
    );
    assert!(resolved_total > 0, "no send was ever lost in flight");
    assert!(history.iter().any(|m| m.decision == "held"));
    assert!(history.iter().any(|m| m.decision == "other"));
    assert!(history.iter().any(|m| m.decision == "inbox"));
}
