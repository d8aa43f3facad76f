//! Lua scripting: EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT, compared
//! byte for byte with redis-server in RESP2 and RESP3 (conversions, error
//! texts, the sandbox, shebang flags, read-only scripts, the cache), then
//! what only ferrodis can show: BUSY and SCRIPT KILL across two workers,
//! atomicity against the other worker, and the AOF holding a script's
//! effects.

mod common;

use common::*;
use std::time::{Duration, Instant};

#[test]
fn conversions_and_errors_match_redis() {
    let n = differential(|p| {
        p.script(
            r##"
            EVAL "return 1" 0
            EVAL "return 3.99" 0
            EVAL "return -3.99" 0
            EVAL "return 'x'" 0
            EVAL "return {1,2,3,'a',nil,4}" 0
            EVAL "return {1,{2,{3,'x'}},'y'}" 0
            EVAL "return true" 0
            EVAL "return false" 0
            EVAL "return nil" 0
            EVAL "return {ok='FINE'}" 0
            EVAL "return {err='MY error'}" 0
            EVAL "return {err='x'}" 0
            EVAL "return redis.error_reply('My Error')" 0
            EVAL "return redis.error_reply('-CODE with code')" 0
            EVAL "return redis.status_reply('STATUS')" 0
            EVAL "return redis.error_reply(1)" 0
            EVAL "return {double=3.5}" 0
            EVAL "return {big_number='123456789012345678901234567890'}" 0
            EVAL "return {map={a=1}}" 0
            EVAL "return {set={a=true}}" 0
            EVAL "return {verbatim_string={format='txt',string='hi'}}" 0
            EVAL "redis.setresp(3); return true" 0
            EVAL "redis.setresp(3); return false" 0
            EVAL "return KEYS[1]..ARGV[1]..#KEYS..#ARGV" 1 a b
            EVAL "return redis.call('set',KEYS[1],'v')" 1 k
            EVAL "return redis.call('get',KEYS[1])" 1 k
            EVAL "return redis.call('get','missing')" 0
            EVAL "return redis.call('incr', 'n')" 0
            EVAL "return redis.call('incrbyfloat', 'f', 0.1)" 0
            EVAL "return redis.call('set', 'num', 1.5)" 0
            EVAL "return redis.call('get', 'num')" 0
            EVAL "return redis.call('lpush',KEYS[1],'x')" 1 k
            EVAL "return redis.pcall('lpush',KEYS[1],'x')" 1 k
            EVAL "local r = redis.pcall('lpush',KEYS[1],'x'); return r['err']" 1 k
            EVAL "return redis.call('hset','h','a','1','b','2')" 0
            EVAL "return redis.call('hgetall','h')" 0
            EVAL "redis.setresp(3); return redis.call('hgetall','h')" 0
            EVAL "redis.setresp(3); local t = redis.call('hgetall','h'); return t.map.a" 0
            EVAL "return redis.call('sadd','s','m')" 0
            EVAL "redis.setresp(3); return redis.call('smembers','s')" 0
            EVAL "redis.setresp(3); return redis.call('get','missing') == nil" 0
            EVAL "redis.setresp(3); return redis.call('zadd','z','1.5','m')" 0
            EVAL "redis.setresp(3); return redis.call('zscore','z','m')" 0
            EVAL "return redis.call('zscore','z','m')" 0
            EVAL "return redis.call('ping')" 0
            EVAL "return redis.call('select', 5)" 0
            EVAL "return redis.call('nosuch')" 0
            EVAL "return redis.call('get')" 0
            EVAL "return redis.call()" 0
            EVAL "return redis.call({})" 0
            EVAL "return redis.call('eval','return 1','0')" 0
            EVAL "return redis.call('multi')" 0
            EVAL "return redis.pcall('nosuch')" 0
            EVAL "error('boom')" 0
            EVAL "error({err='MY err'})" 0
            EVAL "error()" 0
            EVAL "local ok, e = pcall(function() redis.call('nosuch') end); return e" 0
            EVAL "return pcall(function() error({err='x'}) end)" 0
            EVAL "return redis.setresp(4)" 0
            EVAL "return redis.sha1hex('')" 0
            EVAL "return redis.sha1hex()" 0
            EVAL "return redis.REDIS_VERSION" 0
            EVAL "return redis.REDIS_VERSION_NUM" 0
            EVAL "return redis.log(redis.LOG_WARNING, 'from a script')" 0
            EVAL "return redis.log(9, 'x')" 0
            EVAL "return redis.log(1)" 0
            EVAL "return redis.set_repl(redis.REPL_ALL)" 0
            EVAL "return redis.set_repl(99)" 0
            EVAL "return redis.breakpoint()" 0
            EVAL "return redis.debug('x')" 0
            EVAL "return redis.replicate_commands()" 0
            EVAL "return redis.LOG_NOTICE + redis.REPL_REPLICA" 0
            EVAL "return 1" 2 a
            EVAL "return 1" -1
            EVAL "return 1" x
            EVAL "return 1 +" 0
            EVALSHA ffffffffffffffffffffffffffffffffffffffff 0
            EVALSHA short 0
            "##,
        );
    });
    assert!(n > 150, "compared {n}");
}

