//! The AOF directory and its manifest: which files make up the log, in
//! which order, and how they are named (Redis 7's layout, which
//! `redis-check-aof` reads).
//!
//! ```text
//! file appendonly.aof.3.base.rdb seq 3 type b
//! file appendonly.aof.5.incr.aof seq 5 type i
//! file appendonly.aof.6.incr.aof seq 6 type i
//! ```
//!
//! The manifest is replaced atomically (temporary file, fsync, rename,
//! directory fsync), so a crash leaves the old list or the new one.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

/// What a listed file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// The snapshot the log starts from (`b`).
    Base,
    /// Superseded by a rewrite, to be deleted (`h`).
    History,
    /// Commands logged after the base (`i`).
    Incr,
}

impl FileKind {
    fn letter(self) -> char {
        match self {
            FileKind::Base => 'b',
            FileKind::History => 'h',
            FileKind::Incr => 'i',
        }
    }
}

/// One line of the manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileEntry {
    /// File name inside the AOF directory.
    pub name: String,
    /// Sequence number.
    pub seq: u64,
    /// Base, history or incremental.
    pub kind: FileKind,
}

/// The list of files, base first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest {
    /// The base file, if any.
    pub base: Option<FileEntry>,
    /// Files to delete.
    pub history: Vec<FileEntry>,
    /// Incremental files, oldest first.
    pub incrs: Vec<FileEntry>,
}

impl Manifest {
    /// Parses a manifest, with the error texts Redis gives.
    pub fn parse(text: &[u8]) -> Result<Manifest, String> {
        let mut manifest = Manifest::default();
        let mut max_incr_seq = 0;
        let mut lines = 0;
        for raw in text.split_inclusive(|&b| b == b'\n') {
            lines += 1;
            if raw.first() == Some(&b'#') {
                continue;
            }
            if raw.len() > 1024 {
                return Err("The AOF manifest file contains too long line".into());
            }
            if raw.last() != Some(&b'\n') {
                return Err("Invalid AOF manifest file format".into());
            }
            let line = String::from_utf8_lossy(raw);
            let line = line.trim_matches([' ', '\t', '\r', '\n']);
            let words = split_words(line).ok_or("Invalid AOF manifest file format")?;
            if line.is_empty() || words.len() < 6 || words.len() % 2 != 0 {
                return Err("Invalid AOF manifest file format".into());
            }
            let (mut name, mut seq, mut kind) = (None, 0u64, None);
            for pair in words.chunks(2) {
                match pair[0].to_ascii_lowercase().as_str() {
                    "file" => {
                        if pair[1].contains('/') {
                            return Err("File can't be a path, just a filename".into());
                        }
                        name = Some(pair[1].clone());
                    }
                    "seq" => seq = leading_number(&pair[1]),
                    "type" => kind = pair[1].chars().next(),
                    _ => {}
                }
            }
            let (Some(name), Some(kind)) = (name, kind) else {
                return Err("Invalid AOF manifest file format".into());
            };
            if seq == 0 {
                return Err("Invalid AOF manifest file format".into());
            }
            match kind {
                'b' => {
                    if manifest.base.is_some() {
                        return Err("Found duplicate base file information".into());
                    }
                    manifest.base = Some(FileEntry {
                        name,
                        seq,
                        kind: FileKind::Base,
                    });
                }
                'h' => manifest.history.push(FileEntry {
                    name,
                    seq,
                    kind: FileKind::History,
                }),
                'i' => {
                    if seq <= max_incr_seq {
                        return Err("Found a non-monotonic sequence number".into());
                    }
                    max_incr_seq = seq;
                    manifest.incrs.push(FileEntry {
                        name,
                        seq,
                        kind: FileKind::Incr,
                    });
                }
                _ => return Err("Unknown AOF file type".into()),
            }
        }
        if lines == 0 {
            return Err("Found an empty AOF manifest".into());
        }
        Ok(manifest)
    }

    /// The manifest's text: base, history, then incremental files.
    pub fn format(&self) -> String {
        let mut out = String::new();
        let entries = self.base.iter().chain(&self.history).chain(&self.incrs);
        for e in entries {
            out.push_str(&format!(
                "file {} seq {} type {}\n",
                quote_if_needed(&e.name),
                e.seq,
                e.kind.letter()
            ));
        }
        out
    }

