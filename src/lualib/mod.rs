//! The libraries Redis 7.0 bundles into its script VM — `cjson`, `cmsgpack`,
//! `struct` and `bit` — written in Rust on mlua, behaving as Redis 7.0.15's
//! copies do: the same results, number formats, limits and error texts.
//!
//! [`register`] installs them as globals in a Lua 5.1 state; the script VM
//! calls it once when it creates its state, before sandboxing the globals.
//! This module uses nothing else of the crate (see ARCHITECTURE.md, "Lua
//! libraries").

mod bit;
mod call;
mod cjson;
mod cmsgpack;
mod num;
mod structlib;

use mlua::Lua;

/// Installs the global tables `cjson`, `cmsgpack`, `struct` and `bit` in
/// `lua`, each as a fresh instance with Redis's default settings.
pub fn register(lua: &Lua) -> mlua::Result<()> {
    let globals = lua.globals();
    globals.set("cjson", cjson::instance(lua)?)?;
    globals.set("cmsgpack", cmsgpack::module(lua)?)?;
    globals.set("struct", structlib::module(lua)?)?;
    globals.set("bit", bit::module(lua)?)?;
    Ok(())
}
