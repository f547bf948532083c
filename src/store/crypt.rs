//! Message text encrypted at rest. Every message body the store writes is sealed with the
//! active key (XChaCha20-Poly1305, an authenticated cipher: a changed byte is refused, not
//! misread), under a fresh random 192-bit nonce, with the message id as associated data
//! (a sealed body moved to another record does not open), and the key's id stored beside
//! it; every read opens it again, so nothing above the store sees the difference. Keys come
//! from `SENDGUARD_STORE_KEYS` or `[store] keys_file`; the first encrypts, the others only
//! decrypt. Rotation ([`Store::reseal_batch`]) rewrites, in batches with a checkpoint, every
//! message not sealed with the active key, after which the old key can be retired.

use std::collections::BTreeMap;
use std::path::Path;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use serde::{Deserialize, Serialize};

use super::{decode, encode, keys, Reader, Store, StoreError, StoreResult};
use crate::domain::{Message, MessageId, SealedText};

/// The environment variable with the keys (`ID:HEX,ID:HEX`, the active one first).
pub const KEYS_ENV: &str = "SENDGUARD_STORE_KEYS";

/// The keys this process knows; the first given is active.
pub struct Sealer {
    active: String,
    keys: BTreeMap<String, XChaCha20Poly1305>,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Key ids only: key bytes never reach a log.
        f.debug_struct("Sealer")
            .field("active", &self.active)
            .field("keys", &self.keys.keys().collect::<Vec<_>>())
            .finish()
    }
}

fn config_error(message: String) -> StoreError {
    StoreError::Config(message)
}

impl Sealer {
    /// The keys from `SENDGUARD_STORE_KEYS`, else from `keys_file`; `None` when neither is set.
    pub fn configured(keys_file: Option<&Path>) -> StoreResult<Option<Sealer>> {
        if let Ok(spec) = std::env::var(KEYS_ENV) {
            if !spec.trim().is_empty() {
                let lines: Vec<String> = spec.split(',').map(|s| s.replace(':', " ")).collect();
                return Sealer::parse(&lines, KEYS_ENV).map(Some);
            }
        }
        let Some(path) = keys_file else {
            return Ok(None);
        };
        let text = std::fs::read_to_string(path)
            .map_err(|e| config_error(format!("{}: {e}", path.display())))?;
        let lines: Vec<String> = text.lines().map(str::to_string).collect();
        Sealer::parse(&lines, &path.display().to_string()).map(Some)
    }

    /// `ID HEX` lines (blank lines and `#` comments skipped); errors name `source` and the
    /// line, never the key.
    pub fn parse(lines: &[String], source: &str) -> StoreResult<Sealer> {
        let mut active = None;
        let mut keys = BTreeMap::new();
        for (index, line) in lines.iter().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let at = |what: &str| config_error(format!("{source}:{}: {what}", index + 1));
            let mut parts = line.split_whitespace();
            let (Some(id), Some(hex_key), None) = (parts.next(), parts.next(), parts.next()) else {
                return Err(at("expected `ID HEX`"));
            };
            let bytes = hex::decode(hex_key)
                .ok()
                .filter(|b| b.len() == 32)
                .ok_or_else(|| at("the key must be 64 hex digits (256 bits)"))?;
            let cipher = XChaCha20Poly1305::new_from_slice(&bytes)
                .map_err(|_| at("the key must be 64 hex digits (256 bits)"))?;
            if keys.insert(id.to_string(), cipher).is_some() {
                return Err(at(&format!("key id {id} appears twice")));
            }
            active.get_or_insert_with(|| id.to_string());
        }
        let active = active.ok_or_else(|| config_error(format!("{source}: no key")))?;
        Ok(Sealer { active, keys })
    }

    pub fn active_key(&self) -> &str {
        &self.active
    }

    pub fn key_ids(&self) -> Vec<String> {
        self.keys.keys().cloned().collect()
    }

    /// `text` sealed with the active key, bound to `message`.
    pub fn seal(&self, message: MessageId, text: &str) -> SealedText {
        let cipher = &self.keys[&self.active];
        let nonce: [u8; 24] = rand::random();
        let sealed = cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: text.as_bytes(),
                    aad: &message.to_be_bytes(),
                },
            )
            .expect("XChaCha20-Poly1305 encrypts any length a message can have");
        SealedText {
            key: self.active.clone(),
            nonce: hex::encode(nonce),
            text: hex::encode(sealed),
        }
    }

    /// The text of `sealed`, if a configured key opens it for `message`.
    pub fn open(&self, message: MessageId, sealed: &SealedText) -> StoreResult<String> {
        let corrupt = |why: &str| StoreError::Config(format!("message {message}: {why}"));
        let cipher = self.keys.get(&sealed.key).ok_or_else(|| {
            corrupt(&format!(
                "its text is sealed with key {:?}, which is not configured",
                sealed.key
            ))
        })?;
        let nonce = hex::decode(&sealed.nonce)
            .ok()
            .filter(|n| n.len() == 24)
            .ok_or_else(|| corrupt("malformed nonce"))?;
        let text = hex::decode(&sealed.text).map_err(|_| corrupt("malformed ciphertext"))?;
        let plain = cipher
            .decrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: &text,
                    aad: &message.to_be_bytes(),
                },
            )
            .map_err(|_| corrupt("its sealed text does not authenticate"))?;
        String::from_utf8(plain).map_err(|_| corrupt("its sealed text is not UTF-8"))
    }
}

