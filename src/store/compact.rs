//! Compaction of the embedded store: copies the live records into a fresh sled database
//! and swaps it in. sled is log-structured: a deleted or overwritten value stays in its
//! old segment until sled happens to reclaim it, so an erasure is only physically complete
//! once the files that held the text are gone. The copy holds exactly the live records,
//! and the old files are deleted.

use std::path::{Path, PathBuf};

use super::{StoreError, StoreResult};

/// What a compaction did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Compaction {
    pub records: u64,
    pub bytes_before: u64,
    pub bytes_after: u64,
}

fn sibling(dir: &Path, suffix: &str) -> PathBuf {
    let mut name = dir.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    dir.with_file_name(name)
}

/// Compacts the sled store in `dir` (no process may hold it). The new database is written
/// and flushed beside it (`DIR.compacting`), then the old one is moved aside and deleted;
/// a crash in between leaves either the old store in place or `DIR.precompact` beside the
/// new one, which [`compact`] names if asked again.
pub fn compact(dir: &Path) -> StoreResult<Compaction> {
    let staged = sibling(dir, ".compacting");
    let old = sibling(dir, ".precompact");
    if old.exists() {
        return Err(StoreError::Config(format!(
            "{} exists: a compaction was interrupted after the swap; check {} and remove {}",
            old.display(),
            dir.display(),
            old.display()
        )));
    }
    if staged.exists() {
        std::fs::remove_dir_all(&staged).map_err(io)?;
    }
    let (records, bytes_before, bytes_after) = {
        let source = open_when_released(dir)?;
        let super::Backend::Sled(inner) = &source.backend else {
            unreachable!("open_existing opens sled")
        };
        let bytes_before = inner.db.size_on_disk()?;
        let target = sled::Config::new().path(&staged).open()?;
        let mut records = 0;
        for entry in inner.db.iter() {
            let (key, value) = entry?;
            target.insert(key, value)?;
            records += 1;
        }
        // Ids are never reused: the new database hands out ids after the old one's last.
        let last = inner.db.generate_id()?;
        while target.generate_id()? < last {}
        target.flush()?;
        (records, bytes_before, target.size_on_disk()?)
    };
    std::fs::rename(dir, &old).map_err(io)?;
    std::fs::rename(&staged, dir).map_err(io)?;
    std::fs::remove_dir_all(&old).map_err(io)?;
    Ok(Compaction {
        records,
        bytes_before,
        bytes_after,
    })
}

/// Opens the store, waiting up to two seconds for a handle this process just dropped:
/// sled's background threads release the file lock a moment after the last handle goes.
fn open_when_released(dir: &Path) -> StoreResult<super::Store> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    loop {
        match super::Store::open_existing(dir) {
            Err(StoreError::Locked { .. }) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => return other,
        }
    }
}

fn io(error: std::io::Error) -> StoreError {
    StoreError::Sled(sled::Error::Io(error))
}
