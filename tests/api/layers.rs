//! The layers of `src/`: each top-level module uses only modules of its own layer and of the
//! layers below it, and no modules use each other in a circle. Read from the source text, so
//! that a new import that breaks the order fails here, not in review.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers of `src/`, highest first. A module may use modules of its own layer and of the
/// layers below it, never those above. `auth` and `error` are the HTTP edge of the API;
/// `config` and `guard` serve the application and its API.
const LAYERS: &[&[&str]] = &[
    &["main"],
    &["app"],
    &["api", "auth", "error", "config", "guard", "page"],
    &["import", "sync", "seed", "synthetic", "purge", "watches"],
    &[
        "insights",
        "forms",
        "queries",
        "representations",
        "changelog",
        "export",
    ],
    &["models", "normalize"],
    &["db"],
];

/// Where one module uses another: the file and line of the first such use.
type Uses = BTreeMap<String, BTreeMap<String, String>>;

#[test]
fn modules_use_only_their_own_layer_and_those_below_without_circles() {
    let uses = module_uses(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    let mut problems = Vec::new();
    for module in uses.keys() {
        if layer(module).is_none() {
            problems.push(format!("{module} is in no layer: add it to LAYERS"));
        }
    }
    for (from, targets) in &uses {
        for (to, place) in targets {
            if let (Some(own), Some(used)) = (layer(from), layer(to)) {
                if used < own {
                    problems.push(format!("{from} uses {to}, a layer above it ({place})"));
                }
            }
        }
    }
    for circle in circles(&uses) {
        let edges: Vec<String> = circle
            .iter()
            .flat_map(|from| {
                uses[from]
                    .iter()
                    .filter(|(to, _)| circle.contains(*to))
                    .map(move |(to, place)| format!("{from} -> {to} ({place})"))
            })
            .collect();
        problems.push(format!("a circle: {}", edges.join(", ")));
    }
    assert!(
        problems.is_empty(),
        "{} problem(s) in the module graph:\n{}\n\nthe graph:\n{}",
        problems.len(),
        problems.join("\n"),
        graph(&uses)
    );
}

/// The index of `module`'s layer in [`LAYERS`] (0 is the highest), if it has one.
fn layer(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

/// Every top-level module of `src` (`lib.rs` aside), with the other modules each one uses.
fn module_uses(src: &Path) -> Uses {
    let mut uses = Uses::new();
    for file in rust_files(src) {
        let relative = file.strip_prefix(src).expect("under src");
        let path = module_path(relative);
        if path == ["lib"] {
            continue;
        }
        let source = std::fs::read_to_string(&file).expect("read a source file");
        let crate_name = if path == ["main"] {
            "citytools"
        } else {
            "crate"
        };
        let targets = uses.entry(path[0].clone()).or_default();
        for (to, line) in used_modules(&code_only(&source), &path, crate_name) {
            if to != path[0] {
                targets
                    .entry(to)
                    .or_insert_with(|| format!("src/{}:{line}", relative.display()));
            }
        }
    }
    // A path such as `crate::SomeType` names an item of the crate root, not a module.
    let modules: BTreeSet<String> = uses.keys().cloned().collect();
    for targets in uses.values_mut() {
        targets.retain(|to, _| modules.contains(to));
    }
    uses
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read a source directory") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            files.push(path);
        }
    }
    files.sort();
    files
}

/// The module a file under `src/` holds: `api/mod.rs` is `api`, `api/health.rs` is `api::health`.
fn module_path(relative: &Path) -> Vec<String> {
    let mut path: Vec<String> = relative
        .with_extension("")
        .iter()
        .map(|part| part.to_string_lossy().into_owned())
        .collect();
    if path.len() > 1 && path.last().is_some_and(|last| last == "mod") {
        path.pop();
    }
    path
}

