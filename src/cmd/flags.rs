//! Command flags: Redis's (as its command files name them) and, from bit
//! 24 on, ferrodis's internal ones.

/// May modify the keyspace.
pub const WRITE: u32 = 1 << 0;
/// Only reads the keyspace.
pub const READONLY: u32 = 1 << 1;
/// May grow memory use (refused when over `maxmemory`).
pub const DENYOOM: u32 = 1 << 2;
/// Administrative.
pub const ADMIN: u32 = 1 << 3;
/// Pub/sub.
pub const PUBSUB: u32 = 1 << 4;
/// Not allowed from scripts.
pub const NOSCRIPT: u32 = 1 << 5;
/// May block the client.
pub const BLOCKING: u32 = 1 << 6;
/// Allowed while loading the dataset.
pub const LOADING: u32 = 1 << 7;
/// Allowed on a stale replica.
pub const STALE: u32 = 1 << 8;
/// Not shown to MONITOR.
pub const SKIP_MONITOR: u32 = 1 << 9;
/// Not logged in the slow log.
pub const SKIP_SLOWLOG: u32 = 1 << 10;
/// O(1) or O(log N).
pub const FAST: u32 = 1 << 11;
/// Allowed before authentication.
pub const NO_AUTH: u32 = 1 << 12;
/// May replicate even if read-only.
pub const MAY_REPLICATE: u32 = 1 << 13;
/// Not allowed inside MULTI.
pub const NO_MULTI: u32 = 1 << 14;
/// Allowed while a script is busy.
pub const ALLOW_BUSY: u32 = 1 << 15;
/// Refused while the dataset loads in the background.
pub const NO_ASYNC_LOADING: u32 = 1 << 16;
/// May be called with no keys although it takes some (EVAL's numkeys 0).
pub const NO_MANDATORY_KEYS: u32 = 1 << 17;
/// Allowed on a cluster node importing the slot (cluster only).
pub const ASKING: u32 = 1 << 18;
/// Also a Sentinel command.
pub const SENTINEL: u32 = 1 << 19;
/// Only a Sentinel command.
pub const ONLY_SENTINEL: u32 = 1 << 20;
/// Refused unless enabled by configuration (DEBUG, MODULE).
pub const PROTECTED: u32 = 1 << 21;
/// May touch keys not among its arguments (scripts).
pub const TOUCHES_ARBITRARY_KEYS: u32 = 1 << 22;
/// Its keys cannot be found from the legacy first/last/step range.
pub const MOVABLE_KEYS: u32 = 1 << 23;
/// Internal: locks every keyspace shard (whole-keyspace commands).
pub const ALL_SHARDS: u32 = 1 << 24;
/// Internal: handled by the dispatcher even inside MULTI (not queued).
pub const TX_CONTROL: u32 = 1 << 25;
/// Internal: may hold every shard for a long time (DEBUG SLEEP, scripts
/// later): enters through the keyspace's exclusive gate, so that other
/// workers wait for it (or answer BUSY) without blocking on a mutex.
pub const EXCLUSIVE: u32 = 1 << 26;
/// Internal: locks no keyspace shard, its key-spec arguments naming shard
/// channels, not keys (SSUBSCRIBE, SUNSUBSCRIBE, SPUBLISH).
pub const NO_KEYS: u32 = 1 << 27;
/// Every internal flag (what a binding may add to Redis's flags).
pub const INTERNAL: u32 = ALL_SHARDS | TX_CONTROL | EXCLUSIVE | NO_KEYS;

/// Names of the flags `COMMAND INFO` shows, in its order (Redis hides
/// may_replicate, sentinel, only_sentinel, protected and
/// touches_arbitrary_keys).
pub const NAMES: &[(u32, &str)] = &[
    (WRITE, "write"),
    (READONLY, "readonly"),
    (DENYOOM, "denyoom"),
    (ADMIN, "admin"),
    (PUBSUB, "pubsub"),
    (NOSCRIPT, "noscript"),
    (BLOCKING, "blocking"),
    (LOADING, "loading"),
    (STALE, "stale"),
    (SKIP_MONITOR, "skip_monitor"),
    (SKIP_SLOWLOG, "skip_slowlog"),
    (ASKING, "asking"),
    (FAST, "fast"),
    (NO_AUTH, "no_auth"),
    (NO_MANDATORY_KEYS, "no_mandatory_keys"),
    (NO_ASYNC_LOADING, "no_async_loading"),
    (NO_MULTI, "no_multi"),
    (MOVABLE_KEYS, "movablekeys"),
    (ALLOW_BUSY, "allow_busy"),
];