/// The stored bytes of `message`: its body sealed when a key is configured.
pub(super) fn encode_message(sealer: Option<&Sealer>, message: &Message) -> Vec<u8> {
    match sealer {
        Some(sealer) if !message.body.is_empty() => {
            let mut stored = message.clone();
            stored.sealed_body = Some(sealer.seal(message.id, &message.body));
            stored.body = String::new();
            encode(&stored)
        }
        _ => encode(message),
    }
}

/// A stored message with its body opened.
pub(super) fn decode_message(
    sealer: Option<&Sealer>,
    key: &[u8],
    bytes: &[u8],
) -> StoreResult<Message> {
    let mut message: Message = decode(key, bytes)?;
    if let Some(sealed) = message.sealed_body.take() {
        let sealer = sealer.ok_or_else(|| {
            StoreError::Config(format!(
                "message {}: its text is sealed with key {:?}, and no key is configured \
                 ([store] keys_file or {KEYS_ENV})",
                message.id, sealed.key
            ))
        })?;
        message.body = sealer.open(message.id, &sealed)?;
    }
    Ok(message)
}

/// Where a key rotation stands (`sealing/rotation`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RotationCheckpoint {
    /// The key everything is being sealed with.
    pub to_key: String,
    /// The next message id to look at.
    pub next_message: MessageId,
    /// Messages resealed so far.
    pub resealed: u64,
}

/// How the stored messages are sealed, by key (`plaintext`: not sealed).
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SealingCensus {
    pub active_key: Option<String>,
    pub configured_keys: Vec<String>,
    pub messages_by_key: BTreeMap<String, u64>,
    /// Messages with text stored unencrypted (written before a key was configured).
    pub plaintext: u64,
    /// The rotation under way, if any.
    pub rotation: Option<RotationCheckpoint>,
}

/// Only the fields a census reads: the body is not decoded.
#[derive(Deserialize)]
struct SealFacts {
    #[serde(default)]
    body: String,
    #[serde(default)]
    sealed_body: Option<SealedText>,
}

const ROTATION: &[u8] = b"rotation";

impl Store {
    /// The keys configured for this store, if any.
    pub fn sealer(&self) -> Option<&Sealer> {
        self.sealer.as_deref()
    }

    /// This store with message text sealed by `sealer`.
    pub fn with_sealer(mut self, sealer: Option<Sealer>) -> Store {
        self.sealer = sealer.map(std::sync::Arc::new);
        self
    }

    pub fn rotation(&self) -> StoreResult<Option<RotationCheckpoint>> {
        self.json(&keys::with_bytes(keys::SEALING, ROTATION))
    }

    /// A pass over every message, counting how its text is stored.
    pub fn sealing_census(&self) -> StoreResult<SealingCensus> {
        let mut census = SealingCensus {
            active_key: self.sealer().map(|s| s.active_key().to_string()),
            configured_keys: self.sealer().map(Sealer::key_ids).unwrap_or_default(),
            rotation: self.rotation()?,
            ..SealingCensus::default()
        };
        for facts in self.message_facts::<SealFacts>() {
            let facts = facts?;
            match facts.sealed_body {
                Some(sealed) => *census.messages_by_key.entry(sealed.key).or_default() += 1,
                None if !facts.body.is_empty() => census.plaintext += 1,
                None => {}
            }
        }
        Ok(census)
    }

    /// Reseals up to `batch` messages, from the checkpoint on, whose text is not sealed
    /// with the active key (plaintext ones included), in one write that also moves the
    /// checkpoint. Returns the checkpoint, or `None` once every message was looked at (the
    /// checkpoint is then deleted). Without a key configured there is nothing to do.
    pub fn reseal_batch(&self, batch: usize) -> StoreResult<Option<RotationCheckpoint>> {
        let Some(sealer) = self.sealer() else {
            return Err(StoreError::Config(format!(
                "no key configured ([store] keys_file or {KEYS_ENV}): nothing to rotate to"
            )));
        };
        let active = sealer.active_key().to_string();
        let mut checkpoint = match self.rotation()? {
            Some(checkpoint) if checkpoint.to_key == active => checkpoint,
            _ => RotationCheckpoint {
                to_key: active.clone(),
                next_message: 0,
                resealed: 0,
            },
        };
        let mut stale = Vec::new();
        let mut last = None;
        for raw in self.messages_from(checkpoint.next_message).take(batch) {
            let raw = raw?;
            last = Some(raw.id);
            let facts: SealFacts = decode(b"msg/", &raw.bytes)?;
            let sealed_elsewhere = facts
                .sealed_body
                .as_ref()
                .is_some_and(|sealed| sealed.key != active);
            if sealed_elsewhere || (facts.sealed_body.is_none() && !facts.body.is_empty()) {
                stale.push(raw.id);
            }
        }
        let key = keys::with_bytes(keys::SEALING, ROTATION);
        let (done, _) = self.write::<_, StoreError>(|txn| {
            for id in &stale {
                // Read again inside the write: a change since the scan is resealed as is.
                if let Some(message) = txn.message(*id)? {
                    txn.put_message(&message);
                    checkpoint.resealed += 1;
                }
            }
            match last {
                Some(last) => {
                    checkpoint.next_message = last + 1;
                    txn.put(key.clone(), encode(&checkpoint));
                    Ok(false)
                }
                None => {
                    txn.delete(key.clone());
                    Ok(true)
                }
            }
        })?;
        Ok((!done).then_some(checkpoint))
    }
}