    /// The files to load, in order.
    pub fn load_order(&self) -> impl Iterator<Item = &FileEntry> {
        self.base.iter().chain(&self.incrs)
    }

    /// True if no file is listed to load.
    pub fn is_empty(&self) -> bool {
        self.base.is_none() && self.incrs.is_empty()
    }

    fn next_incr_seq(&self) -> u64 {
        self.incrs.last().map_or(1, |e| e.seq + 1)
    }

    fn next_base_seq(&self) -> u64 {
        self.base.as_ref().map_or(1, |e| e.seq + 1)
    }
}

/// The number `atoll` reads at the start of `s` (0 if none).
fn leading_number(s: &str) -> u64 {
    let digits: String = s.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().unwrap_or(0)
}

/// Splits a line into words, honouring double quotes with `\"`, `\\`,
/// `\n`, `\t`, `\r` and `\xHH` escapes and single quotes (the rules
/// redis.conf lines follow). `None` for unbalanced quotes.
fn split_words(line: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let Some(&first) = chars.peek() else {
            return Some(words);
        };
        let mut word = String::new();
        if first == '"' || first == '\'' {
            chars.next();
            loop {
                let c = chars.next()?;
                if c == first {
                    break;
                }
                if c == '\\' && first == '"' {
                    match chars.next()? {
                        'n' => word.push('\n'),
                        't' => word.push('\t'),
                        'r' => word.push('\r'),
                        'x' => {
                            let hex: String = [chars.next()?, chars.next()?].iter().collect();
                            word.push(u8::from_str_radix(&hex, 16).ok()? as char);
                        }
                        other => word.push(other),
                    }
                } else {
                    word.push(c);
                }
            }
            if chars.peek().is_some_and(|c| !c.is_whitespace()) {
                return None;
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                word.push(c);
                chars.next();
            }
        }
        words.push(word);
    }
}

fn quote_if_needed(name: &str) -> String {
    let plain = name
        .bytes()
        .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\'' && b != b'\\');
    if plain {
        return name.to_string();
    }
    let mut out = String::from("\"");
    for b in name.bytes() {
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            b if b.is_ascii_graphic() || b == b' ' => out.push(b as char),
            b => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out.push('"');
    out
}

/// The AOF directory, its file names and its current manifest.
#[derive(Debug, Clone)]
pub struct AofDir {
    /// `appenddirname` (relative to `dir`, the working directory).
    pub dir: PathBuf,
    /// `appendfilename`, the stem of every file name.
    pub stem: String,
    /// The manifest as last persisted.
    pub manifest: Manifest,
}

impl AofDir {
    /// The directory named by the configuration, with no manifest read yet.
    pub fn new(dir: &str, stem: &str) -> AofDir {
        AofDir {
            dir: PathBuf::from(dir),
            stem: stem.to_string(),
            manifest: Manifest::default(),
        }
    }

    /// The directory `appenddirname` and `appendfilename` name, with its
    /// manifest read if there is one.
    pub fn from_config(config: &crate::config::Config) -> Result<AofDir, String> {
        let mut dir = AofDir::new(
            config.get("appenddirname").unwrap_or("appendonlydir"),
            config.get("appendfilename").unwrap_or("appendonly.aof"),
        );
        dir.read_manifest()?;
        Ok(dir)
    }

    /// Path of a file in the directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// The manifest's file name.
    pub fn manifest_name(&self) -> String {
        format!("{}.manifest", self.stem)
    }

