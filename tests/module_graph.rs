//! The source files' dependencies run one way (ARCHITECTURE.md, "Layers"):
//! no file reaches, through `crate::`, `super::` or `self::` paths or a
//! directory module's `pub use child::…` re-exports, a file that reaches
//! it back. Test code (from a file's first `#[cfg(test)]` on) and comments
//! are left out: tests may use anything.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Module path (`db::view`; the crate root is empty) → source text.
fn sources() -> BTreeMap<Vec<String>, String> {
    fn walk(dir: &Path, prefix: &[String], out: &mut BTreeMap<Vec<String>, String>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .expect("read src")
            .map(|e| e.expect("dir entry").path())
            .collect();
        entries.sort();
        for path in entries {
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
                .to_string();
            if path.is_dir() {
                let mut sub = prefix.to_vec();
                sub.push(name);
                walk(&path, &sub, out);
            } else if let Some(stem) = name.strip_suffix(".rs") {
                let mut module = prefix.to_vec();
                if !matches!(stem, "mod" | "lib" | "main") {
                    module.push(stem.to_string());
                }
                let text = std::fs::read_to_string(&path).expect("read source");
                out.insert(module, text);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &[],
        &mut out,
    );
    // `main.rs` is the binary's root: it uses the library as `ferrodis::`,
    // not `crate::`, and nothing uses it.
    out
}

/// The code of a file without its tests and line comments.
fn code_of(text: &str) -> String {
    let text = text.split("#[cfg(test)]").next().unwrap_or_default();
    text.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Every path that starts with `crate::`, `super::` or `self::` in `code`,
/// as (root word, segments); a `{a, b::c}` group gives one path per item.
fn paths(code: &str) -> Vec<(&'static str, Vec<String>)> {
    let bytes = code.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        // Bytes, not `str` slices: `i` may be inside a multi-byte char.
        let root = ["crate", "super", "self"].into_iter().find(|r| {
            bytes[i..].starts_with(r.as_bytes())
                && bytes[i + r.len()..].starts_with(b"::")
                && (i == 0 || !is_ident_byte(bytes[i - 1]))
        });
        let Some(root) = root else {
            i += 1;
            continue;
        };
        let mut j = i + root.len() + 2;
        let mut segments = Vec::new();
        loop {
            if code[j..].starts_with('{') {
                let end = code[j..].find('}').map_or(bytes.len(), |e| j + e);
                for item in code[j + 1..end].split(',') {
                    let mut item_path = segments.clone();
                    item_path.extend(
                        item.trim()
                            .split("::")
                            .map(|s| s.split_whitespace().next().unwrap_or_default().to_string()),
                    );
                    found.push((root, item_path));
                }
                j = end;
                break;
            }
            let start = j;
            while j < bytes.len() && (is_ident_byte(bytes[j]) || bytes[j] == b'*') {
                j += 1;
            }
            segments.push(code[start..j].to_string());
            if code[j..].starts_with("::") {
                j += 2;
            } else {
                found.push((root, segments));
                break;
            }
        }
        i = j.max(i + 1);
    }
    found
}

/// The module a path names: its longest prefix that is a source file.
fn resolve(files: &BTreeMap<Vec<String>, String>, segments: &[String]) -> Vec<String> {
    (0..=segments.len())
        .rev()
        .map(|n| segments[..n].to_vec())
        .find(|m| files.contains_key(m))
        .unwrap_or_default()
}

fn graph() -> BTreeMap<Vec<String>, BTreeSet<Vec<String>>> {
    let files = sources();
    let mut edges = BTreeMap::new();
    for (module, text) in &files {
        if module.is_empty() && text.contains("fn main()") {
            continue;
        }
        let code = code_of(text);
        let mut out = BTreeSet::new();
        for (root, tail) in paths(&code) {
            let mut segments = match root {
                "crate" => Vec::new(),
                "super" => module[..module.len().saturating_sub(1)].to_vec(),
                _ => module.clone(),
            };
            segments.extend(tail);
            out.insert(resolve(&files, &segments));
        }
        // A directory module's re-exports make it depend on its children.
        for line in code.lines() {
            if let Some(rest) = line.trim().strip_prefix("pub use ") {
                let child = rest.split("::").next().unwrap_or_default();
                let mut path = module.clone();
                path.push(child.to_string());
                if files.contains_key(&path) {
                    out.insert(path);
                }
            }
        }
        out.remove(module);
        edges.insert(module.clone(), out);
    }
    edges
}

/// Strongly connected components with more than one file (Tarjan).
fn cycles(edges: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>) -> Vec<Vec<String>> {
    struct State<'a> {
        edges: &'a BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        index: BTreeMap<&'a Vec<String>, usize>,
        low: BTreeMap<&'a Vec<String>, usize>,
        stack: Vec<&'a Vec<String>>,
        found: Vec<Vec<String>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a Vec<String>) {
        let n = s.index.len();
        s.index.insert(v, n);
        s.low.insert(v, n);
        s.stack.push(v);
        for w in s.edges.get(v).into_iter().flatten() {
            let Some((w, _)) = s.edges.get_key_value(w) else {
                continue;
            };
            if !s.index.contains_key(w) {
                visit(s, w);
                let lw = s.low[w];
                let lv = s.low.get_mut(v).expect("visited");
                *lv = (*lv).min(lw);
            } else if s.stack.contains(&w) {
                let iw = s.index[w];
                let lv = s.low.get_mut(v).expect("visited");
                *lv = (*lv).min(iw);
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                component.push(w.join("::"));
                if w == v {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                s.found.push(component);
            }
        }
    }
    let mut s = State {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        found: Vec::new(),
    };
    for v in edges.keys() {
        if !s.index.contains_key(v) {
            visit(&mut s, v);
        }
    }
    s.found
}

#[test]
fn no_source_file_depends_on_one_that_depends_on_it() {
    let edges = graph();
    assert!(edges.len() > 50, "found only {} source files", edges.len());
    // The checker sees real dependencies (a check that found none would pass).
    let db = vec!["db".to_string()];
    let view = vec!["db".to_string(), "view".to_string()];
    assert!(edges[&db].contains(&view), "db re-exports db::view");
    let spec = vec!["cmd".to_string(), "spec".to_string()];
    assert!(edges[&vec!["cmd".to_string(), "admit".to_string()]].contains(&spec));
    let found = cycles(&edges);
    assert!(
        found.is_empty(),
        "dependency cycles between source files: {found:?}"
    );
}

#[test]
fn the_checker_finds_a_cycle() {
    let a = vec!["a".to_string()];
    let b = vec!["b".to_string()];
    let c = vec!["c".to_string()];
    let edges = BTreeMap::from([
        (a.clone(), BTreeSet::from([b.clone()])),
        (b.clone(), BTreeSet::from([c.clone()])),
        (c.clone(), BTreeSet::from([a.clone()])),
    ]);
    assert_eq!(cycles(&edges), vec![vec!["a", "b", "c"]]);
    let (root, segments) = paths("use super::{access::Entry, watch};").remove(0);
    assert_eq!(
        (root, segments),
        ("super", vec!["access".to_string(), "Entry".to_string()])
    );
}
