//! Copies an embedded (sled) store into PostgreSQL: the way up from one process to
//! several replicas without losing data.
//!
//! Every record is copied as it is (same key, same value bytes) in transactions of
//! [`BATCH`] records, then verified: per table, the number of records on both sides, and a
//! sample of records spread over the whole store whose SHA-256 must match on both sides.
//! The destination must be empty, so a second run cannot mix two stores.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use super::pg::tables::{table_of, TABLES};
use super::{keys, Backend, Store, StoreError, StoreResult};

/// Records per transaction.
const BATCH: usize = 1_000;
/// About how many records the checksum sample holds.
const SAMPLE: usize = 500;

/// One table's counts after the copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableCopy {
    pub table: &'static str,
    pub source: usize,
    pub destination: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportReport {
    pub tables: Vec<TableCopy>,
    /// Records whose checksums were compared.
    pub sampled: usize,
    /// Keys of sampled records that differ (or are missing) in the destination.
    pub mismatched: Vec<String>,
}

impl ImportReport {
    /// Every count equal and every sampled checksum equal.
    pub fn verified(&self) -> bool {
        self.mismatched.is_empty() && self.tables.iter().all(|t| t.source == t.destination)
    }
}

/// Copies `from` (sled) into `to` (PostgreSQL, migrated and empty) and verifies the copy.
pub fn import_sled(from: &Store, to: &Store) -> StoreResult<ImportReport> {
    let (Backend::Sled(source), Backend::Postgres(destination)) = (&from.backend, &to.backend)
    else {
        return Err(StoreError::Config(
            "import copies a sled store into a PostgreSQL store".into(),
        ));
    };
    for table in TABLES {
        if destination.count(table.tag, &keys::prefix_end(table.tag))? > 0 {
            return Err(StoreError::Config(format!(
                "the destination is not empty (table {} has records); import into a new \
                 database or schema",
                table.name
            )));
        }
    }
    let total = source.db.len();
    let every = (total / SAMPLE).max(1);
    let mut sample = Vec::new();
    let mut batch = BTreeMap::new();
    for (index, entry) in source.db.iter().enumerate() {
        let (key, value) = entry?;
        if key.as_ref() == keys::SCHEMA {
            continue; // PostgreSQL keeps its schema version in `sendguard_migrations`
        }
        if table_of(&key).is_none() {
            return Err(StoreError::UnknownKey {
                key: String::from_utf8_lossy(&key).into_owned(),
            });
        }
        if index % every == 0 {
            sample.push((key.to_vec(), Sha256::digest(&value)));
        }
        batch.insert(key.to_vec(), Some(value.to_vec()));
        if batch.len() == BATCH {
            destination.begin()?.commit(std::mem::take(&mut batch))?;
        }
    }
    if !batch.is_empty() {
        destination.begin()?.commit(batch)?;
    }
    destination.advance_ids(from.next_id()?)?;

    let mut tables = Vec::new();
    for table in TABLES {
        tables.push(TableCopy {
            table: table.name,
            source: source.db.scan_prefix(table.tag).count(),
            destination: destination.count(table.tag, &keys::prefix_end(table.tag))?,
        });
    }
    let mut mismatched = Vec::new();
    for (key, digest) in &sample {
        let copied = destination.get(key)?;
        if copied.map(|value| Sha256::digest(&value)) != Some(*digest) {
            mismatched.push(String::from_utf8_lossy(key).into_owned());
        }
    }
    Ok(ImportReport {
        tables,
        sampled: sample.len(),
        mismatched,
    })
}
