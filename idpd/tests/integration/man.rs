//! man/idpd.8 is generated from the clap definition; this test fails when it is stale.
//! Regenerate with `IDP_UPDATE_MAN=1 cargo test -p idpd man_page`.

use std::path::PathBuf;

#[test]
fn man_page_is_current() {
    let mut page = Vec::new();
    let cmd = idpd::cli::command();
    clap_mangen::Man::new(cmd)
        .section("8")
        .render(&mut page)
        .expect("render man page");
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../man/idpd.8");
    if std::env::var_os("IDP_UPDATE_MAN").is_some() {
        std::fs::write(&path, &page).expect("write man/idpd.8");
        return;
    }
    let on_disk = String::from_utf8(std::fs::read(&path).unwrap_or_default()).unwrap_or_default();
    let page = String::from_utf8(page).expect("roff is UTF-8");
    let first_difference = on_disk
        .lines()
        .zip(page.lines())
        .find(|(a, b)| a != b)
        .map(|(a, b)| format!("\n  on disk:   {a}\n  generated: {b}"))
        .unwrap_or_default();
    assert!(
        on_disk == page,
        "man/idpd.8 is stale: run `IDP_UPDATE_MAN=1 cargo test -p idpd man_page` and commit it{first_difference}"
    );
}
