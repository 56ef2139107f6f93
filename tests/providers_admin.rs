//! `idpctl provider ...` through the real binary against a fake upstream: add with explicit
//! endpoints, list, show, update, test, set-default, remove; exit codes; the secret is never
//! printed; email-domain routing on the native login page.

use idp_tests::browser::{Browser, acme_with_web_client, pkce, start_login, submit_email};
use idp_tests::upstream::{FakeUpstream, setup_federation};
use idp_tests::{Backend, both_backends};
use reqwest::StatusCode;

both_backends!(provider_commands, email_domain_routes_to_the_provider);

async fn provider_commands(backend: Backend) {
    let s = setup_federation(backend).await;
    let idpd = &s.idpd;
    acme_with_web_client(idpd).await;
    let up = FakeUpstream::start("idp-acme", "upstream-secret").await;
    let secret_file = s.dir.path().join("secret");
    std::fs::write(&secret_file, "upstream-secret\n").unwrap();
    let secret = secret_file.to_str().unwrap();
    let ctl = idpd.ctl();
    let base = up.base.clone();

    // `provider add --tenant acme --name corp --issuer BASE --client-id idp-acme` + `extra`.
    let add = |extra: &[&str]| {
        let mut args = vec!["-o", "json", "provider", "add", "--tenant", "acme"];
        args.extend([
            "--name",
            "corp",
            "--issuer",
            &base,
            "--client-id",
            "idp-acme",
        ]);
        args.extend(extra);
        ctl.run(args)
    };
    let (authorize, token, jwks) = (
        format!("{base}/authorize"),
        format!("{base}/token"),
        format!("{base}/jwks"),
    );
    // No secret: a usage error naming both ways to give it.
    let out = add(&[]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("--client-secret-file"), "{out:?}");
    // Only some endpoints: the server names the missing ones.
    let out = add(&["--client-secret-file", secret, "--token-endpoint", &token]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains("authorization_endpoint") && out.stderr.contains("jwks_uri"),
        "{out:?}"
    );
    // Explicit endpoints, no discovery.
    let out = add(&[
        "--client-secret-file",
        secret,
        "--authorization-endpoint",
        &authorize,
        "--token-endpoint",
        &token,
        "--jwks-uri",
        &jwks,
    ])
    .ok();
    let p = out.json();
    assert_eq!(p["discovery"], false, "{p}");
    assert_eq!(p["has_client_secret"], true);
    assert_eq!(p["is_default"], false);
    assert!(p.get("userinfo_endpoint").is_none(), "{p}");
    assert!(!out.stdout.contains("upstream-secret"));
    assert_secret_sealed(idpd, backend, "upstream-secret").await;
    // Taken name: conflict.
    let out = add(&["--client-secret-file", secret]);
    assert_eq!(out.code, 5, "{out:?}");

    let out = ctl.run(["provider", "list", "--tenant", "acme"]).ok();
    assert!(
        out.stdout.contains("native") && out.stdout.contains("corp"),
        "{out:?}"
    );
    let out = ctl
        .run(["provider", "show", "--tenant", "acme", "corp"])
        .ok();
    assert!(
        out.stdout
            .contains(&format!("{}/t/acme/callback/corp", idpd.public_url())),
        "{out:?}"
    );
    assert!(!out.stdout.contains("upstream-secret"));

    let out = ctl
        .run([
            "-o",
            "json",
            "provider",
            "update",
            "--tenant",
            "acme",
            "corp",
            "--email-domain",
            "corp.example",
            "--link-by-email",
            "--rediscover",
        ])
        .ok();
    let p = out.json();
    assert_eq!(p["email_domains"][0], "corp.example", "{p}");
    assert_eq!(p["link_by_email"], true);
    assert_eq!(p["discovery"], true, "rediscovered");
    assert_eq!(p["userinfo_endpoint"], format!("{base}/userinfo").as_str());
    let out = ctl.run(["provider", "update", "--tenant", "acme", "corp"]);
    assert_eq!(out.code, 2, "{out:?}");

    // provider test: every check reported; a failing one fails the command.
    let out = ctl
        .run(["-o", "json", "provider", "test", "--tenant", "acme", "corp"])
        .ok();
    let t = out.json();
    assert_eq!(t["ok"], true, "{t}");
    let checks: Vec<&str> = t["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["check"].as_str().unwrap())
        .collect();
    assert_eq!(checks, ["discovery", "endpoints", "jwks"]);
    up.set(|b| b.discovery_issuer = Some("https://elsewhere.example".into()));
    let out = ctl.run(["provider", "test", "--tenant", "acme", "corp"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stdout.contains("FAILED"), "{out:?}");
    up.set(|b| b.discovery_issuer = None);

    // set-default, then remove is refused until native is the default again.
    ctl.run(["provider", "set-default", "--tenant", "acme", "corp"])
        .ok();
    let out = ctl.run(["provider", "remove", "--tenant", "acme", "corp", "--yes"]);
    assert_eq!(out.code, 5, "{out:?}");
    let out = ctl.run(["provider", "remove", "--tenant", "acme", "corp"]);
    assert_ne!(out.code, 0, "no terminal, no --yes: refused");
    let out = ctl.run(["provider", "set-default", "--tenant", "acme", "nope"]);
    assert_eq!(out.code, 3, "{out:?}");
    ctl.run(["provider", "set-default", "--tenant", "acme", "native"])
        .ok();
    ctl.run(["provider", "remove", "--tenant", "acme", "corp", "--yes"])
        .ok();
    let out = ctl.run(["provider", "show", "--tenant", "acme", "corp"]);
    assert_eq!(out.code, 3, "{out:?}");
    let out = ctl.run(["provider", "remove", "--tenant", "acme", "native", "--yes"]);
    assert_eq!(out.code, 1, "{out:?}");
}

async fn email_domain_routes_to_the_provider(backend: Backend) {
    let s = setup_federation(backend).await;
    let idpd = &s.idpd;
    let client_id = acme_with_web_client(idpd).await;
    let up = FakeUpstream::start("idp-acme", "upstream-secret").await;
    let (st, p) = idp_tests::upstream::add_provider(
        idpd,
        "acme",
        "corp",
        &up,
        idp_tests::json!({"email_domains": ["Corp.Example"]}),
    )
    .await;
    assert_eq!(st, 201, "{p}");
    let mut b = Browser::new(idpd);
    let (_, challenge) = pkce();
    // Native stays the default: other addresses get a code as before.
    let (flow, csrf) = start_login(&mut b, &client_id, &challenge).await;
    let p = submit_email(&mut b, &flow, &csrf, "Someone@Corp.EXAMPLE").await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let to = p.location.unwrap();
    assert!(to.starts_with(&format!("{}/authorize?", up.base)), "{to}");
    // The upstream gets the address as a hint and answers; the login completes at acme.
    let p = b.get(&to).await;
    assert_eq!(up.seen().authorize["login_hint"], "someone@corp.example");
    let p = b.get(p.location.as_deref().unwrap()).await;
    assert_eq!(p.status, StatusCode::FOUND, "{}", p.body);
    assert!(
        p.location
            .unwrap()
            .starts_with(idp_tests::browser::REDIRECT)
    );
    // No mail went out for the routed address.
    assert!(idp_tests::browser::outbox_mails(idpd, "someone@corp.example").is_empty());
    // Another domain still gets a code.
    let mut b = Browser::new(idpd);
    let (flow, csrf) = start_login(&mut b, &client_id, &challenge).await;
    let p = submit_email(&mut b, &flow, &csrf, "alice@example.com").await;
    assert_eq!(
        p.location.as_deref().unwrap(),
        format!("/t/acme/login?flow={flow}")
    );
}

/// The upstream client secret is not in the database in the clear (it is sealed with the
/// master key).
async fn assert_secret_sealed(idpd: &idp_tests::Idpd, backend: Backend, secret: &str) {
    match backend {
        Backend::Sqlite => {
            // The scan sees the provider row: its client_id is stored in the clear.
            let mut saw_row = false;
            for entry in std::fs::read_dir(&idpd.data_dir).unwrap() {
                let path = entry.unwrap().path();
                if path
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with("idpd.db")
                {
                    let bytes = std::fs::read(&path).unwrap();
                    saw_row |= bytes.windows(8).any(|w| w == b"idp-acme");
                    assert!(
                        !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                        "{} holds the secret in the clear",
                        path.display()
                    );
                }
            }
            assert!(
                saw_row,
                "the provider row was not found in the database files"
            );
        }
        Backend::Postgres => {
            use sqlx::{Connection, Row};
            let mut c = sqlx::PgConnection::connect(&idpd.db_url).await.unwrap();
            let rows = sqlx::query(
                "SELECT config::text AS config, client_secret_sealed FROM idp_identity_providers",
            )
            .fetch_all(&mut c)
            .await
            .unwrap();
            for r in rows {
                let config: String = r.get("config");
                let sealed: Option<Vec<u8>> = r.get("client_secret_sealed");
                assert!(!config.contains(secret));
                if let Some(sealed) = sealed {
                    assert!(!sealed.windows(secret.len()).any(|w| w == secret.as_bytes()));
                }
            }
        }
    }
}