#[test]
fn the_sandbox_matches_redis() {
    differential(|p| {
        p.script(
            r##"
            EVAL "a = 5" 0
            EVAL "return x" 0
            EVAL "string.x = 1" 0
            EVAL "redis.call = nil" 0
            EVAL "rawset(_G, 'x', 1)" 0
            EVAL "setmetatable(_G, nil)" 0
            EVAL "setmetatable(_G, {})" 0
            EVAL "local g = getmetatable(_G); g.__index = {}" 0
            EVAL "_G = {}" 0
            EVAL "redis = function() return 1 end" 0
            EVAL "return x" 0
            EVAL "return loadstring(string.dump(function() return 1 end))()" 0
            EVAL "return loadstring('return 7')()" 0
            EVAL "local i = 0; return load(function() i = i + 1; if i == 1 then return 'return 8' end end)()" 0
            EVAL "return _G" 0
            EVAL "return {unpack({1,2,3}, -2, 2147483647)}" 0
            EVAL "return {unpack({1,2,3}, 0, 2147483647)}" 0
            EVAL "return {unpack({1,2,3}, -2147483648, -2)}" 0
            EVAL "return {unpack({1,2,3}, -1, -2)}" 0
            EVAL "return {unpack({1,2,3}, 2)}" 0
            EVAL "getmetatable('').__index = function() return 1 end" 0
            EVAL "return ('abc'):upper()" 0
            EVAL "return loadfile" 0
            EVAL "return dofile" 0
            EVAL "return print" 0
            EVAL "return os" 0
            EVAL "return io" 0
            EVAL "return debug" 0
            EVAL "return getfenv" 0
            EVAL "return type(loadstring)..type(pcall)..type(coroutine)..type(table.concat)" 0
            EVAL "return ('x'):rep(3)" 0
            EVAL "return string.format('%d-%s', 7, 'x')" 0
            EVAL "return math.floor(3.7)" 0
            EVAL "return tostring(nil)" 0
            EVAL "local t = {} t.x = 1 return t.x" 0
            EVAL "KEYS[1] = 'changed' return KEYS[1]" 1 k
            EVAL "math.randomseed(7); return {math.random(100), math.random(1, 10)}" 0
            EVAL "math.randomseed(7); return tostring(math.random())" 0
            EVAL "return math.random(0)" 0
            "##,
        );
    });
}

