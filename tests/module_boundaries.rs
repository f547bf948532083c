//! The module boundaries the architecture promises, read from the `src/` tree: no import
//! circle between top-level modules (nor between the files of one module), no arrow up the
//! layer order below, the store's key layout used only inside `src/store`, and `App`'s
//! parts reached only inside `src/app`. The compiler enforces the last two as well (the
//! key module and `App`'s fields are private); this test names the rule when it breaks.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Top-level modules, lowest layer first. A module may import only modules of lower
/// layers; a new module must be placed here.
const LAYERS: &[&[&str]] = &[
    &["domain"],
    &[
        "dates",
        "clock",
        "tsv",
        "text_file",
        "text",
        "language",
        "auth",
        "notify",
    ],
    &["classify", "rules", "policy", "test_pattern"],
    &["limits"],
    &["engine", "config"],
    // Above `config`: the store opens the backend `[store]` names.
    &["store"],
    &["error", "shipped"],
    &["report"],
    &["app"],
    &["batch", "seed"],
    &["commands"],
    &["server"],
];

/// Modules whose files still import each other in a circle (none since the normalizer's
/// stages were split); an entry here is a debt to pay, not a permission.
const KNOWN_FILE_CIRCLES: &[&str] = &[];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The file's code without `//` comments (doc links name modules without importing them).
fn code(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|line| match line.find("//") {
            // A `//` inside a string literal (a URL) keeps the line.
            Some(at) if line[..at].matches('"').count() % 2 == 0 => &line[..at],
            _ => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn ident_at(text: &str) -> &str {
    let end = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    &text[..end]
}

/// The first path segment of every `prefix` path in `code`, including each member of a
/// `prefix{a, b::c}` group.
fn paths_after(code: &str, prefix: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for (at, _) in code.match_indices(prefix) {
        let rest = &code[at + prefix.len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0;
            let mut start = 0;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        names.insert(ident_at(group[start..].trim_start()).to_string());
                        break;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        names.insert(ident_at(group[start..].trim_start()).to_string());
                        start = i + 1;
                    }
                    _ => {}
                }
            }
        } else {
            names.insert(ident_at(rest).to_string());
        }
    }
    names.remove("");
    names.remove("self");
    names
}

/// The top-level module a file belongs to (`None` for the crate roots).
fn top_module(path: &Path) -> Option<String> {
    let relative = path.strip_prefix(src()).unwrap();
    let first = relative.components().next()?.as_os_str().to_str()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    (name != "lib" && name != "main").then(|| name.to_string())
}

/// Which top-level module imports which (`crate::X`; `crate::Store` and the like are
/// re-exports of `store` and friends, named by lib.rs).
fn module_map() -> BTreeMap<String, BTreeSet<String>> {
    let reexports = [("Store", "store"), ("App", "app"), ("Engine", "engine")];
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let mut map: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let Some(from) = top_module(&file) else {
            continue;
        };
        let targets = map.entry(from.clone()).or_default();
        for target in paths_after(&code(&file), "crate::") {
            let target = reexports
                .iter()
                .find(|(name, _)| *name == target)
                .map_or(target.clone(), |(_, module)| module.to_string());
            if target != from && !["Error", "ErrorKind"].contains(&target.as_str()) {
                targets.insert(target);
            }
        }
    }
    map
}

/// Edges of `map` that lie on a circle.
fn circles(map: &BTreeMap<String, BTreeSet<String>>) -> Vec<(String, String)> {
    let reaches = |from: &str, to: &str| {
        let mut seen = BTreeSet::new();
        let mut stack = vec![from.to_string()];
        while let Some(node) = stack.pop() {
            if node == to {
                return true;
            }
            if seen.insert(node.clone()) {
                stack.extend(map.get(&node).into_iter().flatten().cloned());
            }
        }
        false
    };
    let mut found = Vec::new();
    for (from, targets) in map {
        for to in targets {
            if reaches(to, from) {
                found.push((from.clone(), to.clone()));
            }
        }
    }
    found
}

#[test]
fn top_level_modules_form_no_circle() {
    let map = module_map();
    assert!(
        circles(&map).is_empty(),
        "import circles between modules: {:?}",
        circles(&map)
    );
}

#[test]
fn every_import_points_down_the_layer_order() {
    let layer_of = |module: &str| LAYERS.iter().position(|layer| layer.contains(&module));
    let map = module_map();
    let mut upward = Vec::new();
    for (from, targets) in &map {
        let from_layer =
            layer_of(from).unwrap_or_else(|| panic!("module `{from}` is not in LAYERS"));
        for to in targets {
            let to_layer = layer_of(to).unwrap_or_else(|| panic!("module `{to}` is not in LAYERS"));
            if to_layer >= from_layer {
                upward.push(format!("{from} -> {to}"));
            }
        }
    }
    assert!(
        upward.is_empty(),
        "imports that do not point down the layers: {upward:?}\nmodule map: {map:#?}"
    );
}

#[test]
fn files_of_a_module_form_no_circle() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let mut by_module: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for file in &files {
        let Some(module) = top_module(file) else {
            continue;
        };
        if file.parent() == Some(src().as_path()) || KNOWN_FILE_CIRCLES.contains(&&*module) {
            continue;
        }
        let name = file.file_stem().unwrap().to_str().unwrap().to_string();
        let code = code(file);
        let mut targets = paths_after(&code, "super::");
        targets.extend(paths_after(&code, &format!("crate::{module}::")));
        targets.retain(|t| t != &name && t.chars().next().is_some_and(char::is_lowercase));
        by_module.entry(module).or_default().insert(name, targets);
    }
    for (module, map) in by_module {
        let found = circles(&map);
        assert!(found.is_empty(), "import circles in {module}/: {found:?}");
    }
}

#[test]
fn the_store_key_layout_stays_inside_the_store() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let store = src().join("store");
    for file in files.iter().filter(|f| !f.starts_with(&store)) {
        let code = code(file);
        for needle in ["store::keys", "keys::"] {
            assert!(
                !code.contains(needle),
                "{} uses the store's key layout (`{needle}`); add a typed method to the store",
                file.display()
            );
        }
    }
}

#[test]
fn the_app_parts_are_reached_only_inside_the_app() {
    let fields = [
        "store", "engine", "events", "config", "review", "reports", "limiter", "clock",
    ];
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let app = src().join("app");
    for file in files.iter().filter(|f| !f.starts_with(&app)) {
        let code = code(file);
        for field in fields {
            let needle = format!("app.{field}");
            for (at, _) in code.match_indices(&needle) {
                let next = code[at + needle.len()..].chars().next();
                let a_field =
                    !next.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '(');
                assert!(
                    !a_field,
                    "{} reaches `{needle}`; ask the App for an operation instead",
                    file.display()
                );
            }
        }
    }
}

#[test]
fn the_checks_see_what_they_look_for() {
    // The scanner itself: a group import, a nested group and a plain path are all found,
    // and a circle is one.
    let found = paths_after(
        "use crate::{app::App, store::{Reader, WriteTxn}};\nlet x = crate::dates::month_of(0);",
        "crate::",
    );
    assert_eq!(
        found,
        ["app", "dates", "store"]
            .into_iter()
            .map(String::from)
            .collect()
    );
    let mut map = BTreeMap::new();
    map.insert("a".to_string(), BTreeSet::from(["b".to_string()]));
    map.insert("b".to_string(), BTreeSet::from(["a".to_string()]));
    assert_eq!(circles(&map).len(), 2);
    // The real map has the modules it should, so an empty map cannot pass by accident.
    let real = module_map();
    assert!(real["server"].contains("app") && real["app"].contains("store"));
}
