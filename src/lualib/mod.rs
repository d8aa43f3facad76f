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
    globals.set("cjson", cjson::module(lua)?)?;
    globals.set("cmsgpack", cmsgpack::module(lua)?)?;
    globals.set("struct", structlib::module(lua)?)?;
    globals.set("bit", bit::module(lua)?)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use mlua::{Lua, Value};

    /// Runs `code` in a fresh state with the libraries and returns its first
    /// result as text, or the error message (the libraries raise strings).
    fn run(code: &str) -> String {
        let lua = Lua::new();
        super::register(&lua).expect("register");
        let wrapped = format!(
            "local ok, r = pcall(function() {code} end) \
             if ok then return tostring(r) else return 'error: ' .. tostring(r) end"
        );
        match lua.load(wrapped).set_name("=t").eval::<Value>() {
            Ok(Value::String(s)) => s.to_string_lossy(),
            other => format!("unexpected: {other:?}"),
        }
    }

    #[test]
    fn cjson_encodes_and_decodes() {
        assert_eq!(run("return cjson.encode({1, 2, 'a/b'})"), "[1,2,\"a\\/b\"]");
        assert_eq!(run("return cjson.encode({})"), "{}");
        assert_eq!(run("return cjson.encode(1/3)"), "0.33333333333333");
        assert_eq!(
            run("return cjson.decode('[1,{\"a\":null}]')[2].a == cjson.null"),
            "true"
        );
        assert_eq!(
            run("return cjson.decode('[1,]')"),
            "error: t:1: Expected value but found T_ARR_END at character 4"
        );
        assert_eq!(
            run("return cjson.encode({[1] = 1, [100] = 1})"),
            "error: t:1: Cannot serialise table: excessively sparse array"
        );
    }

    #[test]
    fn errors_are_strings_with_the_callers_position() {
        // Called from Lua code: the position of the call, as luaL_error adds.
        assert_eq!(
            run("return cjson.encode()"),
            "error: t:1: bad argument #1 to 'encode' (expected 1 argument)"
        );
        // Called by pcall itself: no position and no function name.
        assert_eq!(
            run("local ok, e = pcall(struct.pack, 'q') return e"),
            "bad argument #1 to '?' (invalid format option 'q')"
        );
    }

    #[test]
    fn cmsgpack_round_trips_and_rejects_short_input() {
        assert_eq!(run("return #cmsgpack.pack(1, 'ab', {1, 2})"), "7");
        assert_eq!(
            run("return select(2, cmsgpack.unpack(cmsgpack.pack(1, 'ab')))"),
            "ab"
        );
        assert_eq!(
            run("local ok, e = pcall(cmsgpack.unpack, '\\219\\255\\255\\255\\255') return e"),
            "Missing bytes in input."
        );
        assert_eq!(
            run("local ok, e = pcall(cmsgpack.unpack, '\\193') return e"),
            "Bad data format in input."
        );
    }

    #[test]
    fn struct_and_bit() {
        assert_eq!(run("return struct.size('!bd')"), "16");
        assert_eq!(
            run("return select(2, struct.unpack('>i2i2', '\\1\\2\\3\\4'))"),
            "772"
        );
        assert_eq!(run("return bit.tohex(bit.bnot(0))"), "ffffffff");
        assert_eq!(run("return bit.tobit(2^32 + 3)"), "3");
        assert_eq!(run("return bit.arshift(-256, 4)"), "-16");
    }
}