#[test]
fn flags_read_only_scripts_and_the_cache_match_redis() {
    differential(|p| {
        p.script(
            r##"
            EVAL "#!lua flags=no-writes\nreturn redis.call('set','a','b')" 0
            EVAL_RO "return redis.call('set','a','b')" 0
            EVAL_RO "return redis.call('publish','ch','m')" 0
            EVAL_RO "return redis.call('get','a')" 0
            EVAL "#!lua\nreturn redis.call('set','a','b')" 0
            EVAL_RO "#!lua\nreturn 1" 0
            EVAL_RO "#!lua flags=no-writes\nreturn 1" 0
            EVAL "#!lua flags=no-writes,allow-oom,allow-stale,no-cluster,allow-cross-slot-keys\nreturn 2" 0
            EVAL "#!lua flags=foo\nreturn 1" 0
            EVAL "#!lua name=x\nreturn 1" 0
            EVAL "#!python\nreturn 1" 0
            EVAL "#!lua" 0
            EVAL "#!lua\nerror('line two')" 0
            SCRIPT LOAD "return 'loaded'"
            EVALSHA 6ae1af5a6d1d8e1a4fc5dcb4ba0f08a6e02bfe1a 0
            EVALSHA 6AE1AF5A6D1D8E1A4FC5DCB4BA0F08A6E02BFE1A 0
            EVALSHA_RO 6ae1af5a6d1d8e1a4fc5dcb4ba0f08a6e02bfe1a 0
            SCRIPT EXISTS 6ae1af5a6d1d8e1a4fc5dcb4ba0f08a6e02bfe1a ffffffffffffffffffffffffffffffffffffffff
            SCRIPT LOAD "return +"
            SCRIPT FLUSH
            SCRIPT EXISTS 6ae1af5a6d1d8e1a4fc5dcb4ba0f08a6e02bfe1a
            EVALSHA 6ae1af5a6d1d8e1a4fc5dcb4ba0f08a6e02bfe1a 0
            SCRIPT FLUSH ASYNC
            SCRIPT FLUSH SYNC
            SCRIPT FLUSH bad
            SCRIPT KILL
            SCRIPT NOSUCH
            EVAL "return redis.call('blpop','nolist',0)" 0
            SADD myset d a c b e f g h i
            EVAL "return redis.call('sort','myset','by','_')" 0
            EVAL "return redis.call('sort','myset','by','_','get','#')" 0
            MULTI
            EVAL "return redis.call('incr','inmulti')" 0
            EVAL "return redis.call('incr','inmulti')" 0
            EXEC
            "##,
        );
    });
}

/// Three connections: the first on worker 0, the others on worker 1.
fn on_two_workers(port: u16) -> (RawClient, RawClient, RawClient) {
    let mut clients = [0, 1, 1].map(|worker| {
        let mut c = RawClient::connect(port);
        let want = format!(":{worker}\r\n");
        assert_eq!(c.text(&["DEBUG", "WORKER", &worker.to_string()]), want);
        c
    });
    for (c, worker) in clients.iter_mut().zip([0, 1, 1]) {
        assert_eq!(c.text(&["DEBUG", "WORKER"]), format!(":{worker}\r\n"));
    }
    let [a, b, c] = clients;
    (a, b, c)
}

const BUSY: &str =
    "-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.\r\n";

