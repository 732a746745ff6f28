//! Unique keys: of a stored event (from its stable id) and of telemetry rows.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use rusqlite::{params, Connection, Transaction};

use super::stored_id::id_in_migration;
use crate::Result;

/// The migration after which stored keys are [`event_key`]s.
pub(super) const MIGRATION: usize = 10;

/// The migration that moves key uniqueness to the droppable index `events_idh`.
pub(super) const INDEX_MIGRATION: usize = 11;

/// Say so before [`INDEX_MIGRATION`] copies a large events table; true when the table
/// holds rows (the file is compacted afterwards).
pub(super) fn warn_rewrite(tx: &Transaction<'_>) -> Result<bool> {
    let total: i64 = tx.query_row("SELECT count(*) FROM events", [], |r| r.get(0))?;
    if total > 100_000 {
        tracing::warn!(
            events = total,
            "upgrading the store: rewriting the events table and compacting the file \
             (once; about 15 s per million events)"
        );
    }
    Ok(total > 0)
}

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
    let id = id_in_migration(tx);
    let mut select = tx.prepare(&format!(
        "SELECT seq, {id} FROM events WHERE seq > ?1 ORDER BY seq LIMIT 10000"
    ))?;
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

/// The unique index on event keys (migration 11), which a bulk load may defer.
pub(super) const KEY_INDEX: &str = "CREATE UNIQUE INDEX IF NOT EXISTS events_idh ON events(idh);";

/// Make sure the unique index on event keys exists (a no-op, and no write, when it does).
pub(super) fn ensure_key_index(conn: &Connection) -> Result<()> {
    conn.execute_batch(KEY_INDEX)?;
    Ok(())
}

/// The event keys of a bulk load and the `seq` of the row holding each, kept in memory
/// while the unique index `events_idh` is dropped (see `begin_bulk`). They stand in for
/// the index only as long as no other connection has committed since they were read
/// ([`BulkKeys::current`]).
#[derive(Default)]
pub(super) struct BulkKeys {
    seqs: HashMap<[u8; 16], i64, BuildHasherDefault<KeyHasher>>,
    /// `PRAGMA data_version` when the keys were read: it changes when another
    /// connection commits, never for this connection's own commits.
    data_version: i64,
}

impl BulkKeys {
    /// Keys held at most (about 26 MB of table): past that the unique index is built and
    /// takes over for the rest of the load.
    #[cfg(not(test))]
    pub(super) const MAX: usize = 900_000;
    #[cfg(test)]
    pub(super) const MAX: usize = 50;

    /// Drop the unique index and read the stored keys, in one write transaction.
    pub(super) fn take_over(conn: &mut Connection) -> Result<BulkKeys> {
        let tx = Transaction::new(conn, rusqlite::TransactionBehavior::Immediate)?;
        tx.execute_batch("DROP INDEX IF EXISTS events_idh;")?;
        let keys = BulkKeys::read(&tx)?;
        tx.commit()?;
        Ok(keys)
    }

    fn read(tx: &Transaction<'_>) -> Result<BulkKeys> {
        let mut keys = BulkKeys {
            data_version: data_version(tx)?,
            ..BulkKeys::default()
        };
        let mut stmt = tx.prepare("SELECT idh, seq FROM events")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let idh: Vec<u8> = r.get(0)?;
            if let Ok(k) = <[u8; 16]>::try_from(idh.as_slice()) {
                keys.seqs.insert(k, r.get(1)?);
            }
        }
        Ok(keys)
    }

    /// True when no other connection has committed since the keys were read, so they
    /// are still all the stored keys. Call inside the write transaction that uses them.
    pub(super) fn current(&self, tx: &Transaction<'_>) -> Result<bool> {
        Ok(data_version(tx)? == self.data_version)
    }

    /// The `seq` of the row holding `key`.
    pub(super) fn get(&self, key: &[u8; 16]) -> Option<i64> {
        self.seqs.get(key).copied()
    }

    /// `key` is now held by row `seq`.
    pub(super) fn insert(&mut self, key: [u8; 16], seq: i64) {
        self.seqs.insert(key, seq);
    }

    /// Keys held.
    pub(super) fn len(&self) -> usize {
        self.seqs.len()
    }
}

fn data_version(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row("PRAGMA data_version", [], |r| r.get(0))?)
}

