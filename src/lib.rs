//! ferrodis: a Redis-compatible in-memory data store.
//!
//! Layers, from the socket inwards (see ARCHITECTURE.md):
//! [`protocol`] parses requests and [`reply`] encodes replies;
//! [`socket`] reads and writes a client's socket; [`connection`] runs one
//! client's read–execute–write loop;
//! [`cmd`] holds the command table and the commands, one module per family;
//! [`db`] is the sharded keyspace with expiry and WATCH;
//! [`types`] are the value types and their encodings; [`dict`] is the hash
//! table under them; [`server`] ties it together with [`config`] and [`log`];
//! [`lualib`] holds the Lua libraries scripts see (cjson, cmsgpack, struct, bit).

pub mod aof;
pub mod client;
pub mod cmd;
pub mod config;
pub mod connection;
pub mod crash;
pub mod db;
pub mod dict;
pub mod error;
pub mod gate;
pub mod idle_poll;
pub mod log;
pub mod lualib;
pub mod outbox;
pub mod pause;
pub mod protocol;
pub mod pubsub;
pub mod rdb;
pub mod reply;
pub mod script;
pub mod server;
pub mod snapshot;
pub mod socket;
pub mod state;
pub mod types;
pub mod util;
