//! Versioned migrations of the PostgreSQL schema (`migrations/NNNN_name.sql`, embedded).
//!
//! `sendguard migrate` applies those not yet applied, each in its own transaction with
//! its row in `sendguard_migrations`, under an advisory lock so replicas started together
//! apply each once. An applied migration whose text changed since is refused: the schema
//! would no longer be what the file says.

use deadpool_postgres::Object;
use sha2::{Digest, Sha256};

use super::pg_error;
use crate::store::{StoreError, StoreResult};

pub struct Migration {
    pub version: i32,
    pub name: &'static str,
    pub sql: &'static str,
}

/// Every migration, oldest first.
pub static MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "initial",
        sql: include_str!("../../../migrations/0001_initial.sql"),
    },
    Migration {
        version: 2,
        name: "campaigns",
        sql: include_str!("../../../migrations/0002_campaigns.sql"),
    },
    Migration {
        version: 3,
        name: "member_lifecycle",
        sql: include_str!("../../../migrations/0003_member_lifecycle.sql"),
    },
    Migration {
        version: 4,
        name: "paid_messaging",
        sql: include_str!("../../../migrations/0004_paid_messaging.sql"),
    },
];

/// Session-level lock held while migrating (ASCII `SGMG`), keyed by schema like writes.
const LOCK: &str = "SELECT pg_advisory_lock(1397182791, hashtext(current_schema()))";
const UNLOCK: &str = "SELECT pg_advisory_unlock(1397182791, hashtext(current_schema()))";

const LEDGER: &str = "CREATE TABLE IF NOT EXISTS sendguard_migrations (
    version integer PRIMARY KEY,
    name text NOT NULL,
    checksum bytea NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)";

fn checksum(migration: &Migration) -> Vec<u8> {
    Sha256::digest(migration.sql.as_bytes()).to_vec()
}

async fn applied(connection: &Object) -> StoreResult<Vec<(i32, Vec<u8>)>> {
    let rows = connection
        .query(
            "SELECT version, checksum FROM sendguard_migrations ORDER BY version",
            &[],
        )
        .await
        .map_err(pg_error)?;
    Ok(rows.iter().map(|row| (row.get(0), row.get(1))).collect())
}

/// Fails when an applied migration differs from this build's or is unknown to it.
fn verify(applied: &[(i32, Vec<u8>)]) -> StoreResult<()> {
    for (version, sum) in applied {
        match MIGRATIONS.iter().find(|m| m.version == *version) {
            Some(migration) if checksum(migration) == *sum => {}
            Some(migration) => {
                return Err(StoreError::Migrations(format!(
                    "migration {version} ({}) was applied from a different text than this \
                     build's migrations/ has",
                    migration.name
                )))
            }
            None => {
                return Err(StoreError::Migrations(format!(
                    "the database has migration {version}, newer than this build knows"
                )))
            }
        }
    }
    Ok(())
}

pub async fn apply(connection: &mut Object) -> StoreResult<Vec<&'static Migration>> {
    connection.batch_execute(LOCK).await.map_err(pg_error)?;
    let outcome = apply_locked(connection).await;
    let unlocked = connection.batch_execute(UNLOCK).await.map_err(pg_error);
    let applied = outcome?;
    unlocked?;
    Ok(applied)
}

async fn apply_locked(connection: &mut Object) -> StoreResult<Vec<&'static Migration>> {
    connection.batch_execute(LEDGER).await.map_err(pg_error)?;
    let done = applied(connection).await?;
    verify(&done)?;
    let mut newly = Vec::new();
    for migration in MIGRATIONS {
        if done
            .iter()
            .any(|(version, _)| *version == migration.version)
        {
            continue;
        }
        let transaction = connection.transaction().await.map_err(pg_error)?;
        transaction
            .batch_execute(migration.sql)
            .await
            .map_err(pg_error)?;
        transaction
            .execute(
                "INSERT INTO sendguard_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                &[&migration.version, &migration.name, &checksum(migration)],
            )
            .await
            .map_err(pg_error)?;
        transaction.commit().await.map_err(pg_error)?;
        newly.push(migration);
    }
    Ok(newly)
}

/// Fails unless every migration is applied, naming the command that applies them.
pub async fn check(connection: &Object) -> StoreResult<()> {
    let exists = connection
        .query_one(
            "SELECT to_regclass('sendguard_migrations') IS NOT NULL",
            &[],
        )
        .await
        .map_err(pg_error)?;
    let done = if exists.get::<_, bool>(0) {
        applied(connection).await?
    } else {
        Vec::new()
    };
    verify(&done)?;
    let missing: Vec<i32> = MIGRATIONS
        .iter()
        .filter(|m| !done.iter().any(|(version, _)| *version == m.version))
        .map(|m| m.version)
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(StoreError::Migrations(format!(
            "migrations {missing:?} are not applied; run `sendguard migrate --config <file>` \
             (or `--url <url>`) first"
        )))
    }
}
