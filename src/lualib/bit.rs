//! `bit`: LuaBitOp 1.0.2 as Redis bundles it. Every operand becomes a
//! 32-bit integer the way LuaBitOp does it on doubles (add 2^52 + 2^51 and
//! keep the low word of the bits, so values wrap modulo 2^32 and halves
//! round to even), and results are signed 32-bit numbers.

use mlua::{Lua, Table, Value};

use super::call::{self, function, one, to_number, Outcome};

/// Operand `narg` (1-based) as LuaBitOp reads it: anything `lua_tonumber`
/// takes; a zero from something that is not a number is a type error.
fn operand(lua: &Lua, args: &[Value], narg: usize) -> Outcome<u32> {
    let v = args.get(narg - 1);
    let n = v.and_then(|v| to_number(lua, v));
    let bits = (n.unwrap_or(0.0) + 6_755_399_441_055_744.0).to_bits() as u32;
    if bits == 0 && n.is_none() {
        return Err(call::type_error(lua, args, narg, "number"));
    }
    Ok(bits)
}

fn result(b: u32) -> Outcome<mlua::MultiValue> {
    one(Value::Number(b as i32 as f64))
}

/// Builds the `bit` table.
pub fn module(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.set(
        "tobit",
        function(lua, |lua, a| result(operand(lua, &a, 1)?))?,
    )?;
    t.set(
        "bnot",
        function(lua, |lua, a| result(!operand(lua, &a, 1)?))?,
    )?;
    type Fold = fn(u32, u32) -> u32;
    let folds: [(&str, Fold); 3] = [
        ("band", |x, y| x & y),
        ("bor", |x, y| x | y),
        ("bxor", |x, y| x ^ y),
    ];
    for (name, op) in folds {
        t.set(
            name,
            function(lua, move |lua, a| {
                let mut b = operand(lua, &a, 1)?;
                // LuaBitOp reads the operands from the last one down.
                for i in (2..=a.len()).rev() {
                    b = op(b, operand(lua, &a, i)?);
                }
                result(b)
            })?,
        )?;
    }
    let shifts: [(&str, Fold); 5] = [
        ("lshift", |b, n| b << n),
        ("rshift", |b, n| b >> n),
        ("arshift", |b, n| ((b as i32) >> n) as u32),
        ("rol", |b, n| b.rotate_left(n)),
        ("ror", |b, n| b.rotate_right(n)),
    ];
    for (name, op) in shifts {
        t.set(
            name,
            function(lua, move |lua, a| {
                let b = operand(lua, &a, 1)?;
                let n = operand(lua, &a, 2)? & 31;
                result(op(b, n))
            })?,
        )?;
    }
    t.set(
        "bswap",
        function(lua, |lua, a| result(operand(lua, &a, 1)?.swap_bytes()))?,
    )?;
    t.set(
        "tohex",
        function(lua, |lua, a| {
            let mut b = operand(lua, &a, 1)?;
            let mut n = if a.len() < 2 {
                8
            } else {
                operand(lua, &a, 2)? as i32
            };
            let digits: &[u8; 16] = if n < 0 {
                n = n.saturating_neg();
                b"0123456789ABCDEF"
            } else {
                b"0123456789abcdef"
            };
            // Redis's build prints 8 upper-case digits for -2^31 too.
            let n = n.clamp(0, 8) as usize;
            let mut buf = [0u8; 8];
            for slot in buf[..n].iter_mut().rev() {
                *slot = digits[(b & 15) as usize];
                b >>= 4;
            }
            one(Value::String(lua.create_string(&buf[..n])?))
        })?,
    )?;
    Ok(t)
}
