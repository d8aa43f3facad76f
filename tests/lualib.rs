//! The script libraries (`src/lualib/`) against Redis 7.0.15's own: each
//! case is a Lua snippet run by redis-server through EVAL and by a local
//! mlua state with `lualib::register`; both wrap it in the same harness,
//! which returns whether it raised and every result (or the error) as
//! typed text, so results, number formats and error messages must match
//! byte for byte.

mod common;

use common::rng::XorShiftStar as Rng;
use common::{start_redis, RawClient};

/// Resets cjson's settings, runs `BODY` under pcall and spells its results: `ok|<value>|...` or
/// `err|<message>`; tables with their keys sorted.
const HARNESS: &str = r#"
-- Redis keeps one VM for every script: start each case from the defaults.
cjson.encode_sparse_array(false, 2, 10)
cjson.encode_max_depth(1000)
cjson.decode_max_depth(1000)
cjson.encode_number_precision(14)
cjson.encode_keep_buffer(true)
cjson.encode_invalid_numbers(false)
cjson.decode_invalid_numbers(true)
local function ser(v, depth)
  local t = type(v)
  if t == 'string' then return 's' .. #v .. ':' .. v
  elseif t == 'number' then return 'n' .. string.format('%.17g', v)
  elseif t == 'boolean' or t == 'nil' then return tostring(v)
  elseif t == 'userdata' then
    if v == cjson.null then return 'null' end
    return 'userdata'
  elseif t == 'table' then
    if depth > 40 then return '{...}' end
    local keys = {}
    for k in pairs(v) do keys[#keys + 1] = k end
    table.sort(keys, function(a, b)
      local ta, tb = type(a), type(b)
      if ta ~= tb then return ta < tb end
      if ta == 'number' or ta == 'string' then return a < b end
      return tostring(a) < tostring(b)
    end)
    local parts = {}
    for _, k in ipairs(keys) do
      parts[#parts + 1] = ser(k, depth + 1) .. '=' .. ser(v[k], depth + 1)
    end
    return '{' .. table.concat(parts, ',') .. '}'
  end
  return t
end
local function pk(...) return select('#', ...), {...} end
local n, r = pk(pcall(function()
BODY
end))
local out = {}
if r[1] then
  out[1] = 'ok'
  for i = 2, n do out[#out + 1] = ser(r[i], 0) end
else
  out[1] = 'err'
  out[2] = ser(r[2], 0)
end
return table.concat(out, '|')
"#;

fn script(body: &str) -> String {
    HARNESS.replace("BODY", body)
}

/// The harness run in-process.
fn local(body: &str) -> Vec<u8> {
    let lua = mlua::Lua::new();
    ferrodis::lualib::register(&lua).expect("register");
    let result: mlua::Result<mlua::LuaString> =
        lua.load(script(body)).set_name("@user_script").eval();
    match result {
        Ok(s) => s.as_bytes().to_vec(),
        Err(e) => format!("harness failed: {e}").into_bytes(),
    }
}

/// The harness run by redis-server.
fn remote(c: &mut RawClient, body: &str) -> Vec<u8> {
    let reply = c.cmd(&["EVAL", &script(body), "0"]);
    // A bulk string: "$<n>\r\n<payload>\r\n".
    match reply.iter().position(|&b| b == b'\n') {
        Some(i) if reply.first() == Some(&b'$') => reply[i + 1..reply.len() - 2].to_vec(),
        _ => format!("harness failed: {}", String::from_utf8_lossy(&reply)).into_bytes(),
    }
}

struct Compare {
    client: RawClient,
    _server: common::ServerProcess,
    cases: usize,
    failures: Vec<String>,
}

impl Compare {
    fn new() -> Compare {
        let server = start_redis(&[]);
        let client = RawClient::connect(server.port);
        Compare {
            client,
            _server: server,
            cases: 0,
            failures: Vec::new(),
        }
    }

    fn case(&mut self, body: &str) {
        self.cases += 1;
        let theirs = remote(&mut self.client, body);
        let ours = local(body);
        if theirs != ours {
            self.failures.push(format!(
                "case: {body}\n redis: {}\n  ours: {}",
                String::from_utf8_lossy(&theirs),
                String::from_utf8_lossy(&ours)
            ));
        }
        if self.cases % 500 == 0 {
            self.client.cmd(&["SCRIPT", "FLUSH"]);
        }
    }

    fn finish(self, at_least: usize) {
        assert!(self.cases >= at_least, "only {} cases", self.cases);
        assert!(
            self.failures.is_empty(),
            "{} of {} cases differ:\n{}",
            self.failures.len(),
            self.cases,
            self.failures
                .iter()
                .take(30)
                .cloned()
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}

/// A Lua string literal of arbitrary bytes.
fn lua_string(bytes: &[u8]) -> String {
    let mut s = String::from("\"");
    for &b in bytes {
        match b {
            b'a'..=b'z'
            | b'A'..=b'Z'
            | b'0'..=b'9'
            | b' '
            | b'_'
            | b'-'
            | b'.'
            | b'{'
            | b'}'
            | b'['
            | b']'
            | b':'
            | b',' => s.push(b as char),
            _ => s.push_str(&format!("\\{b}")),
        }
    }
    s.push('"');
    s
}

const CJSON_CASES: &[&str] = &[
    // encoding scalars
    "return cjson.encode(1)",
    "return cjson.encode(-0)",
    "return cjson.encode(0.1)",
    "return cjson.encode(1/3)",
    "return cjson.encode(-1/3)",
    "return cjson.encode(1e14)",
    "return cjson.encode(123456789012345)",
    "return cjson.encode(99999999999999)",
    "return cjson.encode(0.0001)",
    "return cjson.encode(0.00001)",
    "return cjson.encode(2^53)",
    "return cjson.encode(2^63)",
    "return cjson.encode(-2^63)",
    "return cjson.encode(1e308)",
    "return cjson.encode(5e-324)",
    "return cjson.encode(1/0)",
    "return cjson.encode(-1/0)",
    "return cjson.encode(0/0)",
    "return cjson.encode(true)",
    "return cjson.encode(false)",
    "return cjson.encode(nil)",
    "return cjson.encode(cjson.null)",
    "return cjson.encode('')",
    "return cjson.encode('a/b\\\\c\"d')",
    "return cjson.encode('\\0\\1\\2\\8\\9\\10\\11\\12\\13\\14\\31\\32\\127\\128\\255')",
    "return cjson.encode('héllo')",
    "return cjson.encode(string.len)",
    "return cjson.encode(coroutine.create(function() end))",
    "return cjson.encode()",
    "return cjson.encode(1, 2)",
    "local f = cjson.encode return f(1, 2)",
    "return pcall(cjson.encode, 1, 2)",
    "return cjson.encode({})",
    "return cjson.encode({1, 2, 3})",
    "return cjson.encode({1, nil, 3})",
    "return cjson.encode({[1] = 1, [2] = 2, [4] = 4})",
    "return cjson.encode({[1] = 'a', [11] = 'b'})",
    "return cjson.encode({[10] = 'a'})",
    "return cjson.encode({[11] = 'a'})",
    "return cjson.encode({[20] = 1, [19] = 1, [18] = 1, [17] = 1, [16] = 1, [15] = 1, [14] = 1, [13] = 1, [12] = 1, [11] = 1})",
    "return cjson.encode({[0] = 'a'})",
    "return cjson.encode({[-1] = 'a'})",
    "return cjson.encode({[1.5] = 'a'})",
    "return cjson.encode({[1] = 'a', x = 'b'})",
    "return cjson.encode({a = 1})",
    "return cjson.encode({a = {b = {c = {1, 2, {d = true}}}}})",
    "return cjson.encode({[true] = 1})",
    "return cjson.encode({[{}] = 1})",
    "return cjson.encode({[1/0] = 1})",
    "return cjson.encode({[2^40] = 1})",
    "return cjson.encode({[1e300] = 1})",
    "return cjson.encode({f = string.len})",
    "return cjson.encode({one = 1, two = 2, three = 3, four = 4, five = 5, six = 6})",
    "local t = {} for i = 1, 40 do t['k' .. i] = i end return cjson.encode(t)",
    "local t = {} for i = 1, 40 do t[i * 3] = i end return cjson.encode(t)",
    "local t = {} t[1] = t return cjson.encode(t)",
    "local t = {} local c = t for i = 1, 999 do c[1] = {} c = c[1] end return #cjson.encode(t)",
    "local t = {} local c = t for i = 1, 1000 do c[1] = {} c = c[1] end return cjson.encode(t)",
    "local t = {} local c = t for i = 1, 1000 do c.x = {} c = c.x end return cjson.encode(t)",
    // settings
    "return cjson.encode_sparse_array()",
    "return cjson.encode_sparse_array(true)",
    "return cjson.encode_sparse_array('on', 3, 5)",
    "return cjson.encode_sparse_array('bogus')",
    "return cjson.encode_sparse_array(1)",
    "return cjson.encode_sparse_array(nil, -1)",
    "return cjson.encode_sparse_array(nil, 'x')",
    "return cjson.encode_sparse_array(nil, nil, nil, nil)",
    "cjson.encode_sparse_array(true) return cjson.encode({[1] = 1, [100] = 2})",
    "cjson.encode_sparse_array(false, 0) return #cjson.encode({[1] = 1, [100] = 2})",
    "cjson.encode_sparse_array(false, 1, 0) return cjson.encode({[2] = 1})",
    "return cjson.encode_max_depth()",
    "return cjson.encode_max_depth(0)",
    "return cjson.encode_max_depth(5.7)",
    "return cjson.encode_max_depth('3')",
    "cjson.encode_max_depth(2) return cjson.encode({{1}})",
    "cjson.encode_max_depth(2) return cjson.encode({{{1}}})",
    "return cjson.decode_max_depth(2), cjson.decode('[[1]]')",
    "cjson.decode_max_depth(2) return cjson.decode('[[[1]]]')",
    "return cjson.encode_number_precision()",
    "return cjson.encode_number_precision(15)",
    "cjson.encode_number_precision(3) return cjson.encode({1/3, 1234567, 0.5})",
    "cjson.encode_number_precision(1) return cjson.encode(15)",
    "return cjson.encode_keep_buffer()",
    "return cjson.encode_keep_buffer(false), cjson.encode({1})",
    "return cjson.encode_keep_buffer('maybe')",
    "return cjson.encode_invalid_numbers()",
    "return cjson.encode_invalid_numbers('null'), cjson.encode({1/0, 0/0, -1/0})",
    "return cjson.encode_invalid_numbers(true), cjson.encode({1/0, 0/0, -1/0})",
    "return cjson.encode_invalid_numbers('on'), cjson.encode({[1/0] = 1})",
    "return cjson.encode_invalid_numbers('x')",
    "return cjson.decode_invalid_numbers()",
    "return cjson.decode_invalid_numbers(false), pcall(cjson.decode, '0x10')",
    "cjson.decode_invalid_numbers(false) return cjson.decode('[1, -0, 1e5, 1.5E-3]')",
    "cjson.decode_invalid_numbers(false) return cjson.decode('[+1]')",
    "cjson.decode_invalid_numbers(false) return cjson.decode('[01]')",
    "cjson.decode_invalid_numbers(false) return cjson.decode('NaN')",
    "cjson.decode_invalid_numbers(false) return cjson.decode('-inf')",
    "local j = cjson.new() j.encode_number_precision(2) return j.encode(1/3), cjson.encode(1/3)",
    "return cjson._NAME, cjson._VERSION, type(cjson.null), cjson.null == nil",
    "return cjson.new()._NAME, cjson.new().null == cjson.null",
    // decoding
    "return cjson.decode('1')",
    "return cjson.decode('  -12.5e2  ')",
    "return cjson.decode('\"abc\"')",
    "return cjson.decode('true'), cjson.decode('false')",
    "return cjson.decode('null')",
    "return cjson.decode('[]')",
    "return cjson.decode('{}')",
    "return cjson.decode('[1,2,[3,{\"a\":null}]]')",
    "return cjson.decode('{\"a\":1,\"b\":[true,false],\"c\":{\"d\":\"e\"}}')",
    "return cjson.decode('{\"a\":1,\"a\":2}')",
    "return cjson.decode('\"\\\\u0041\\\\u00e9\\\\u20ac\\\\ud83d\\\\ude00\"')",
    "return cjson.decode('\"\\\\u0000\"')",
    "return cjson.decode('\"\\\\ud83d\"')",
    "return cjson.decode('\"\\\\ude00\"')",
    "return cjson.decode('\"\\\\ud83d\\\\u0041\"')",
    "return cjson.decode('\"\\\\u12\"')",
    "return cjson.decode('\"\\\\uzzzz\"')",
    "return cjson.decode('\"\\\\x\"')",
    "return cjson.decode('\"\\\\/\\\\b\\\\f\\\\n\\\\r\\\\t\\\\\"\\\\\\\\\"')",
    "return cjson.decode('\"abc')",
    "return cjson.decode('\"a\\0b\"')",
    "return cjson.decode('1\\0garbage')",
    "return cjson.decode('\\0')",
    "return cjson.decode('a\\0')",
    "return cjson.decode('')",
    "return cjson.decode('   ')",
    "return cjson.decode('x')",
    "return cjson.decode('[1,]')",
    "return cjson.decode('[1 2]')",
    "return cjson.decode('{\"a\" 1}')",
    "return cjson.decode('{\"a\":1,}')",
    "return cjson.decode('{1:2}')",
    "return cjson.decode('{\"a\":1 \"b\":2}')",
    "return cjson.decode('[')",
    "return cjson.decode('{')",
    "return cjson.decode(']')",
    "return cjson.decode('1 2')",
    "return cjson.decode('tru')",
    "return cjson.decode('nul')",
    "return cjson.decode('-')",
    "return cjson.decode('--1')",
    "return cjson.decode('+5')",
    "return cjson.decode('0x1F')",
    "return cjson.decode('0x')",
    "return cjson.decode('0x1.8p1')",
    "return cjson.decode('007')",
    "return cjson.decode('1.')",
    "return cjson.decode('1e')",
    "return cjson.decode('1e400'), cjson.decode('-1e400')",
    "return cjson.decode('1e-400')",
    "return cjson.decode('inf'), cjson.decode('-Infinity'), cjson.decode('INF')",
    "return tostring(cjson.decode('nan')), tostring(cjson.decode('-nan'))",
    "return cjson.decode('nan(123)')",
    "return cjson.decode('infinit')",
    "return cjson.decode('12345678901234567890')",
    "return cjson.decode('0.1000000000000000055511151231257827')",
    "return cjson.decode(123)",
    "return cjson.decode()",
    "return cjson.decode({})",
    "return cjson.decode('1', 2)",
    "return cjson.decode('[1,[2,[3,[4]]]')",
    "return cjson.decode(string.rep('[', 1000) .. string.rep(']', 1000)) ~= nil",
    "return cjson.decode(string.rep('[', 1001) .. string.rep(']', 1001))",
    "return cjson.decode(string.rep('{\"a\":', 1001) .. '1' .. string.rep('}', 1001))",
    "return cjson.decode('  [ 1 , { \"k\" : [ ] } ] ')",
    "return cjson.decode('\\t\\r\\n1\\t\\r\\n')",
    "return cjson.decode('\\f1')",
    "return cjson.decode('[1,\\v2]')",
    "return cjson.encode(cjson.decode('{\"a\":[1,2,{\"b\":null}],\"c\":\"\\\\u00ff\"}'))",
    "return cjson.encode(cjson.decode('[\"\\\\/\"]'))",
];

#[test]
fn cjson_matches_redis() {
    let mut c = Compare::new();
    for case in CJSON_CASES {
        c.case(case);
    }
    c.finish(CJSON_CASES.len());
}
