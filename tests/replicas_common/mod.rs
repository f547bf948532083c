//! Shared by the tests that run several `sendguard serve` replicas against the real Redis and
//! NATS servers: service checks that name the command providing a missing service, unique
//! key and subject prefixes so tests run in parallel, and clean-up of what a test left.
#![allow(dead_code)]

use std::net::TcpStream;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use crate::common::Server;

pub const REDIS_ADDR: &str = "127.0.0.1:6379";
pub const NATS_ADDR: &str = "127.0.0.1:4222";

/// Fails the test, naming `scripts/start-services`, when nothing answers on `addr`.
pub fn require_service(name: &str, addr: &str) {
    if TcpStream::connect_timeout(&addr.parse().unwrap(), Duration::from_secs(2)).is_err() {
        panic!(
            "{name} is not answering on {addr}: run `scripts/start-services` (it installs and \
             starts PostgreSQL, Redis and NATS with JetStream), or `scripts/test`, which calls it"
        );
    }
}

/// A prefix no other test (or run) uses.
pub fn unique_prefix(what: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "sgtest_{what}_{}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst),
        rand::random::<u32>()
    )
}

/// Deletes every Redis key under its prefix when dropped, so a test leaves nothing behind
/// even when it fails.
pub struct RedisKeys {
    pub prefix: String,
}

impl RedisKeys {
    pub fn new() -> RedisKeys {
        require_service("Redis", REDIS_ADDR);
        RedisKeys {
            prefix: format!("{}:", unique_prefix("limits")),
        }
    }

    /// Keys currently under the prefix.
    pub fn keys(&self) -> Vec<String> {
        let client = redis::Client::open(format!("redis://{REDIS_ADDR}/")).unwrap();
        let mut connection = client.get_connection().unwrap();
        redis::cmd("KEYS")
            .arg(format!("{}*", self.prefix))
            .query(&mut connection)
            .unwrap()
    }

    /// A key's remaining time to live in milliseconds (-1: none, -2: absent).
    pub fn pttl(&self, key: &str) -> i64 {
        let client = redis::Client::open(format!("redis://{REDIS_ADDR}/")).unwrap();
        let mut connection = client.get_connection().unwrap();
        redis::cmd("PTTL").arg(key).query(&mut connection).unwrap()
    }
}

impl Drop for RedisKeys {
    fn drop(&mut self) {
        let Ok(client) = redis::Client::open(format!("redis://{REDIS_ADDR}/")) else {
            return;
        };
        let Ok(mut connection) = client.get_connection() else {
            return;
        };
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{}*", self.prefix))
            .query(&mut connection)
            .unwrap_or_default();
        if !keys.is_empty() {
            let _: redis::RedisResult<i64> = redis::cmd("DEL").arg(keys).query(&mut connection);
        }
    }
}

/// A member on every replica under the same id (each replica has its own store here; the
/// shared store is the PostgreSQL backend's part), with each replica's token.
pub struct SharedMember {
    pub id: u64,
    pub tokens: Vec<String>,
}

/// Creates `handle` on every replica, in the same order, and checks the ids agree (fresh
/// stores hand out ids in the same sequence).
pub async fn member_everywhere(replicas: &[&Server], handle: &str) -> SharedMember {
    let mut id = None;
    let mut tokens = Vec::new();
    for replica in replicas {
        let (member, token) = replica.member(handle, "free").await;
        assert_eq!(*id.get_or_insert(member), member, "member ids differ");
        tokens.push(token);
    }
    SharedMember {
        id: id.unwrap(),
        tokens,
    }
}

pub async fn connect_everywhere(replicas: &[&Server], a: u64, b: u64) {
    for replica in replicas {
        replica.connect(a, b).await;
    }
}

/// How long an event may take to cross from one replica to another before the test fails
/// (a bound, not a measured time: the tests wait for the event itself).
pub const CROSSING_DEADLINE: Duration = Duration::from_secs(20);

/// A NATS subject prefix of the test's own; its control and decision streams are deleted
/// when dropped.
pub struct Subjects {
    pub prefix: String,
}

impl Subjects {
    pub fn new() -> Subjects {
        require_service("NATS", NATS_ADDR);
        Subjects {
            prefix: unique_prefix("events"),
        }
    }
}

impl Drop for Subjects {
    fn drop(&mut self) {
        let streams = sendguard::event_stream_names(&self.prefix);
        // Drop runs outside any runtime the test may still hold: use a thread of its own.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                if let Ok(client) = async_nats::connect(NATS_ADDR).await {
                    let jetstream = async_nats::jetstream::new(client);
                    for stream in &streams {
                        let _ = jetstream.delete_stream(stream).await;
                    }
                }
            });
        })
        .join();
    }
}
