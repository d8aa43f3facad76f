//! The function libraries (FUNCTION LOAD): each library's code and the
//! functions it registered, shared by every worker. A worker's VM compiles
//! every library again when the registry's generation moves on, as it
//! compiles cached scripts from the script cache.

use bytes::Bytes;
use std::collections::{BTreeMap, HashMap};

/// A function a library registered.
#[derive(Clone)]
pub struct FunctionInfo {
    /// Its name.
    pub name: String,
    /// Its flags (`script::flag`).
    pub flags: u32,
    /// Its description, if given.
    pub description: Option<Bytes>,
}

/// A loaded library.
pub struct Library {
    /// Its name (`#!lua name=...`).
    pub name: String,
    /// The code as loaded (shebang included).
    pub code: Bytes,
    /// The functions it registered.
    pub functions: Vec<FunctionInfo>,
}

/// Every library, and which library holds each function.
#[derive(Default)]
pub struct Registry {
    /// Libraries by name.
    pub libraries: BTreeMap<String, std::sync::Arc<Library>>,
    /// Function name → its library's name.
    pub by_function: HashMap<String, String>,
    /// Bumped by every change.
    pub generation: u64,
}

impl Registry {
    /// The library and function info of function `name`.
    pub fn function(&self, name: &str) -> Option<(std::sync::Arc<Library>, FunctionInfo)> {
        let lib = self.libraries.get(self.by_function.get(name)?)?;
        let info = lib.functions.iter().find(|f| f.name == name)?.clone();
        Some((lib.clone(), info))
    }

    /// Adds (or, with `replace`, replaces) a library whose functions were
    /// registered already: the error is Redis's text.
    pub fn link(&mut self, lib: Library, replace: bool) -> Result<(), String> {
        let old = self.libraries.get(&lib.name).cloned();
        if old.is_some() && !replace {
            return Err(format!("Library '{}' already exists", lib.name));
        }
        for f in &lib.functions {
            if let Some(owner) = self.by_function.get(&f.name) {
                if *owner != lib.name {
                    return Err(format!("Function {} already exists", f.name));
                }
            }
        }
        if let Some(old) = old {
            for f in &old.functions {
                self.by_function.remove(&f.name);
            }
        }
        for f in &lib.functions {
            self.by_function.insert(f.name.clone(), lib.name.clone());
        }
        self.libraries
            .insert(lib.name.clone(), std::sync::Arc::new(lib));
        self.generation += 1;
        Ok(())
    }

    /// Removes library `name`; false if there is none.
    pub fn delete(&mut self, name: &str) -> bool {
        let Some(lib) = self.libraries.remove(name) else {
            return false;
        };
        for f in &lib.functions {
            self.by_function.remove(&f.name);
        }
        self.generation += 1;
        true
    }

    /// Removes every library.
    pub fn flush(&mut self) {
        self.libraries.clear();
        self.by_function.clear();
        self.generation += 1;
    }
}

/// True for a valid library or function name: letters, digits and
/// underscores, at least one.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// A library's metadata line: its engine, its name, and the offset of the
/// code (from the shebang's newline on); or Redis's error text.
pub fn metadata(code: &[u8]) -> Result<(String, String, usize), String> {
    if !code.starts_with(b"#!") {
        return Err("Missing library metadata".into());
    }
    let Some(end) = code.iter().position(|&b| b == b'\n') else {
        return Err("Missing library metadata".into());
    };
    let line = String::from_utf8_lossy(&code[..end]).into_owned();
    let parts: Vec<&str> = line.split_ascii_whitespace().collect();
    let Some(first) = parts.first() else {
        return Err("Invalid library metadata".into());
    };
    let engine = first[2..].to_string();
    let mut name = None;
    for part in &parts[1..] {
        let lower = part.to_ascii_lowercase();
        if let Some(value) = lower.strip_prefix("name=").map(|_| &part[5..]) {
            if name.is_some() {
                return Err(
                    "Invalid metadata value, name argument was given multiple times".into(),
                );
            }
            name = Some(value.to_string());
            continue;
        }
        return Err(format!("Invalid metadata value given: {part}"));
    }
    let Some(name) = name else {
        return Err("Library name was not given".into());
    };
    Ok((engine, name, end))
}

/// How FUNCTION RESTORE treats the libraries already loaded.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum RestorePolicy {
    /// Keep them; a library of the same name fails the restore.
    Append,
    /// Keep them; a library of the same name is replaced.
    Replace,
    /// Drop them all first.
    Flush,
}

impl Registry {
    /// Adds `libraries` (made with [`compile`], none named twice) under
    /// `policy`, all or none: on an error (Redis's text) nothing changed.
    pub fn restore(
        &mut self,
        libraries: Vec<Library>,
        policy: RestorePolicy,
    ) -> Result<(), String> {
        let mut next = match policy {
            RestorePolicy::Flush => Registry::default(),
            _ => Registry {
                libraries: self.libraries.clone(),
                by_function: self.by_function.clone(),
                generation: 0,
            },
        };
        for lib in &libraries {
            if next.libraries.contains_key(&lib.name) {
                if policy != RestorePolicy::Replace {
                    return Err(format!("Library {} already exists", lib.name));
                }
                next.delete(&lib.name);
            }
        }
        for lib in &libraries {
            if let Some(f) = lib
                .functions
                .iter()
                .find(|f| next.by_function.contains_key(&f.name))
            {
                return Err(format!("Function {} already exists", f.name));
            }
        }
        for lib in libraries {
            next.link(lib, false)?;
        }
        next.generation = self.generation + 1;
        *self = next;
        Ok(())
    }
}
