//! The pub/sub registry: who is subscribed to which channel, pattern and
//! shard channel, and the delivery of published messages to their
//! outbound queues.
//!
//! It sits below the keyspace so that the keyspace's event sink can
//! publish keyspace notifications into it; subscribers are reached only
//! through the [`Receiver`] trait (the client registry implements it), so
//! nothing here names a layer above.
//!
//! **One global order.** The whole registry is behind one mutex, and a
//! publisher holds it while it queues the message for every receiver, so
//! two messages reach all their common subscribers in the same order,
//! whichever worker published them. Subscribing and unsubscribing take the
//! same lock, so a message is delivered to exactly the clients subscribed
//! when it was published. Pushing only appends to the receiver's queue (its
//! own connection writes it), so a subscriber that cannot keep up slows no
//! one: its class's output limit closes it.
//!
//! **Cheap frames.** A message is encoded once per protocol (RESP2 `*3`,
//! RESP3 `>3`; once per protocol and pattern for `pmessage`), lazily, and
//! shared by every receiver as reference-counted [`Bytes`].

use crate::outbox::OutputLimits;
use bytes::Bytes;
use parking_lot::{Mutex, MutexGuard};
use std::sync::Arc;

/// The registry's tables hash with foldhash, randomly seeded per table.
type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
type HashSet<K> = std::collections::HashSet<K, foldhash::fast::RandomState>;

/// A subscriber as the registry sees it.
pub trait Receiver: Send + Sync {
    /// The client's id.
    fn id(&self) -> u64;
    /// True if the client speaks RESP3 (frames are pushes, `>`), else RESP2.
    fn resp3(&self) -> bool;
    /// Queues an encoded frame for the client, enforcing its output limits
    /// (which may close it).
    fn deliver(&self, frame: Bytes, limits: &OutputLimits);
    /// The client's channel, pattern and shard-channel counts changed.
    fn set_counts(&self, counts: [usize; 3]);
}

/// A receiver as the registry holds it.
pub type Sub = Arc<dyn Receiver>;

/// Which of the three subscription spaces a command works on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Space {
    /// SUBSCRIBE / UNSUBSCRIBE / PUBLISH.
    Channels,
    /// PSUBSCRIBE / PUNSUBSCRIBE.
    Patterns,
    /// SSUBSCRIBE / SUNSUBSCRIBE / SPUBLISH.
    Shard,
}

/// What one client is subscribed to.
struct ClientSubs {
    who: Sub,
    channels: HashSet<Bytes>,
    /// Patterns in subscription order (PUNSUBSCRIBE without arguments
    /// answers in this order, as Redis does).
    patterns: Vec<Bytes>,
    shard: HashSet<Bytes>,
}

impl ClientSubs {
    fn counts(&self) -> [usize; 3] {
        [self.channels.len(), self.patterns.len(), self.shard.len()]
    }

    /// The count a confirmation of `space` reports: channels and patterns
    /// together, or shard channels alone.
    fn reported(&self, space: Space) -> usize {
        match space {
            Space::Shard => self.shard.len(),
            _ => self.channels.len() + self.patterns.len(),
        }
    }
}

/// The registry's tables (see [`PubSub::lock`]).
#[derive(Default)]
pub struct Registry {
    channels: HashMap<Bytes, Vec<Sub>>,
    patterns: HashMap<Bytes, Vec<Sub>>,
    shard: HashMap<Bytes, Vec<Sub>>,
    clients: HashMap<u64, ClientSubs>,
}

/// The server's pub/sub registry.
pub struct PubSub {
    registry: Mutex<Registry>,
    /// The output limits subscribers are held to (shared with the hot
    /// configuration).
    limits: Arc<OutputLimits>,
}

impl PubSub {
    /// An empty registry enforcing `limits`.
    pub fn new(limits: Arc<OutputLimits>) -> PubSub {
        PubSub {
            registry: Mutex::new(Registry::default()),
            limits,
        }
    }

    /// Locks the registry: every change and every delivery happens under
    /// this one lock (see the module docs).
    pub fn lock(&self) -> Publisher<'_> {
        Publisher {
            registry: self.registry.lock(),
            limits: &self.limits,
        }
    }

    /// Publishes `message` on `channel` (or shard channel): the number of
    /// receivers.
    pub fn publish(&self, space: Space, channel: &[u8], message: &[u8]) -> usize {
        self.lock().publish(space, channel, message)
    }

    /// Drops every subscription of client `id` (a closed connection, RESET).
    pub fn forget(&self, id: u64) {
        self.lock().forget(id);
    }

    /// Channels, patterns and shard channels with at least one subscriber
    /// (INFO's `pubsub_channels`, `pubsub_patterns`, `pubsubshard_channels`).
    pub fn counts(&self) -> [usize; 3] {
        let r = self.registry.lock();
        [r.channels.len(), r.patterns.len(), r.shard.len()]
    }
}

