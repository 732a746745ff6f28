//! Unique keys: of a stored event (from its stable id) and of telemetry rows.

use rusqlite::{params, Transaction};

use crate::Result;

/// The migration after which stored keys are [`event_key`]s.
pub(super) const MIGRATION: usize = 10;

/// The 16-byte unique key of the event with stable id `id`: a hash of the id's group
/// (the id up to its second `:`, such as `oc:<session id>` or `otel:<trace id>`)
/// followed by a hash of the whole id. A pure function of the id, so a re-read event
/// meets its stored copy; keys of one group sort together, so a transaction of one
/// session's events touches a few pages of the unique index, not all of them.
pub(super) fn event_key(id: &str) -> [u8; 16] {
    let group = id.match_indices(':').nth(1).map_or(id, |(at, _)| &id[..at]);
    let mut key = [0u8; 16];
    key[..8].copy_from_slice(&xxhash_rust::xxh3::xxh3_64(group.as_bytes()).to_be_bytes());
    key[8..].copy_from_slice(&xxhash_rust::xxh3::xxh3_64(id.as_bytes()).to_be_bytes());
    key
}

/// 16-byte hash of a string: the unique key of telemetry rows (resources, metric
/// series, logs). Events use [`event_key`].
pub(super) fn id_hash(s: &str) -> [u8; 16] {
    xxhash_rust::xxh3::xxh3_128(s.as_bytes()).to_le_bytes()
}

/// Recompute every stored event's key (stores written before [`MIGRATION`]), in
/// rowid order, a chunk at a time.
pub(super) fn rekey(tx: &Transaction<'_>) -> Result<()> {
    let total: i64 = tx.query_row("SELECT count(*) FROM events", [], |r| r.get(0))?;
    if total == 0 {
        return Ok(());
    }
    tracing::warn!(
        events = total,
        "upgrading the store: recomputing event keys (once; about 15 s per million events)"
    );
    // Every update moves one entry of the unique index: a larger page cache for this
    // one pass keeps most of the index in memory.
    let cache: i64 = tx.query_row("PRAGMA cache_size", [], |r| r.get(0))?;
    tx.pragma_update(None, "cache_size", -262_144)?;
    let mut select =
        tx.prepare("SELECT seq, id FROM events WHERE seq > ?1 ORDER BY seq LIMIT 10000")?;
    let mut update = tx.prepare("UPDATE events SET idh = ?1 WHERE seq = ?2")?;
    let mut after = 0i64;
    loop {
        let chunk: Vec<(i64, String)> = select
            .query_map([after], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let Some(&(last, _)) = chunk.last() else {
            break;
        };
        for (seq, id) in &chunk {
            update.execute(params![&event_key(id)[..], seq])?;
        }
        after = last;
    }
    tx.pragma_update(None, "cache_size", cache)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::event_key;

    #[test]
    fn keys_group_by_the_id_prefix_and_differ_per_id() {
        let a = event_key("oc:sess-1:e1@2026-11-14T20:02:59.389Z");
        let b = event_key("oc:sess-1:e2@2026-11-14T20:03:00.000Z");
        let c = event_key("oc:sess-2:e1@2026-11-14T20:02:59.389Z");
        assert_eq!(a[..8], b[..8], "one session, one group");
        assert_ne!(a[8..], b[8..]);
        assert_ne!(a[..8], c[..8]);
        assert_eq!(a, event_key("oc:sess-1:e1@2026-11-14T20:02:59.389Z"));
        // ids without a second ':' are their own group
        assert_eq!(event_key("plain")[..8], event_key("plain")[..8]);
        assert_ne!(event_key("x:1"), event_key("x:2"));
    }
}