/// Waits until `client` gets BUSY for a GET (the script passed the
/// threshold).
fn wait_busy(client: &mut RawClient) {
    let start = Instant::now();
    loop {
        let reply = client.text(&["GET", "k"]);
        if reply.starts_with("-BUSY ") {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "never busy: {reply}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn script_kill_and_busy_across_workers() {
    let server = start_ferrodis(&["--busy-reply-threshold", "100"]);
    let (mut holder, mut other, mut third) = on_two_workers(server.port);
    assert_eq!(
        other.text(&["SCRIPT", "KILL"]),
        "-NOTBUSY No scripts in execution right now.\r\n"
    );
    holder.send_raw(&RawClient::encode(&[b"EVAL", b"while true do end", b"0"]));
    wait_busy(&mut other);
    assert_eq!(third.text(&["PING"]), BUSY);
    assert_eq!(other.text(&["SCRIPT", "KILL"]), "+OK\r\n");
    let killed = String::from_utf8_lossy(&holder.read_reply()).into_owned();
    assert!(
        killed.starts_with("-ERR Script killed by user with SCRIPT KILL... script: "),
        "{killed}"
    );
    assert_eq!(other.text(&["SET", "k", "after"]), "+OK\r\n");
    // A script that wrote cannot be killed; it also made no progress
    // visible to the other worker while it ran.
    holder.send_raw(&RawClient::encode(&[
        b"EVAL",
        b"redis.call('set', KEYS[1], 'inside') while true do end",
        b"1",
        b"k",
    ]));
    wait_busy(&mut other);
    assert!(other
        .text(&["SCRIPT", "KILL"])
        .starts_with("-UNKILLABLE Sorry the script already executed write commands"));
    // SHUTDOWN NOSAVE still works.
    assert_eq!(third.cmd(&["SHUTDOWN", "NOSAVE"]), b"");
    assert_eq!(holder.read_reply(), b"");
}

/// Connections on one worker: `n` of them on worker 0.
fn on_worker_zero<const N: usize>(port: u16) -> [RawClient; N] {
    std::array::from_fn(|_| {
        let mut c = RawClient::connect(port);
        assert_eq!(c.text(&["DEBUG", "WORKER", "0"]), ":0\r\n");
        c
    })
}

#[test]
fn busy_and_kill_on_the_scripts_own_worker() {
    let server = start_ferrodis(&["--busy-reply-threshold", "50"]);
    let [mut holder, mut same, mut third, mut killer] = on_worker_zero::<4>(server.port);
    // The script, and a request pipelined behind it on its own connection.
    let mut pipeline = RawClient::encode(&[b"EVAL", b"while true do end", b"0"]);
    pipeline.extend_from_slice(&RawClient::encode(&[b"PING"]));
    holder.send_raw(&pipeline);
    wait_busy(&mut same);
    assert_eq!(same.text(&["PING"]), BUSY);
    assert_eq!(
        same.text(&["NOSUCHCOMMAND"]).split(',').next(),
        Some("-ERR unknown command 'NOSUCHCOMMAND'")
    );
    assert_eq!(
        same.text(&["GET"]),
        "-ERR wrong number of arguments for 'get' command\r\n"
    );
    // A pipeline gets its BUSY replies in order; MULTI (allowed while
    // busy) and what follows it wait for the script; so does half a
    // request on another connection.
    let mut batch = RawClient::encode(&[b"SET", b"k", b"v"]);
    batch.extend_from_slice(&RawClient::encode(&[b"MULTI"]));
    batch.extend_from_slice(&RawClient::encode(&[b"INCR", b"n"]));
    batch.extend_from_slice(&RawClient::encode(&[b"EXEC"]));
    same.send_raw(&batch);
    assert_eq!(String::from_utf8_lossy(&same.read_reply()), BUSY);
    let half = RawClient::encode(&[b"ECHO", b"split across the script"]);
    let (first, rest) = half.split_at(12);
    third.send_raw(first);
    std::thread::sleep(Duration::from_millis(20));
    // SCRIPT KILL from the script's own worker ends it.
    assert_eq!(killer.text(&["SCRIPT", "KILL"]), "+OK\r\n");
    let killed = String::from_utf8_lossy(&holder.read_reply()).into_owned();
    assert!(
        killed.starts_with("-ERR Script killed by user with SCRIPT KILL"),
        "{killed}"
    );
    assert_eq!(holder.read_reply(), b"+PONG\r\n");
    assert_eq!(same.read_reply(), b"+OK\r\n");
    assert_eq!(same.read_reply(), b"+QUEUED\r\n");
    assert_eq!(same.read_reply(), b"*1\r\n:1\r\n");
    third.send_raw(rest);
    assert_eq!(third.read_reply(), b"$23\r\nsplit across the script\r\n");
    assert_eq!(same.text(&["GET", "k"]), "$-1\r\n");
    // A function, killed with FUNCTION KILL; then SHUTDOWN NOSAVE from the
    // same worker ends a script that wrote.
    holder.cmd(&[
        "FUNCTION",
        "LOAD",
        "#!lua name=spin\nredis.register_function('spin', function() while true do end end)",
    ]);
    holder.send_raw(&RawClient::encode(&[b"FCALL", b"spin", b"0"]));
    wait_busy(&mut same);
    assert_eq!(
        same.text(&["PING"]),
        "-BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.\r\n"
    );
    assert!(same.text(&["SCRIPT", "KILL"]).starts_with("-BUSY"));
    assert_eq!(same.text(&["FUNCTION", "KILL"]), "+OK\r\n");
    let killed = String::from_utf8_lossy(&holder.read_reply()).into_owned();
    // Redis 7.0's text names SCRIPT KILL for functions too.
    assert!(
        killed.starts_with("-ERR Script killed by user with SCRIPT KILL"),
        "{killed}"
    );
    holder.send_raw(&RawClient::encode(&[
        b"EVAL",
        b"redis.call('set', 'w', 1) while true do end",
        b"0",
    ]));
    wait_busy(&mut same);
    assert!(same.text(&["SCRIPT", "KILL"]).starts_with("-UNKILLABLE"));
    assert!(same.text(&["SHUTDOWN"]).starts_with("-BUSY"));
    assert_eq!(same.cmd(&["SHUTDOWN", "NOSAVE"]), b"");
    assert_eq!(holder.read_reply(), b"");
}

#[test]
fn scripts_are_atomic_across_workers_with_undeclared_keys() {
    let server = start_ferrodis(&[]);
    let (mut a, mut b, _) = on_two_workers(server.port);
    let script = "for i = 1, 50 do local v = tonumber(redis.call('get', 'counter') or '0'); redis.call('set', 'counter', v + 1) end return 1";
    let sha = a.text(&["SCRIPT", "LOAD", script]);
    let sha = sha.lines().nth(1).unwrap_or_default().to_string();
    let rounds = 200;
    let t = std::thread::spawn(move || {
        for _ in 0..rounds {
            assert_eq!(b.text(&["EVALSHA", &sha, "0"]), ":1\r\n");
        }
    });
    for _ in 0..rounds {
        assert_eq!(a.text(&["EVAL", script, "0"]), ":1\r\n");
    }
    t.join().expect("other worker");
    let want = 2 * rounds * 50;
    assert_eq!(
        a.text(&["GET", "counter"]),
        format!("${}\r\n{want}\r\n", want.to_string().len())
    );
}

#[test]
fn the_aof_logs_a_scripts_effects_not_the_script() {
    let server = start_ferrodis(&["--appendonly", "yes"]);
    let mut c = RawClient::connect(server.port);
    assert_eq!(
        c.text(&[
            "EVAL",
            "redis.call('set','a','1') redis.call('incr','a') return redis.call('get','b')",
            "0"
        ]),
        "$-1\r\n"
    );
    assert_eq!(
        c.text(&["EVAL", "return redis.call('set','one','x')", "0"]),
        "+OK\r\n"
    );
    let dir = c.text(&["CONFIG", "GET", "dir"]);
    let dir = dir.lines().nth(4).unwrap_or_default().to_string();
    let start = Instant::now();
    let text = loop {
        let mut all = String::new();
        for entry in
            std::fs::read_dir(std::path::Path::new(&dir).join("appendonlydir")).expect("aof dir")
        {
            let path = entry.expect("entry").path();
            if path.to_string_lossy().ends_with(".incr.aof") {
                all.push_str(&String::from_utf8_lossy(
                    &std::fs::read(&path).expect("aof"),
                ));
            }
        }
        if all.contains("one") || start.elapsed() > Duration::from_secs(5) {
            break all;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(!text.to_ascii_lowercase().contains("eval"), "{text}");
    assert!(
        text.starts_with("*1\r\n$5\r\nMULTI\r\n")
            && text.contains("*3\r\n$3\r\nset\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$4\r\nincr\r\n$1\r\na\r\n*1\r\n$4\r\nEXEC\r\n"),
        "{text}"
    );
    assert!(
        text.contains("*3\r\n$3\r\nset\r\n$3\r\none\r\n$1\r\nx\r\n"),
        "{text}"
    );
}

#[test]
fn a_write_pause_holds_writing_scripts_only() {
    let server = start_ferrodis(&[]);
    let mut admin = RawClient::connect(server.port);
    let mut c = RawClient::connect(server.port);
    assert_eq!(admin.text(&["CLIENT", "PAUSE", "1500", "WRITE"]), "+OK\r\n");
    let start = Instant::now();
    assert_eq!(
        c.text(&["EVAL", "#!lua flags=no-writes\nreturn 1", "0"]),
        ":1\r\n"
    );
    assert_eq!(c.text(&["EVAL_RO", "return 2", "0"]), ":2\r\n");
    assert!(start.elapsed() < Duration::from_millis(500));
    // A script with a shebang and no flags writes; one without a shebang
    // may replicate: both wait for the pause.
    assert_eq!(c.text(&["EVAL", "#!lua\nreturn 3", "0"]), ":3\r\n");
    assert!(start.elapsed() > Duration::from_millis(1000));
}

#[test]
fn functions_load_call_list_and_delete_as_redis() {
    differential(|p| {
        p.script(
            r##"
            FUNCTION FLUSH
            FUNCTION LOAD "#!lua name=lib\nredis.register_function('setit', function(KEYS, ARGV)\n return redis.call('set', KEYS[1], ARGV[1])\nend)"
            FCALL setit 1 k v
            FCALL setit 0
            FCALL nosuch 0
            FCALL setit -1
            FCALL setit 5 a
            FUNCTION LOAD "#!lua name=lib\nredis.register_function('x', function() return 1 end)"
            FUNCTION LOAD REPLACE "#!lua name=lib\nredis.register_function{function_name='ro', callback=function(KEYS, ARGV) return redis.call('get', KEYS[1]) end, flags={'no-writes'}}"
            FCALL_RO ro 1 k
            FCALL ro 1 k
            FUNCTION LOAD "#!lua name=lib2\nredis.register_function{function_name='w', callback=function(KEYS, ARGV) return redis.call('set', KEYS[1], 'x') end}"
            FCALL_RO w 1 k
            FUNCTION LOAD "#!lua name=lib3\nredis.register_function{function_name='bad', callback=function() return y end}"
            FCALL bad 0
            FUNCTION LIST LIBRARYNAME lib2
            FUNCTION LIST LIBRARYNAME li*3
            FUNCTION LIST WITHCODE LIBRARYNAME lib3
            FUNCTION LOAD "return 1"
            FUNCTION LOAD "#!lua name=t2\nreturn 1"
            FUNCTION LOAD "#!lua name=t4\nredis.register_function('ro', function() return 1 end)"
            FUNCTION LOAD "#!lua name=t3\nredis.register_function('a-b', function() return 1 end)"
            FUNCTION LOAD "#!lua name=t3\nredis.register_function{function_name='f', callback=function() return 1 end, flags={'bogus'}}"
            FUNCTION LOAD "#!lua name=t3\nredis.register_function('f')"
            FUNCTION LOAD "#!lua\nredis.register_function('f', function() return 1 end)"
            FUNCTION LOAD "#!lua name=a name=b\nredis.register_function('f', function() return 1 end)"
            FUNCTION LOAD "#!js name=j\nredis.register_function('f', function() return 1 end)"
            EVAL "return redis.register_function('f', function() return 1 end)" 0
            FUNCTION DELETE nosuch
            FUNCTION DELETE lib
            FCALL ro 1 k
            FUNCTION STATS
            FUNCTION FLUSH bad
            FUNCTION FLUSH ASYNC
            FUNCTION KILL
            FUNCTION LIST
            "##,
        );
    });
}

#[test]
fn a_write_pause_lets_no_writes_functions_run() {
    let server = start_ferrodis(&[]);
    let mut admin = RawClient::connect(server.port);
    let mut c = RawClient::connect(server.port);
    let load = "#!lua name=f1\nredis.register_function{function_name='f1', callback=function() return 'hello' end, flags={'no-writes'}}";
    assert_eq!(c.text(&["FUNCTION", "LOAD", load]), "$2\r\nf1\r\n");
    assert_eq!(admin.text(&["CLIENT", "PAUSE", "5000", "WRITE"]), "+OK\r\n");
    let start = Instant::now();
    assert_eq!(c.text(&["FCALL", "f1", "0"]), "$5\r\nhello\r\n");
    assert!(start.elapsed() < Duration::from_millis(1000));
    assert_eq!(admin.text(&["CLIENT", "UNPAUSE"]), "+OK\r\n");
}

/// The two libraries the dump tests load, in the order each server lists
/// them (one library per payload, so that no hash-table order shows).
const DUMP_LIB: &str = "#!lua name=dumped\nredis.register_function('greet', function(KEYS, ARGV) return 'hello ' .. ARGV[1] .. ', a reply long enough to be compressed, compressed, compressed' end)";

#[test]
fn function_dump_and_restore_match_redis_and_cross_over() {
    let ours = start_ferrodis(&[]);
    let redis = start_redis(&[]);
    let mut payloads = Vec::new();
    for port in [ours.port, redis.port] {
        let mut c = RawClient::connect(port);
        c.cmd(&["FUNCTION", "FLUSH"]);
        assert_eq!(c.text(&["FUNCTION", "LOAD", DUMP_LIB]), "$6\r\ndumped\r\n");
        let raw = c.cmd(&["FUNCTION", "DUMP"]);
        let (_, payload) = parts(&raw);
        payloads.push(payload[0].clone());
    }
    // One library: the same bytes (its code LZF-compressed as Redis does).
    assert_eq!(
        payloads[0], payloads[1],
        "FUNCTION DUMP differs from Redis's"
    );
    let payload = payloads[0].clone();
    // Each server restores the other's payload under every policy with
    // Redis's replies and errors.
    let mut p = Pair::connect(&ours, &redis, 2);
    let second = "#!lua name=second\nredis.register_function('greet', function() return 2 end)";
    for args in [
        vec![&b"FUNCTION"[..], b"RESTORE", &payload],
        vec![b"FUNCTION", b"RESTORE", &payload, b"REPLACE"],
        vec![b"FCALL", b"greet", b"0", b"you"],
        vec![b"FUNCTION", b"RESTORE", &payload, b"BOGUS"],
        vec![b"FUNCTION", b"RESTORE", &payload, b"FLUSH", b"x"],
        vec![b"FUNCTION", b"RESTORE", b"not a payload"],
        vec![b"FUNCTION", b"RESTORE", &payload[..payload.len() - 1]],
        vec![b"FUNCTION", b"FLUSH"],
        vec![b"FUNCTION", b"LOAD", second.as_bytes()],
        // A function of the same name in another library: refused whole.
        vec![b"FUNCTION", b"RESTORE", &payload],
        vec![b"FUNCTION", b"RESTORE", &payload, b"REPLACE"],
        vec![b"FCALL", b"greet", b"0", b"me"],
        vec![b"FUNCTION", b"RESTORE", &payload, b"FLUSH"],
        vec![b"FCALL", b"greet", b"0", b"me"],
        vec![b"FUNCTION", b"LIST", b"WITHCODE"],
        vec![b"FUNCTION", b"FLUSH"],
        vec![b"FUNCTION", b"DUMP"],
    ] {
        p.same_bytes(&args);
    }
    // A payload of ferrodis's two libraries restores into Redis, and the
    // reverse (their order is each server's own).
    let mut ferro = RawClient::connect(ours.port);
    let mut theirs = RawClient::connect(redis.port);
    for c in [&mut ferro, &mut theirs] {
        c.cmd(&["FUNCTION", "LOAD", DUMP_LIB]);
        c.cmd(&[
            "FUNCTION",
            "LOAD",
            "#!lua name=other\nredis.register_function('two', function() return 2 end)",
        ]);
    }
    let (_, ours_dump) = parts(&ferro.cmd(&["FUNCTION", "DUMP"]));
    let (_, redis_dump) = parts(&theirs.cmd(&["FUNCTION", "DUMP"]));
    for (c, dump) in [(&mut theirs, &ours_dump[0]), (&mut ferro, &redis_dump[0])] {
        c.cmd(&["FUNCTION", "FLUSH"]);
        assert_eq!(c.cmd_bytes(&[b"FUNCTION", b"RESTORE", dump]), b"+OK\r\n");
        assert_eq!(c.text(&["FCALL", "two", "0"]), ":2\r\n");
        assert!(c.text(&["FCALL", "greet", "0", "x"]).contains("hello x"));
    }
}

#[test]
fn function_libraries_persist_in_the_rdb_both_ways() {
    // ferrodis saves its libraries; ferrodis and Redis load them.
    let dir = TempDir::new("functions-rdb");
    let dir_arg = dir.0.to_str().expect("utf-8 path");
    {
        let ours = start_ferrodis(&["--dir", dir_arg]);
        let mut c = RawClient::connect(ours.port);
        c.cmd(&["FUNCTION", "LOAD", DUMP_LIB]);
        c.cmd(&["SET", "k", "v"]);
        assert_eq!(c.text(&["SAVE"]), "+OK\r\n");
    }
    let check = std::process::Command::new("redis-check-rdb")
        .arg(dir.0.join("dump.rdb"))
        .output()
        .expect("redis-check-rdb (Debian's redis-tools) must be installed");
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
    for server in [
        start_ferrodis(&["--dir", dir_arg]),
        start_redis(&["--dir", dir_arg]),
    ] {
        let mut c = RawClient::connect(server.port);
        assert!(c
            .text(&["FCALL", "greet", "0", "disk"])
            .contains("hello disk"));
        assert_eq!(c.text(&["GET", "k"]), "$1\r\nv\r\n");
    }
    // Redis saves a library; ferrodis loads it.
    let dir = TempDir::new("functions-rdb-redis");
    let dir_arg = dir.0.to_str().expect("utf-8 path");
    {
        let redis = start_redis(&["--dir", dir_arg]);
        let mut c = RawClient::connect(redis.port);
        c.cmd(&["FUNCTION", "LOAD", DUMP_LIB]);
        assert_eq!(c.text(&["SAVE"]), "+OK\r\n");
    }
    let ours = start_ferrodis(&["--dir", dir_arg]);
    let mut c = RawClient::connect(ours.port);
    assert!(c
        .text(&["FCALL", "greet", "0", "redis"])
        .contains("hello redis"));
}

#[test]
fn function_changes_replay_from_the_aof() {
    let dir = TempDir::new("functions-aof");
    let dir_arg = dir.0.to_str().expect("utf-8 path");
    let args = [
        "--dir",
        dir_arg,
        "--appendonly",
        "yes",
        "--appendfsync",
        "always",
    ];
    let other = "#!lua name=other\nredis.register_function('two', function() return 2 end)";
    let payload = {
        let server = start_ferrodis(&args);
        let mut c = RawClient::connect(server.port);
        c.cmd(&["FUNCTION", "LOAD", DUMP_LIB]);
        let (_, dump) = parts(&c.cmd(&["FUNCTION", "DUMP"]));
        c.cmd(&["FUNCTION", "LOAD", other]);
        assert_eq!(c.text(&["FUNCTION", "DELETE", "dumped"]), "+OK\r\n");
        dump[0].clone()
    };
    {
        let server = start_ferrodis(&args);
        let mut c = RawClient::connect(server.port);
        assert_eq!(c.text(&["FCALL", "two", "0"]), ":2\r\n");
        assert!(c
            .text(&["FCALL", "greet", "0", "x"])
            .starts_with("-ERR Function not found"));
        assert_eq!(
            c.cmd_bytes(&[b"FUNCTION", b"RESTORE", &payload, b"FLUSH"]),
            b"+OK\r\n"
        );
    }
    let server = start_ferrodis(&args);
    let mut c = RawClient::connect(server.port);
    assert!(c
        .text(&["FCALL", "greet", "0", "aof"])
        .contains("hello aof"));
    assert!(c
        .text(&["FCALL", "two", "0"])
        .starts_with("-ERR Function not found"));
}

#[test]
fn a_library_whose_loading_never_ends_times_out_as_in_redis() {
    let ours = start_ferrodis(&[]);
    let redis = start_redis(&[]);
    let mut p = Pair::connect(&ours, &redis, 2);
    let endless = "#!lua name=lib\nlocal a = 1\nwhile 1 do a = a + 1 end";
    p.same(&["FUNCTION", "LOAD", endless]);
    p.same(&["FUNCTION", "LIST"]);
    p.same(&["PING"]);
}

#[test]
fn monitor_shows_fcall_and_eval_before_their_commands_as_redis() {
    let ours = start_ferrodis(&[]);
    let redis = start_redis(&[]);
    let mut seen = Vec::new();
    for server in [&ours, &redis] {
        let mut c = RawClient::connect(server.port);
        c.cmd(&["FUNCTION", "LOAD", "#!lua name=test\nredis.register_function('test', function() return redis.call('set', 'foo', 'bar') end)"]);
        let mut monitor = RawClient::connect(server.port);
        assert_eq!(monitor.text(&["MONITOR"]), "+OK\r\n");
        c.cmd(&["FCALL", "test", "0"]);
        c.cmd(&["EVAL", "return redis.call('get', 'foo')", "0"]);
        // Each line without its timestamp and client address.
        let lines: Vec<String> = (0..4)
            .map(|_| {
                let line = String::from_utf8_lossy(&monitor.read_reply()).into_owned();
                let (_, rest) = line.split_once(' ').expect("a timestamp");
                let (source, command) = rest.split_once("] ").expect("a source");
                let source = if source.ends_with("lua") {
                    "lua"
                } else {
                    "client"
                };
                format!("{source} {command}")
            })
            .collect();
        seen.push(lines);
    }
    assert_eq!(seen[0], seen[1]);
    assert!(seen[0][0].starts_with("client \"FCALL\""), "{:?}", seen[0]);
    assert!(seen[0][1].starts_with("lua \"set\""), "{:?}", seen[0]);
}