/// The locked registry.
pub struct Publisher<'a> {
    registry: MutexGuard<'a, Registry>,
    limits: &'a OutputLimits,
}

impl Publisher<'_> {
    fn table(&mut self, space: Space) -> &mut HashMap<Bytes, Vec<Sub>> {
        match space {
            Space::Channels => &mut self.registry.channels,
            Space::Patterns => &mut self.registry.patterns,
            Space::Shard => &mut self.registry.shard,
        }
    }

    /// Subscribes `who` to `name` in `space` (nothing changes if it is
    /// subscribed already); the count its confirmation reports.
    pub fn subscribe(&mut self, who: &Sub, space: Space, name: &Bytes) -> usize {
        let id = who.id();
        let subs = self
            .registry
            .clients
            .entry(id)
            .or_insert_with(|| ClientSubs {
                who: who.clone(),
                channels: HashSet::default(),
                patterns: Vec::new(),
                shard: HashSet::default(),
            });
        let added = match space {
            Space::Channels => subs.channels.insert(name.clone()),
            Space::Shard => subs.shard.insert(name.clone()),
            Space::Patterns => {
                let new = !subs.patterns.contains(name);
                if new {
                    subs.patterns.push(name.clone());
                }
                new
            }
        };
        let (reported, counts) = (subs.reported(space), subs.counts());
        if added {
            who.set_counts(counts);
            let who = who.clone();
            self.table(space).entry(name.clone()).or_default().push(who);
        }
        reported
    }

    /// Unsubscribes client `id` from `name` in `space` (nothing changes if
    /// it was not subscribed); the count its confirmation reports.
    pub fn unsubscribe(&mut self, id: u64, space: Space, name: &[u8]) -> usize {
        let Some(subs) = self.registry.clients.get_mut(&id) else {
            return 0;
        };
        let removed = match space {
            Space::Channels => subs.channels.remove(name),
            Space::Shard => subs.shard.remove(name),
            Space::Patterns => {
                let before = subs.patterns.len();
                subs.patterns.retain(|p| &p[..] != name);
                subs.patterns.len() != before
            }
        };
        let (reported, counts) = (subs.reported(space), subs.counts());
        if removed {
            subs.who.set_counts(counts);
            if counts == [0; 3] {
                self.registry.clients.remove(&id);
            }
            let table = self.table(space);
            if let Some(list) = table.get_mut(name) {
                list.retain(|s| s.id() != id);
                if list.is_empty() {
                    table.remove(name);
                }
            }
        }
        reported
    }

    /// What client `id` is subscribed to in `space`, in the order an
    /// argument-less unsubscribe answers.
    pub fn subscribed(&self, id: u64, space: Space) -> Vec<Bytes> {
        let Some(subs) = self.registry.clients.get(&id) else {
            return Vec::new();
        };
        match space {
            Space::Channels => subs.channels.iter().cloned().collect(),
            Space::Patterns => subs.patterns.clone(),
            Space::Shard => subs.shard.iter().cloned().collect(),
        }
    }

    /// The count a confirmation of `space` reports for client `id`.
    pub fn count(&self, id: u64, space: Space) -> usize {
        self.registry
            .clients
            .get(&id)
            .map_or(0, |subs| subs.reported(space))
    }

    /// The channels (or shard channels) with subscribers, those matching
    /// `pattern` if given (PUBSUB CHANNELS / SHARDCHANNELS).
    pub fn channels(&self, space: Space, pattern: Option<&[u8]>) -> Vec<Bytes> {
        let table = match space {
            Space::Shard => &self.registry.shard,
            _ => &self.registry.channels,
        };
        table
            .keys()
            .filter(|c| pattern.is_none_or(|p| crate::util::glob::glob_match(p, c)))
            .cloned()
            .collect()
    }

    /// How many clients are subscribed to `name` in `space` (PUBSUB
    /// NUMSUB / SHARDNUMSUB; patterns are not counted).
    pub fn subscribers(&self, space: Space, name: &[u8]) -> usize {
        let table = match space {
            Space::Shard => &self.registry.shard,
            Space::Patterns => &self.registry.patterns,
            Space::Channels => &self.registry.channels,
        };
        table.get(name).map_or(0, Vec::len)
    }

    /// Drops every subscription of client `id`, without confirmations.
    pub fn forget(&mut self, id: u64) {
        for space in [Space::Channels, Space::Patterns, Space::Shard] {
            for name in self.subscribed(id, space) {
                self.unsubscribe(id, space, &name);
            }
        }
    }

    /// Queues `message` for every client subscribed to `channel` in
    /// `space` and, for a plain channel, every client subscribed to a
    /// matching pattern; the number of deliveries (a client matching by
    /// two patterns counts twice, as in Redis).
    pub fn publish(&mut self, space: Space, channel: &[u8], message: &[u8]) -> usize {
        let limits = self.limits;
        let registry = &*self.registry;
        let mut receivers = 0;
        let (table, kind): (_, &[u8]) = match space {
            Space::Shard => (&registry.shard, b"smessage"),
            _ => (&registry.channels, b"message"),
        };
        if let Some(list) = table.get(channel) {
            let mut frames = Frames::default();
            for s in list {
                let frame = frames.get(s.resp3(), |f| message_frame(f, kind, channel, message));
                s.deliver(frame, limits);
            }
            receivers += list.len();
        }
        if space == Space::Shard {
            return receivers;
        }
        for (pattern, list) in &registry.patterns {
            if !crate::util::glob::glob_match(pattern, channel) {
                continue;
            }
            let mut frames = Frames::default();
            for s in list {
                let frame = frames.get(s.resp3(), |f| {
                    encode(f, &[b"pmessage", pattern, channel, message]);
                });
                s.deliver(frame, limits);
            }
            receivers += list.len();
        }
        receivers
    }
}

