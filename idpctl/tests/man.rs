//! The checked-in `man/idpctl*.1` pages match the clap definitions.
//! `IDP_UPDATE_MAN=1 cargo test -p idpctl --test man` rewrites them.

use std::path::PathBuf;

const UPDATE: &str = "IDP_UPDATE_MAN=1 cargo test -p idpctl --test man";

#[test]
fn man_pages_are_up_to_date() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../man");
    let pages = idpctl::man_pages();
    let update = std::env::var_os("IDP_UPDATE_MAN").is_some_and(|v| v == "1");

    // Pages of commands that no longer exist. Only idpctl's own pages are ours to judge.
    let stale: Vec<String> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|name| name.starts_with("idpctl") && name.ends_with(".1"))
                .filter(|name| !pages.iter().any(|(page, _)| page == name))
                .collect()
        })
        .unwrap_or_default();

    if update {
        std::fs::create_dir_all(&dir).unwrap();
        for (name, content) in &pages {
            std::fs::write(dir.join(name), content).unwrap();
        }
        for name in &stale {
            std::fs::remove_file(dir.join(name)).unwrap();
        }
        return;
    }

    let mut drift: Vec<String> = pages
        .iter()
        .filter(|(name, content)| std::fs::read(dir.join(name)).ok().as_ref() != Some(content))
        .map(|(name, _)| format!("{name} is missing or differs"))
        .collect();
    drift.extend(stale.iter().map(|name| format!("{name} is stale")));
    assert!(
        drift.is_empty(),
        "man pages out of date in {}:\n  {}\nrun `{UPDATE}` and commit the result",
        dir.display(),
        drift.join("\n  ")
    );
}
