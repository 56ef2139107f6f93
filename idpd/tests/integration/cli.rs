//! The idpd command line, run as the real binary: configuration errors name the key,
//! `config show` masks secrets, `config example` is a valid configuration.

use std::process::{Command, Output};

fn idpd(args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_idpd"));
    for (k, _) in std::env::vars() {
        if k.starts_with("IDPD_") {
            cmd.env_remove(k);
        }
    }
    cmd.args(args)
        .envs(envs.iter().copied())
        .output()
        .expect("run idpd")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn unknown_yaml_key_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("idpd.yaml");
    std::fs::write(&file, "listen: 127.0.0.1:0\nadmin_lisen: 127.0.0.1:0\n").unwrap();
    let o = idpd(
        &["config", "check", "--config", file.to_str().unwrap()],
        &[],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("admin_lisen"), "{}", stderr(&o));
}

#[test]
fn bad_values_are_named_whatever_their_source() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("idpd.yaml");
    std::fs::write(&file, "log_format: xml\n").unwrap();
    let o = idpd(
        &["config", "check", "--config", file.to_str().unwrap()],
        &[],
    );
    assert!(stderr(&o).contains("`log_format`"), "{}", stderr(&o));

    let o = idpd(&["config", "check"], &[("IDPD_LISTEN", "not-an-address")]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("`listen`"), "{}", stderr(&o));

    let o = idpd(&["config", "check", "--public-url", "ftp://x"], &[]);
    assert!(stderr(&o).contains("`public_url`"), "{}", stderr(&o));

    let o = idpd(&["config", "check"], &[("IDPD_LISTN", "127.0.0.1:1")]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("IDPD_LISTN"), "{}", stderr(&o));

    let o = idpd(&["config", "check", "--no-such-flag"], &[]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn precedence_flag_env_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("idpd.yaml");
    std::fs::write(
        &file,
        "listen: 127.0.0.1:1001\nadmin_listen: 127.0.0.1:1002\npublic_url: https://file.example\n",
    )
    .unwrap();
    let f = file.to_str().unwrap();
    let o = idpd(
        &[
            "config",
            "show",
            "--config",
            f,
            "--listen",
            "127.0.0.1:3001",
        ],
        &[
            ("IDPD_LISTEN", "127.0.0.1:2001"),
            ("IDPD_ADMIN_LISTEN", "127.0.0.1:2002"),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let shown: serde_yaml::Value = serde_yaml::from_slice(&o.stdout).unwrap();
    assert_eq!(
        shown["listen"].as_str(),
        Some("127.0.0.1:3001"),
        "flag beats env"
    );
    assert_eq!(
        shown["admin_listen"].as_str(),
        Some("127.0.0.1:2002"),
        "env beats file"
    );
    assert_eq!(
        shown["public_url"].as_str(),
        Some("https://file.example"),
        "file beats default"
    );
    assert_eq!(shown["data_dir"].as_str(), Some("./idpd-data"), "default");
}

#[test]
fn config_show_masks_secrets() {
    let o = idpd(
        &["config", "show"],
        &[
            (
                "IDPD_DATABASE_URL",
                "postgres://idp:s3cret-pw@db.example/idp",
            ),
            ("IDPD_SMTP_URL", "smtp://mailer:m41l-pw@mail.example:587"),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(
        !out.contains("s3cret-pw") && !out.contains("m41l-pw"),
        "{out}"
    );
    assert!(out.contains("postgres://idp:***@db.example/idp"), "{out}");
}

#[test]
fn config_example_is_valid() {
    let o = idpd(&["config", "example"], &[]);
    assert!(o.status.success());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("example.yaml");
    std::fs::write(&file, &o.stdout).unwrap();
    let o = idpd(
        &["config", "check", "--config", file.to_str().unwrap()],
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn unreadable_database_url_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let o = idpd(
        &[
            "migrate",
            "--data-dir",
            dir.path().to_str().unwrap(),
            "--database-url",
            "postgres://nobody@127.0.0.1:1/none",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("cannot open the database"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn migrate_creates_database_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d");
    let o = idpd(&["migrate", "--data-dir", data.to_str().unwrap()], &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(data.join("idpd.db").exists() && data.join("master.key").exists());
    // Twice is fine.
    let o = idpd(&["migrate", "--data-dir", data.to_str().unwrap()], &[]);
    assert!(o.status.success(), "{}", stderr(&o));
}
