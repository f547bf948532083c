//! Lists the shipped rule packs (`rules/*.toml`) and model (`models/default.sgnb`) for
//! `src/shipped.rs`, so the binary carries its defaults and runs from any directory. The
//! list is generated rather than written out so a pack added to `rules/` is never left out.

use std::fmt::Write;
use std::path::Path;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let rules = root.join("rules");
    let model = root.join("models/default.sgnb");
    println!("cargo:rerun-if-changed={}", rules.display());
    println!("cargo:rerun-if-changed={}", model.display());

    let mut packs: Vec<_> = std::fs::read_dir(&rules)
        .unwrap_or_else(|e| panic!("{}: {e}", rules.display()))
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|x| x == "toml"))
        .collect();
    packs.sort();
    let mut code = String::from("pub static RULE_PACKS: &[(&str, &str)] = &[\n");
    for path in &packs {
        let name = path.file_name().unwrap().to_string_lossy();
        writeln!(
            code,
            "    ({name:?}, include_str!({:?})),",
            path.display().to_string()
        )
        .unwrap();
    }
    code.push_str("];\n");
    writeln!(
        code,
        "pub static MODEL: &[u8] = include_bytes!({:?});",
        model.display().to_string()
    )
    .unwrap();
    let out = Path::new(&std::env::var("OUT_DIR").unwrap()).join("shipped.rs");
    std::fs::write(&out, code).unwrap_or_else(|e| panic!("{}: {e}", out.display()));
}