/// `source` with comments, strings and character literals blanked out (newlines kept), so
/// that only code is searched for paths.
fn code_only(source: &str) -> String {
    let chars: Vec<char> = source.chars().collect();
    let mut out = String::with_capacity(source.len());
    let blank = |out: &mut String, text: &[char]| {
        out.extend(text.iter().map(|&c| if c == '\n' { '\n' } else { ' ' }));
    };
    let mut i = 0;
    while i < chars.len() {
        let rest = &chars[i..];
        let after_ident = i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_');
        let end = if rest.starts_with(&['/', '/']) {
            rest.iter().position(|&c| c == '\n').unwrap_or(rest.len())
        } else if rest.starts_with(&['/', '*']) {
            block_comment_len(rest)
        } else if rest[0] == '"' {
            quoted_len(rest, '"')
        } else if rest[0] == 'r' && !after_ident && raw_string_len(rest).is_some() {
            raw_string_len(rest).unwrap_or(1)
        } else if rest[0] == '\'' && (rest.get(1) == Some(&'\\') || rest.get(2) == Some(&'\'')) {
            quoted_len(rest, '\'')
        } else {
            out.push(rest[0]);
            i += 1;
            continue;
        };
        blank(&mut out, &rest[..end]);
        i += end;
    }
    out
}

/// The length of the (possibly nested) block comment at the start of `text`.
fn block_comment_len(text: &[char]) -> usize {
    let mut depth = 0;
    let mut i = 0;
    while i < text.len() {
        if text[i..].starts_with(&['/', '*']) {
            depth += 1;
            i += 2;
        } else if text[i..].starts_with(&['*', '/']) {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return i;
            }
        } else {
            i += 1;
        }
    }
    text.len()
}

/// The length of the string or character literal opened by `quote` at the start of `text`.
fn quoted_len(text: &[char], quote: char) -> usize {
    let mut i = 1;
    while i < text.len() {
        match text[i] {
            '\\' => i += 2,
            c if c == quote => return i + 1,
            _ => i += 1,
        }
    }
    text.len()
}

/// The length of the raw string (`r"…"`, `r#"…"#`) at the start of `text`, if one starts there.
fn raw_string_len(text: &[char]) -> Option<usize> {
    let hashes = text[1..].iter().take_while(|&&c| c == '#').count();
    if text.get(1 + hashes) != Some(&'"') {
        return None;
    }
    let close: Vec<char> = std::iter::once('"')
        .chain(std::iter::repeat_n('#', hashes))
        .collect();
    let body = 2 + hashes;
    let found = (body..text.len()).find(|&i| text[i..].starts_with(&close));
    Some(found.map_or(text.len(), |i| i + close.len()))
}