/// Event keys are hashes already: the map folds their bytes rather than hash them again.
#[derive(Default)]
pub(super) struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = self.0.rotate_left(29) ^ u64::from_le_bytes(word);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::{event_key, BulkKeys};

    /// The connection's `PRAGMA cache_size` (negative: KiB).
    fn cache_size(store: &crate::SqliteStore) -> i64 {
        store
            .conn
            .query_row("PRAGMA cache_size", [], |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn bulk_keys_find_what_was_inserted() {
        let mut keys = BulkKeys::default();
        for i in 0..10_000 {
            keys.insert(event_key(&format!("oc:s{}:e{i}", i % 7)), i);
        }
        assert_eq!(keys.get(&event_key("oc:s3:e10")), Some(10));
        assert_eq!(keys.get(&event_key("oc:s3:e9999")), Some(9999));
        assert_eq!(keys.get(&event_key("oc:s4:e10")), None);
        keys.insert(event_key("oc:s3:e10"), 20_000);
        assert_eq!(keys.get(&event_key("oc:s3:e10")), Some(20_000));
    }

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

    #[test]
    fn past_its_key_limit_a_bulk_load_hands_over_to_the_unique_index() {
        use crate::{Batch, SqliteStore, Store};
        use clawscope_core::{Event, Merge};
        let ev = |i: usize, output: u64| {
            let mut e = Event {
                id: format!("oc:s{}:e{i}", i % 3),
                ts_ms: 1_000 + i as i64,
                session_key: format!("s{}", i % 3),
                merge: Merge::KeepLargestUsage,
                ..Event::default()
            };
            e.tokens.output = output;
            e
        };
        let batch = |events: Vec<Event>| Batch {
            events,
            ..Batch::default()
        };
        let dir = tempfile::tempdir().unwrap();
        let mut store = SqliteStore::open(&dir.path().join("s.db")).unwrap();
        assert_eq!(cache_size(&store), -24_000);
        store.begin_bulk().unwrap();
        store
            .apply(&batch((0..40).map(|i| ev(i, 1)).collect()))
            .unwrap();
        assert!(store.bulk_keys.is_some(), "under the limit: keys in memory");
        assert_eq!(cache_size(&store), -8_000, "appending: a small page cache");
        let s = store
            .apply(&batch((30..70).map(|i| ev(i, 2)).collect()))
            .unwrap();
        assert_eq!((s.inserted, s.updated), (30, 10));
        assert!(store.bulk_keys.is_none(), "past it: the index took over");
        assert_eq!(
            cache_size(&store),
            -24_000,
            "probing the index: the usual cache"
        );
        let s = store
            .apply(&batch((60..80).map(|i| ev(i, 3)).collect()))
            .unwrap();
        assert_eq!((s.inserted, s.updated), (10, 10));
        store.end_bulk().unwrap();
        let rows: i64 = store
            .conn
            .query_row("SELECT count(*) FROM events", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, 80);
        let outputs: i64 = store
            .conn
            .query_row("SELECT sum(output) FROM events", [], |r| r.get(0))
            .unwrap();
        assert_eq!(outputs, 30 + 2 * 30 + 3 * 20);
    }

    #[test]
    fn a_bulk_load_that_ends_with_its_keys_in_memory_gives_the_page_cache_back() {
        use crate::{SqliteStore, Store};
        let dir = tempfile::tempdir().unwrap();
        let mut store = SqliteStore::open(&dir.path().join("s.db")).unwrap();
        store.begin_bulk().unwrap();
        assert_eq!(cache_size(&store), -8_000);
        store.end_bulk().unwrap();
        assert_eq!(cache_size(&store), -24_000);
        // A connection limited below the append cache keeps its own limit throughout.
        store.limit_cache(2_000).unwrap();
        store.begin_bulk().unwrap();
        assert_eq!(cache_size(&store), -2_000);
        store.end_bulk().unwrap();
        assert_eq!(cache_size(&store), -2_000);
    }

    #[test]
    fn a_scratch_store_ends_a_bulk_load_without_building_indexes_and_keeps_its_keys() {
        use crate::{Batch, SqliteStore, Store};
        let mut store = SqliteStore::open_scratch().unwrap();
        store.begin_bulk().unwrap();
        assert_eq!(
            cache_size(&store),
            -24_000,
            "a scratch store keeps its cache"
        );
        let events = (0..5)
            .map(|i| clawscope_core::Event {
                id: format!("cc:m{i}"),
                ts_ms: 1_000 + i,
                session_key: "s".into(),
                ..clawscope_core::Event::default()
            })
            .collect();
        store
            .apply(&Batch {
                events,
                ..Batch::default()
            })
            .unwrap();
        store.end_bulk().unwrap();
        let indexes: i64 = store
            .conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name IN
                 ('events_idh', 'events_ts', 'events_session_ts', 'events_transcript_usage')",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(
            indexes, 0,
            "a scratch store is read once: the deferred indexes stay unbuilt"
        );
        assert!(store.bulk_keys.is_some(), "the keys stay in memory");
    }
}
