//! idpctl contexts with the real binary: a context supplies the admin URL and token file
//! when the command line and environment do not, `--context` picks another for one command,
//! flags and `IDPCTL_URL` beat the context, and a missing context is a usage error.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use idp_tests::{Backend, Value, bin, setup};

/// idpctl with only the given environment: no inherited IDPCTL_* settings.
fn idpctl(config: &Path, cwd: &Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut cmd = Command::new(bin("idpctl"));
    cmd.current_dir(cwd)
        .env_remove("IDPCTL_TOKEN")
        .env_remove("IDPCTL_URL")
        .env_remove("IDPCTL_TOKEN_FILE")
        .env_remove("IDPCTL_CONTEXT")
        .env("IDPCTL_CONFIG", config)
        .stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.args(args).output().expect("run idpctl")
}

fn json(out: &Output) -> Value {
    assert!(out.status.success(), "{out:?}");
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {out:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contexts_supply_url_and_token() {
    let s = setup(Backend::Sqlite).await;
    let idpd = &s.idpd;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("conf/config.yaml");
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, idpd.admin_token()).unwrap();
    let cwd = dir.path();

    // No context yet: the default URL has no idpd (exit 1) or no token (exit 4).
    let none = idpctl(&config, cwd, &[], &["status", "-o", "json"]);
    assert!(!none.status.success(), "{none:?}");

    // The token file is given relative to the working directory and stored absolute.
    let add = idpctl(
        &config,
        cwd,
        &[],
        &[
            "context",
            "add",
            "local",
            "--url",
            &idpd.admin_url(),
            "--token-file",
            "token",
        ],
    );
    assert!(add.status.success(), "{add:?}");
    let stored = std::fs::read_to_string(&config).unwrap();
    assert!(
        stored.contains(&token_file.display().to_string()),
        "{stored}"
    );
    assert!(
        !stored.contains(&idpd.admin_token()),
        "a context never holds the token"
    );
    // The first context becomes current; a second one does not unless --use.
    let add = idpctl(
        &config,
        cwd,
        &[],
        &["context", "add", "dead", "--url", "http://127.0.0.1:9"],
    );
    assert!(add.status.success(), "{add:?}");

    let list = json(&idpctl(
        &config,
        cwd,
        &[],
        &["context", "list", "-o", "json"],
    ));
    assert_eq!(list["current_context"], "local");
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
    let table = idpctl(&config, cwd, &[], &["context", "list"]);
    let table = String::from_utf8_lossy(&table.stdout);
    assert!(
        table
            .lines()
            .any(|l| l.contains('*') && l.contains("local")),
        "{table}"
    );

    // From another directory, with nothing but the context.
    let elsewhere = tempfile::tempdir().unwrap();
    let status = json(&idpctl(
        &config,
        elsewhere.path(),
        &[],
        &["status", "-o", "json"],
    ));
    assert_eq!(status["backend"], "sqlite", "{status}");

    // --context and IDPCTL_CONTEXT pick another one; IDPCTL_URL beats the context's URL.
    // ("dead" has no token file: no token is found, exit 4, rather than local's token
    // being sent to dead's URL.)
    let dead = idpctl(&config, cwd, &[], &["--context", "dead", "status"]);
    assert_eq!(dead.status.code(), Some(4), "{dead:?}");
    let dead = idpctl(&config, cwd, &[("IDPCTL_CONTEXT", "dead")], &["status"]);
    assert_eq!(dead.status.code(), Some(4), "{dead:?}");
    let token = token_file.display().to_string();
    let dead = idpctl(
        &config,
        cwd,
        &[("IDPCTL_CONTEXT", "dead"), ("IDPCTL_TOKEN_FILE", &token)],
        &["status"],
    );
    assert_eq!(dead.status.code(), Some(1), "{dead:?}");
    assert!(
        String::from_utf8_lossy(&dead.stderr).contains("127.0.0.1:9"),
        "{dead:?}"
    );
    let url = idpd.admin_url();
    let rescued = idpctl(
        &config,
        cwd,
        &[("IDPCTL_URL", &url), ("IDPCTL_TOKEN_FILE", &token)],
        &["--context", "dead", "status", "-o", "json"],
    );
    assert!(rescued.status.success(), "{rescued:?}");

    // Switching, and errors for names that do not exist.
    assert!(
        idpctl(&config, cwd, &[], &["context", "use", "dead"])
            .status
            .success()
    );
    let list = json(&idpctl(
        &config,
        cwd,
        &[],
        &["context", "list", "-o", "json"],
    ));
    assert_eq!(list["current_context"], "dead");
    let missing = idpctl(&config, cwd, &[], &["context", "use", "nope"]);
    assert_eq!(missing.status.code(), Some(2), "{missing:?}");
    let missing = idpctl(&config, cwd, &[], &["--context", "nope", "status"]);
    assert_eq!(missing.status.code(), Some(2), "{missing:?}");
    assert!(String::from_utf8_lossy(&missing.stderr).contains("nope"));
    let bad = idpctl(
        &config,
        cwd,
        &[],
        &["context", "add", "a b", "--url", "http://x"],
    );
    assert_eq!(bad.status.code(), Some(2), "{bad:?}");
    assert!(
        idpctl(&config, cwd, &[], &["context", "remove", "dead"])
            .status
            .success()
    );
    let list = json(&idpctl(
        &config,
        cwd,
        &[],
        &["context", "list", "-o", "json"],
    ));
    assert_eq!(list["current_context"], Value::Null);
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    // A broken file is reported with its path, not ignored.
    std::fs::write(&config, "contexts: {oops").unwrap();
    let broken = idpctl(&config, cwd, &[], &["context", "list"]);
    assert_eq!(broken.status.code(), Some(2), "{broken:?}");
    assert!(String::from_utf8_lossy(&broken.stderr).contains("config.yaml"));
}