/// The top-level modules that `code` (of the module at `path`) names, each with the line of
/// its first mention: through `crate::` (or `crate_name::`), and through `super::` chains that
/// climb out of `path`'s top-level module. Inline `mod name { … }` blocks deepen `super::`.
fn used_modules(code: &str, path: &[String], crate_name: &str) -> Vec<(String, usize)> {
    let chars: Vec<char> = code.chars().collect();
    let mut found = Vec::new();
    let mut inline_modules: Vec<usize> = Vec::new();
    let mut braces = 0usize;
    let mut line = 1;
    let mut i = 0;
    while i < chars.len() {
        let at_word = i == 0 || !(chars[i - 1].is_alphanumeric() || chars[i - 1] == '_');
        match chars[i] {
            '\n' => line += 1,
            '{' => braces += 1,
            '}' => {
                braces = braces.saturating_sub(1);
                if inline_modules.last() == Some(&braces) {
                    inline_modules.pop();
                }
            }
            _ if at_word && starts_with_word(&chars[i..], "mod") => {
                let rest: String = chars[i + 3..].iter().take(200).collect();
                let mut words = rest.split_whitespace();
                let name = words.next().unwrap_or("");
                if name.ends_with('{') || words.next().is_some_and(|w| w.starts_with('{')) {
                    inline_modules.push(braces);
                }
            }
            _ if at_word && starts_with_path(&chars[i..], crate_name) => {
                let after = i + crate_name.len() + 2;
                found.extend(
                    first_segments(&chars[after..])
                        .into_iter()
                        .map(|m| (m, line)),
                );
            }
            _ if at_word && starts_with_path(&chars[i..], "super") => {
                let mut climbs = 0;
                let mut j = i;
                while starts_with_path(&chars[j..], "super") {
                    climbs += 1;
                    j += "super::".len();
                }
                if climbs >= path.len() + inline_modules.len() {
                    found.extend(first_segments(&chars[j..]).into_iter().map(|m| (m, line)));
                }
                i = j;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    found
}

fn starts_with_word(text: &[char], word: &str) -> bool {
    let n = word.chars().count();
    text.len() > n
        && text.iter().take(n).copied().eq(word.chars())
        && !(text[n].is_alphanumeric() || text[n] == '_')
}

fn starts_with_path(text: &[char], word: &str) -> bool {
    let n = word.chars().count();
    text.iter().take(n).copied().eq(word.chars())
        && text[n.min(text.len())..].starts_with(&[':', ':'])
}

/// The first segment of the path at the start of `text`, or of each path of a `{…}` group.
fn first_segments(text: &[char]) -> Vec<String> {
    let ident = |from: usize| -> String {
        text[from..]
            .iter()
            .skip_while(|c| c.is_whitespace())
            .take_while(|c| c.is_alphanumeric() || **c == '_')
            .collect()
    };
    let start = text.iter().take_while(|c| c.is_whitespace()).count();
    if text.get(start) != Some(&'{') {
        return vec![ident(start)];
    }
    let mut segments = Vec::new();
    let mut depth = 0;
    let mut item_start = true;
    for (i, &c) in text.iter().enumerate().skip(start) {
        match c {
            '{' => {
                depth += 1;
                if depth == 1 {
                    item_start = true;
                    continue;
                }
            }
            '}' => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            ',' if depth == 1 => {
                item_start = true;
                continue;
            }
            _ => {}
        }
        if item_start && depth == 1 && !c.is_whitespace() {
            segments.push(ident(i));
            item_start = false;
        }
    }
    segments.retain(|s| !s.is_empty() && s != "self");
    segments
}

/// The groups of two or more modules that use each other in a circle.
fn circles(uses: &Uses) -> Vec<BTreeSet<String>> {
    let reach = |from: &String| {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from.clone()];
        while let Some(module) = todo.pop() {
            for to in uses.get(&module).into_iter().flat_map(|t| t.keys()) {
                if seen.insert(to.clone()) {
                    todo.push(to.clone());
                }
            }
        }
        seen
    };
    let reachable: BTreeMap<&String, BTreeSet<String>> =
        uses.keys().map(|module| (module, reach(module))).collect();
    let mut groups: Vec<BTreeSet<String>> = Vec::new();
    for (module, reached) in &reachable {
        let group: BTreeSet<String> = reached
            .iter()
            .filter(|other| *other != *module && reachable[other].contains(*module))
            .chain(std::iter::once(*module))
            .cloned()
            .collect();
        if group.len() > 1 && !groups.contains(&group) {
            groups.push(group);
        }
    }
    groups
}

/// The module graph, one module a line with what it uses, by layer.
fn graph(uses: &Uses) -> String {
    let mut modules: Vec<&String> = uses.keys().collect();
    modules.sort_by_key(|module| (layer(module).unwrap_or(usize::MAX), module.as_str()));
    modules
        .into_iter()
        .map(|module| {
            let targets: Vec<&str> = uses[module].keys().map(String::as_str).collect();
            format!("{module} -> {}", targets.join(", "))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn only_code_is_searched_for_module_paths() {
    let source = r##"
        use crate::db::{self, DbPool};
        use crate::{models::Role, queries};
        // crate::app in a comment
        /* crate::api /* nested */ crate::app */
        let text = "crate::app";
        let raw = r#"crate::app "quoted" "#;
        let quote = '"'; let brace = '{'; fn f<'a>(x: &'a str) {}
        let role = crate::models::Role::Admin;
        mod tests { use super::super::guard; use super::*; }
    "##;
    let path = ["api".to_owned(), "health".to_owned()];
    let found: BTreeSet<String> = used_modules(&code_only(source), &path, "crate")
        .into_iter()
        .map(|(module, _)| module)
        .collect();
    let expected = ["db", "models", "queries"];
    assert_eq!(found, expected.iter().map(|m| m.to_string()).collect());

    let top = ["api".to_owned()];
    let found = used_modules(
        &code_only("mod tests { use super::super::error; }"),
        &top,
        "crate",
    );
    assert_eq!(found, vec![("error".to_owned(), 1)]);
}

#[test]
fn a_circle_is_found_whatever_its_length() {
    let mut uses = Uses::new();
    for (from, to) in [("a", "b"), ("b", "c"), ("c", "a"), ("c", "d"), ("d", "e")] {
        uses.entry(from.into())
            .or_default()
            .insert(to.into(), String::new());
        uses.entry(to.into()).or_default();
    }
    let expected: BTreeSet<String> = ["a", "b", "c"].iter().map(|m| m.to_string()).collect();
    assert_eq!(circles(&uses), vec![expected]);
}