    /// Reads the manifest if the directory and manifest exist (`Ok(false)`
    /// otherwise, as for a first start).
    pub fn read_manifest(&mut self) -> Result<bool, String> {
        let path = self.path(&self.manifest_name());
        match std::fs::read(&path) {
            Ok(text) => {
                self.manifest = Manifest::parse(&text).map_err(|e| {
                    format!(
                        "*** FATAL AOF MANIFEST FILE ERROR *** {e} ({})",
                        path.display()
                    )
                })?;
                Ok(true)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(crate::util::io_error(
                &format!(
                    "Fatal error: can't open the AOF manifest file {} for reading",
                    path.display()
                ),
                &e,
            )),
        }
    }

    /// Creates the directory if missing.
    pub fn create(&self) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.dir)
    }

    /// Name for a new incremental file, and its entry.
    pub fn new_incr(&self) -> FileEntry {
        let seq = self.manifest.next_incr_seq();
        FileEntry {
            name: format!("{}.{seq}.incr.aof", self.stem),
            seq,
            kind: FileKind::Incr,
        }
    }

    /// Name for a new base file, and its entry.
    pub fn new_base(&self, rdb: bool) -> FileEntry {
        let seq = self.manifest.next_base_seq();
        let ext = if rdb { "rdb" } else { "aof" };
        FileEntry {
            name: format!("{}.{seq}.base.{ext}", self.stem),
            seq,
            kind: FileKind::Base,
        }
    }

    /// The temporary incremental file used while the AOF waits for its
    /// first rewrite.
    pub fn temp_incr_name(&self) -> String {
        format!("temp-{}.incr", self.stem)
    }

    /// Writes `manifest` atomically and makes it the current one.
    pub fn persist(&mut self, manifest: Manifest) -> std::io::Result<()> {
        let tmp = self.path(&format!("temp-{}", self.manifest_name()));
        let result = (|| {
            let mut file = File::create(&tmp)?;
            file.write_all(manifest.format().as_bytes())?;
            file.sync_all()?;
            std::fs::rename(&tmp, self.path(&self.manifest_name()))?;
            sync_dir(&self.dir)
        })();
        if let Err(e) = &result {
            let _ = std::fs::remove_file(&tmp);
            crate::warning!(
                "{}",
                crate::util::io_error(
                    &format!(
                        "Error trying to write the AOF manifest file {}",
                        self.manifest_name()
                    ),
                    e
                )
            );
        } else {
            self.manifest = manifest;
        }
        result
    }

    /// Total size of the files to load.
    pub fn total_size(&self) -> std::io::Result<u64> {
        let mut total = 0;
        for e in self.manifest.load_order() {
            total += std::fs::metadata(self.path(&e.name))?.len();
        }
        Ok(total)
    }
}

/// fsyncs a directory, so a rename in it is durable.
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manifest_round_trips() {
        let text = b"file appendonly.aof.2.base.rdb seq 2 type b\nfile appendonly.aof.1.incr.aof seq 1 type h\nfile appendonly.aof.3.incr.aof seq 3 type i\nfile appendonly.aof.4.incr.aof seq 4 type i\n";
        let m = Manifest::parse(text).expect("parse");
        assert_eq!(m.base.as_ref().map(|b| b.seq), Some(2));
        assert_eq!(m.incrs.len(), 2);
        assert_eq!(m.history.len(), 1);
        assert_eq!(m.format().as_bytes(), text);
    }

    #[test]
    fn bad_manifests_are_refused_with_redis_texts() {
        let cases: &[(&[u8], &str)] = &[
            (b"", "Found an empty AOF manifest"),
            (b"file a seq 1\n", "Invalid AOF manifest file format"),
            (
                b"file a/b seq 1 type b\n",
                "File can't be a path, just a filename",
            ),
            (
                b"file a seq 1 type b\nfile b seq 2 type b\n",
                "Found duplicate base file information",
            ),
            (
                b"file a seq 2 type i\nfile b seq 2 type i\n",
                "Found a non-monotonic sequence number",
            ),
            (b"file a seq 1 type x\n", "Unknown AOF file type"),
            (b"file a seq 1 type b", "Invalid AOF manifest file format"),
        ];
        for (text, want) in cases {
            assert_eq!(Manifest::parse(text).err().as_deref(), Some(*want));
        }
        // Comments are skipped; quoted names keep their spaces.
        let m = Manifest::parse(b"# note\nfile \"a b\" seq 1 type i\n").expect("parse");
        assert_eq!(m.incrs[0].name, "a b");
        assert!(m.format().starts_with("file \"a b\" seq 1"));
    }
}
