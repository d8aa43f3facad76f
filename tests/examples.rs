//! The seed programs in examples/ print the same against ferrodis as against
//! redis-server. They need node-redis 6 in .deps/node and redis-py 8 in
//! .deps/py, which scripts/test.sh installs; without them this test fails.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn require(path: &Path, what: &str) {
    assert!(
        path.exists(),
        "{what} not found at {} — run scripts/test.sh, which installs it",
        path.display()
    );
}

fn run(mut cmd: Command) -> String {
    let out = cmd.output().expect("run example");
    assert!(
        out.status.success(),
        "example failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// node-redis resolves from the script's own folder, so the lesson runs from
/// a copy inside .deps/node.
fn hash_lesson(port: u16) -> String {
    let node_dir = root().join(".deps/node");
    require(&node_dir.join("node_modules/redis"), "node-redis 6");
    let script = node_dir.join("hash_lesson.mjs");
    std::fs::copy(root().join("examples/hash-lesson/hash_lesson.mjs"), &script)
        .expect("copy lesson");
    let mut cmd = Command::new("node");
    cmd.arg(&script).env("REDIS_PORT", port.to_string());
    run(cmd)
}

fn dwemthy(port: u16) -> String {
    let python = root().join(".deps/py/bin/python");
    require(&python, "the Python environment with redis-py 8");
    let mut cmd = Command::new(python);
    cmd.arg("play.py")
        .arg(port.to_string())
        .current_dir(root().join("examples/dwemthy"));
    run(cmd)
}

#[test]
fn node_redis_hash_lesson_prints_the_same_as_against_redis() {
    let ours = common::start_ferrodis(&[]);
    let redis = common::start_redis(&[]);
    let got = hash_lesson(ours.port);
    let want = hash_lesson(redis.port);
    assert_eq!(got, want);
    assert!(
        got.contains("User details: { username: 'alice', email: 'alice@example.com' }"),
        "{got}"
    );
    assert!(
        got.contains("User details: { email: 'alice@example.com' }"),
        "{got}"
    );
}

#[test]
fn dwemthys_array_game_prints_the_same_as_against_redis() {
    let ours = common::start_ferrodis(&[]);
    let redis = common::start_redis(&[]);
    let got = dwemthy(ours.port);
    let want = dwemthy(redis.port);
    assert_eq!(got, want);
    assert!(
        got.contains("[Get ready. IndustrialRaverMonkey has emerged!]"),
        "{got}"
    );
    assert!(got.lines().count() > 5, "{got}");
}