/// A message's frames, encoded on first use for each protocol.
#[derive(Default)]
struct Frames {
    resp2: Option<Bytes>,
    resp3: Option<Bytes>,
}

impl Frames {
    fn get(&mut self, resp3: bool, fill: impl FnOnce(&mut Vec<u8>)) -> Bytes {
        let slot = if resp3 {
            &mut self.resp3
        } else {
            &mut self.resp2
        };
        slot.get_or_insert_with(|| {
            let mut f = Vec::new();
            fill(&mut f);
            if resp3 {
                // The RESP3 form is the RESP2 one as a push.
                f[0] = b'>';
            }
            Bytes::from(f)
        })
        .clone()
    }
}

/// Writes a RESP2 array of bulk strings (the caller makes it a push).
fn encode(out: &mut Vec<u8>, parts: &[&[u8]]) {
    out.reserve(16 + parts.iter().map(|p| p.len() + 16).sum::<usize>());
    out.push(b'*');
    crate::reply::push_i64(out, parts.len() as i64);
    out.extend_from_slice(b"\r\n");
    for p in parts {
        out.push(b'$');
        crate::reply::push_i64(out, p.len() as i64);
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(p);
        out.extend_from_slice(b"\r\n");
    }
}

/// Writes a `[kind, channel, message]` frame in RESP2 form.
fn message_frame(out: &mut Vec<u8>, kind: &[u8], channel: &[u8], message: &[u8]) {
    encode(out, &[kind, channel, message]);
}

/// The frame of a pub/sub `message` on `channel` with a bulk payload, as
/// a RESP3 push or a RESP2 array, for a message sent to one client outside
/// any subscription.
pub fn message(resp3: bool, channel: &[u8], payload: &[u8]) -> Bytes {
    let mut f = Vec::new();
    message_frame(&mut f, b"message", channel, payload);
    if resp3 {
        f[0] = b'>';
    }
    Bytes::from(f)
}

