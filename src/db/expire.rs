//! Expiry in the background: the periodic task's active expire cycle over
//! keys and hash fields, each shard locked briefly.

use super::event::{KeyEvent, Own, Recorded};
use super::keyspace::Keyspace;
use crate::dict::hash_key;

impl Keyspace {
    /// Deletes up to a bounded number of expired keys; returns how many were
    /// deleted. Called from the server's periodic task (Redis's active expire
    /// cycle): each shard is locked only briefly, for passes of `sample`
    /// keys per database. Deletions are logged to `aof` when it is on, and
    /// reported as keyspace events (`expired`; `hexpired`, then `del` for a
    /// hash left empty) to the event sink before the shard's lock drops.
    pub fn active_expire_cycle(
        &self,
        now_ms: i64,
        deadline: std::time::Instant,
        sample: usize,
        aof: &crate::aof::Aof,
    ) -> u64 {
        let mut deleted = 0;
        for shard in self.shards.iter() {
            // The periodic task shares its thread with the accept loop: it
            // never waits out a long command.
            let Some(mut shard) = self.try_lock_shard(shard) else {
                break;
            };
            let shard = &mut *shard;
            let wanted = self.events.wanted();
            let mut events: Vec<Recorded> = Vec::new();
            let mut report = |db: usize, key: &[u8], event: KeyEvent| {
                if wanted & event.class != 0 {
                    events.push(Recorded {
                        db,
                        event,
                        key: key.into(),
                    });
                }
            };
            for db_index in 0..shard.dbs.len() {
                if !shard.dbs[db_index].hash_ttl_keys.is_empty() {
                    for (key, fields, emptied) in
                        shard.dbs[db_index].reclaim_hash_fields(now_ms, sample)
                    {
                        shard.touch_watchers(db_index, &key);
                        if aof.is_logging() {
                            let args = crate::aof::hdel(&key, &fields);
                            aof.append(&[crate::aof::Effect { db: db_index, args }]);
                        }
                        report(db_index, &key, KeyEvent::HEXPIRED);
                        if emptied {
                            report(db_index, &key, KeyEvent::DEL);
                        }
                        deleted += u64::from(emptied);
                    }
                }
                loop {
                    let db = &mut shard.dbs[db_index];
                    if db.expires.is_empty() {
                        break;
                    }
                    let mut sampled = 0;
                    let mut expired_keys: Vec<Box<[u8]>> = Vec::new();
                    let mut cursor = db.expire_cursor;
                    while sampled < sample {
                        cursor = db.expires.scan_step(cursor, |k, &when| {
                            sampled += 1;
                            if when <= now_ms {
                                expired_keys.push(k.into());
                            }
                        });
                        if cursor == 0 {
                            break;
                        }
                    }
                    db.expire_cursor = cursor;
                    let n = expired_keys.len();
                    for key in expired_keys {
                        let h = hash_key(&key);
                        shard.dbs[db_index].remove(h, &key);
                        shard.touch_watchers(db_index, &key);
                        if aof.is_logging() {
                            let args = crate::aof::command(&[b"DEL", &key]);
                            aof.append(&[crate::aof::Effect { db: db_index, args }]);
                        }
                        report(db_index, &key, KeyEvent::EXPIRED);
                        deleted += 1;
                    }
                    // Keep going in this db while a quarter or more of the
                    // sample was stale, as Redis does, within the time budget.
                    if n * 4 < sampled.max(1) || std::time::Instant::now() >= deadline {
                        break;
                    }
                }
            }
            if !events.is_empty() {
                // Still under the shard's lock.
                self.events
                    .deliver_from(&mut events, 0, 0, &mut Own::default());
            }
            if std::time::Instant::now() >= deadline {
                break;
            }
        }
        deleted
    }
}
