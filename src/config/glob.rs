//! Glob matching: Redis's pattern syntax for CONFIG GET (`*`, `?`, `[...]` with `^` and
//! ranges, `\` escapes), and file-name globbing for `include`.

use std::path::{Path, PathBuf};

/// Redis `stringmatch`: does `pattern` match all of `s`?
pub fn string_match(pattern: &[u8], s: &[u8], nocase: bool) -> bool {
    crate::util::glob_match(pattern, s, nocase)
}

pub fn has_glob_chars(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// Expand a file glob like glob(3): sorted, wildcards never match a leading `.`, no
/// match gives an empty list.
pub fn expand_file_glob(pattern: &Path) -> Vec<PathBuf> {
    let mut bases: Vec<PathBuf> = vec![PathBuf::new()];
    for comp in pattern.components() {
        let part = comp.as_os_str().to_string_lossy().into_owned();
        let mut next = Vec::new();
        if !has_glob_chars(&part) {
            for b in &bases {
                next.push(b.join(comp.as_os_str()));
            }
        } else {
            for b in &bases {
                let dir = if b.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    b.as_path()
                };
                let Ok(rd) = std::fs::read_dir(dir) else {
                    continue;
                };
                let mut names: Vec<String> = rd
                    .filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| !n.starts_with('.') || part.starts_with('.'))
                    .filter(|n| string_match(part.as_bytes(), n.as_bytes(), false))
                    .collect();
                names.sort();
                for n in names {
                    next.push(b.join(n));
                }
            }
        }
        bases = next;
        if bases.is_empty() {
            break;
        }
    }
    bases.retain(|p| p.exists());
    bases.sort();
    bases
}