/// [`message`] with a payload already RESP-encoded (client tracking's
/// `__redis__:invalidate` carries an array of keys, or a null).
pub fn message_with(resp3: bool, channel: &[u8], encoded_payload: &[u8]) -> Bytes {
    let mut f = Vec::with_capacity(32 + channel.len() + encoded_payload.len());
    f.extend_from_slice(if resp3 { b">3\r\n" } else { b"*3\r\n" });
    f.extend_from_slice(b"$7\r\nmessage\r\n$");
    crate::reply::push_i64(&mut f, channel.len() as i64);
    f.extend_from_slice(b"\r\n");
    f.extend_from_slice(channel);
    f.extend_from_slice(b"\r\n");
    f.extend_from_slice(encoded_payload);
    Bytes::from(f)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct Client {
        id: u64,
        resp3: bool,
        got: Mutex<Vec<Bytes>>,
        counts: Mutex<[usize; 3]>,
    }

    impl Receiver for Client {
        fn id(&self) -> u64 {
            self.id
        }
        fn resp3(&self) -> bool {
            self.resp3
        }
        fn deliver(&self, frame: Bytes, _: &OutputLimits) {
            self.got.lock().push(frame);
        }
        fn set_counts(&self, counts: [usize; 3]) {
            *self.counts.lock() = counts;
        }
    }

    fn client(id: u64, resp3: bool) -> Arc<Client> {
        Arc::new(Client {
            id,
            resp3,
            got: Mutex::new(Vec::new()),
            counts: Mutex::new([0; 3]),
        })
    }

    #[test]
    fn delivers_to_channels_and_patterns_and_counts() {
        let ps = PubSub::new(Arc::default());
        let (a, b) = (client(1, false), client(2, true));
        let (sa, sb): (Sub, Sub) = (a.clone(), b.clone());
        {
            let mut r = ps.lock();
            assert_eq!(r.subscribe(&sa, Space::Channels, &Bytes::from("ch")), 1);
            assert_eq!(r.subscribe(&sa, Space::Channels, &Bytes::from("ch")), 1);
            assert_eq!(r.subscribe(&sa, Space::Patterns, &Bytes::from("c*")), 2);
            assert_eq!(r.subscribe(&sb, Space::Patterns, &Bytes::from("c*")), 1);
            assert_eq!(r.subscribe(&sb, Space::Shard, &Bytes::from("ch")), 1);
        }
        assert_eq!(*a.counts.lock(), [1, 1, 0]);
        assert_eq!(ps.counts(), [1, 1, 1]);
        assert_eq!(ps.publish(Space::Channels, b"ch", b"hi"), 3);
        assert_eq!(ps.publish(Space::Shard, b"ch", b"s"), 1);
        assert_eq!(ps.publish(Space::Channels, b"x", b"no"), 0);
        let a_got = a.got.lock().clone();
        assert_eq!(
            a_got,
            [
                Bytes::from("*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n"),
                Bytes::from("*4\r\n$8\r\npmessage\r\n$2\r\nc*\r\n$2\r\nch\r\n$2\r\nhi\r\n"),
            ]
        );
        let b_got = b.got.lock().clone();
        assert_eq!(
            b_got,
            [
                Bytes::from(">4\r\n$8\r\npmessage\r\n$2\r\nc*\r\n$2\r\nch\r\n$2\r\nhi\r\n"),
                Bytes::from(">3\r\n$8\r\nsmessage\r\n$2\r\nch\r\n$1\r\ns\r\n"),
            ]
        );
        assert_eq!(ps.lock().unsubscribe(1, Space::Channels, b"ch"), 1);
        assert_eq!(ps.lock().unsubscribe(1, Space::Channels, b"ch"), 1);
        ps.forget(2);
        assert_eq!(*b.counts.lock(), [0; 3]);
        assert_eq!(ps.counts(), [0, 1, 0]);
        ps.forget(1);
        assert_eq!(ps.counts(), [0, 0, 0]);
        assert!(ps.registry.lock().clients.is_empty());
    }

    #[test]
    fn one_order_for_every_subscriber_across_threads() {
        let ps = Arc::new(PubSub::new(Arc::default()));
        let subs: Vec<Arc<Client>> = (0..4).map(|i| client(i, i % 2 == 1)).collect();
        for s in &subs {
            let s: Sub = s.clone();
            ps.lock().subscribe(&s, Space::Channels, &Bytes::from("c"));
        }
        let sent = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..2)
            .map(|t| {
                let (ps, sent) = (ps.clone(), sent.clone());
                std::thread::spawn(move || {
                    for i in 0..500 {
                        ps.publish(Space::Channels, b"c", format!("{t}-{i}").as_bytes());
                        sent.fetch_add(1, Ordering::Relaxed);
                    }
                })
            })
            .collect();
        threads
            .into_iter()
            .for_each(|t| t.join().expect("publisher"));
        // Every subscriber saw the same sequence (the frames differ only
        // in their first byte between the protocols).
        let seq =
            |c: &Client| -> Vec<Vec<u8>> { c.got.lock().iter().map(|f| f[1..].to_vec()).collect() };
        let first = seq(&subs[0]);
        assert_eq!(first.len(), 1000);
        for s in &subs[1..] {
            assert_eq!(seq(s), first);
        }
    }

    #[test]
    fn single_message_frame() {
        assert_eq!(
            &message(false, b"__redis__:invalidate", b"k")[..],
            b"*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n$1\r\nk\r\n"
        );
        assert_eq!(message(true, b"c", b"m")[0], b'>');
        assert_eq!(
            &message_with(false, b"c", b"*1\r\n$1\r\nk\r\n")[..],
            b"*3\r\n$7\r\nmessage\r\n$1\r\nc\r\n*1\r\n$1\r\nk\r\n"
        );
        assert_eq!(message_with(true, b"c", b"_\r\n")[0], b'>');
    }
}
