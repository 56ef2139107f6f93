//! `idpctl apply` and `idpctl export` with the real binary against a real idpd: plan,
//! create, idempotence, edits, dry runs, prune, invalid documents (file:line: field, and
//! nothing applied), and export → apply --dry-run showing no changes.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use idp_tests::oauth::{Auth, Op};
use idp_tests::{Backend, CtlOutput, Idpd, Value, bin, both_backends, setup};

both_backends!(apply_converges_and_export_round_trips);
both_backends!(invalid_documents_apply_nothing);

const ACME: &str = r#"apiVersion: idp/v1
kind: Tenant
slug: acme
name: Acme Corp
locales: [en, nb]
signupPolicy: invite
session:
  ttl: 12h
  sameSite: lax
clients:
  - clientId: web
    name: Web app
    public: true
    redirectUris:
      - https://app.acme.example/callback
  - clientId: billing
    name: Billing
    grantTypes: [client_credentials]
    scopes: [invoices]
users:
  - email: alice@acme.example
    name: Alice
    locale: nb
  - email: bob@acme.example
"#;

const BETA: &str = r#"# a second tenant in its own file
apiVersion: idp/v1
kind: Tenant
slug: beta
name: Beta
"#;

fn apply(idpd: &Idpd, args: &[&str]) -> CtlOutput {
    let mut all = vec!["apply"];
    all.extend_from_slice(args);
    idpd.ctl().run(all)
}

fn summary(out: &CtlOutput) -> Value {
    assert_eq!(out.code, 0, "{out:?}");
    out.json()["summary"].clone()
}

fn changes_of(out: &CtlOutput, action: &str) -> Vec<Value> {
    out.json()["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["action"] == action)
        .cloned()
        .collect()
}

fn tenants(idpd: &Idpd) -> Vec<String> {
    let list = idpd.ctl().run(["tenant", "list", "-o", "json"]).ok().json();
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["slug"].as_str().unwrap().to_owned())
        .collect()
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

async fn apply_converges_and_export_round_trips(backend: Backend) {
    let s = setup(backend).await;
    let idpd = &s.idpd;
    let dir = tempfile::tempdir().unwrap();
    let tenants_dir = dir.path().join("tenants");
    std::fs::create_dir(&tenants_dir).unwrap();
    write(&tenants_dir, "acme.yaml", ACME);
    write(&tenants_dir, "beta.yml", BETA);
    write(&tenants_dir, "README.txt", "not a document");
    let d = tenants_dir.display().to_string();

    // The plan on an empty server, and a dry run changes nothing.
    let plan = apply(idpd, &["-f", &d, "--dry-run", "-o", "json"]);
    let sum = summary(&plan);
    assert_eq!(sum["create"], 6, "{sum}"); // 2 tenants, 2 clients, 2 users
    assert_eq!(plan.json()["applied"], false);
    assert!(tenants(idpd).is_empty());
    let table = apply(idpd, &["-f", &d, "--dry-run"]).ok();
    assert!(
        table.stdout.contains("+ create client acme/web"),
        "{table:?}"
    );
    assert!(
        table
            .stdout
            .contains("Plan: 6 to create, 0 to update, 0 to delete"),
        "{table:?}"
    );

    // Apply: everything is created; the new secret goes to the secrets file only.
    let secrets = dir.path().join("secrets.yaml");
    let secrets_arg = secrets.display().to_string();
    let out = apply(idpd, &["-f", &d, "--secrets-out", &secrets_arg]).ok();
    assert!(!out.stdout.contains("idp_cs_"), "{out:?}");
    assert_eq!(tenants(idpd), ["acme", "beta"]);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&secrets).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let stored: Value = serde_yaml::from_str(&std::fs::read_to_string(&secrets).unwrap()).unwrap();
    assert_eq!(stored[0]["client_id"], "billing");
    let secret = stored[0]["client_secret"].as_str().unwrap().to_owned();
    // The secret is real: billing gets a token with it.
    let res = Op::new(idpd, "acme")
        .client_credentials(&Auth::Basic("billing".into(), secret), Some("invoices"))
        .await;
    assert_eq!(res.status, 200, "{res:?}");
    let acme = idpd
        .ctl()
        .run(["tenant", "show", "acme", "-o", "json"])
        .ok()
        .json();
    assert_eq!(acme["signup_policy"], "invite");
    assert_eq!(acme["locales"], serde_json::json!(["en", "nb"]));
    assert_eq!(acme["session"]["ttl_seconds"], 43200);
    let alice = idpd
        .ctl()
        .run([
            "user",
            "show",
            "--tenant",
            "acme",
            "alice@acme.example",
            "-o",
            "json",
        ])
        .ok()
        .json();
    assert_eq!(alice["locale"], "nb");

    // Again: no changes.
    let again = apply(idpd, &["-f", &d, "-o", "json"]);
    let sum = summary(&again);
    assert_eq!(
        (sum["create"].as_u64(), sum["update"].as_u64()),
        (Some(0), Some(0)),
        "{sum}"
    );
    assert_eq!(sum["unchanged"], 6);
    assert_eq!(again.json()["applied"], false);
    assert!(again.stderr.contains("no changes"), "{again:?}");

    // Edits: only the edited objects change, with the changed fields named.
    let edited = ACME
        .replace(
            "      - https://app.acme.example/callback\n",
            "      - https://app.acme.example/callback\n      - https://app.acme.example/cb2\n",
        )
        .replace("    name: Alice\n", "    name: Alice Smith\n");
    write(&tenants_dir, "acme.yaml", &edited);
    let dry = apply(idpd, &["-f", &d, "--dry-run", "-o", "json"]);
    let updates = changes_of(&dry, "update");
    assert_eq!(updates.len(), 2, "{updates:#?}");
    assert_eq!(updates[0]["name"], "web");
    assert_eq!(updates[0]["changes"][0]["field"], "redirectUris");
    assert_eq!(updates[1]["name"], "alice@acme.example");
    assert_eq!(updates[1]["changes"][0]["field"], "name");
    assert_eq!(updates[1]["changes"][0]["from"], "Alice");
    assert_eq!(updates[1]["changes"][0]["to"], "Alice Smith");
    let web = idpd
        .ctl()
        .run(["client", "show", "--tenant", "acme", "web", "-o", "json"])
        .ok()
        .json();
    assert_eq!(
        web["redirect_uris"].as_array().unwrap().len(),
        1,
        "dry run changed nothing"
    );
    let table = apply(idpd, &["-f", &d]).ok();
    assert!(
        table.stdout.contains("~ update client acme/web"),
        "{table:?}"
    );
    assert!(table.stdout.contains("redirectUris:"), "{table:?}");
    let web = idpd
        .ctl()
        .run(["client", "show", "--tenant", "acme", "web", "-o", "json"])
        .ok()
        .json();
    assert_eq!(web["redirect_uris"].as_array().unwrap().len(), 2);

    // Bob leaves the file: kept without --prune; --prune needs --yes without a terminal.
    let without_bob = edited.replace("  - email: bob@acme.example\n", "");
    write(&tenants_dir, "acme.yaml", &without_bob);
    let sum = summary(&apply(idpd, &["-f", &d, "-o", "json"]));
    assert_eq!(sum["delete"], 0);
    let refused = apply(idpd, &["-f", &d, "--prune"]);
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(refused.stderr.contains("--yes"), "{refused:?}");
    let pruned = apply(idpd, &["-f", &d, "--prune", "--yes", "-o", "json"]);
    let deletes = changes_of(&pruned, "delete");
    assert_eq!(deletes.len(), 1, "{pruned:?}");
    assert_eq!(deletes[0]["name"], "bob@acme.example");
    let bob = idpd
        .ctl()
        .run(["user", "show", "--tenant", "acme", "bob@acme.example"]);
    assert_eq!(bob.code, 3, "{bob:?}");

    // export | apply --dry-run: no changes, for both tenants at once, through stdin.
    let exported = idpd
        .ctl()
        .run(["export", "--tenant", "acme", "--tenant", "beta"])
        .ok();
    assert!(
        !exported.stdout.contains("idp_cs_"),
        "no secrets in exports"
    );
    assert!(
        exported.stdout.contains("clientId: billing"),
        "{}",
        exported.stdout
    );
    let mut child = Command::new(bin("idpctl"))
        .args([
            "--url",
            &idpd.admin_url(),
            "apply",
            "-f",
            "-",
            "--dry-run",
            "-o",
            "json",
        ])
        .env("IDPCTL_TOKEN", idpd.admin_token())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(exported.stdout.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let sum = &report["summary"];
    assert_eq!(
        (
            sum["create"].as_u64(),
            sum["update"].as_u64(),
            sum["delete"].as_u64()
        ),
        (Some(0), Some(0), Some(0)),
        "{report:#}"
    );
    assert_eq!(sum["unchanged"], 5); // 2 tenants, 2 clients, alice

    // The audit log holds apply's changes.
    let audit = idpd
        .ctl()
        .run(["audit", "list", "--tenant", "acme", "-o", "json"])
        .ok()
        .json();
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for a in [
        "tenant.create",
        "client.create",
        "client.update",
        "user.update",
        "user.delete",
    ] {
        assert!(actions.contains(&a), "{a} missing in {actions:?}");
    }
}

async fn invalid_documents_apply_nothing(backend: Backend) {
    let s = setup(backend).await;
    let idpd = &s.idpd;
    let dir = tempfile::tempdir().unwrap();
    // A good tenant beside each bad one: it must not be created either.
    let good = write(dir.path(), "good.yaml", BETA);
    let cases: [(&str, String, u32, &str); 8] = [
        (
            "unknown-field.yaml",
            ACME.replace(
                "    scopes: [invoices]\n",
                "    scopes: [invoices]\n    colour: red\n",
            ),
            20,
            "colour",
        ),
        (
            "wrong-type.yaml",
            ACME.replace("    public: true\n", "    public: maybe\n"),
            13,
            "public",
        ),
        (
            "bad-redirect.yaml",
            ACME.replace(
                "https://app.acme.example/callback",
                "http://app.acme.example/callback",
            ),
            15,
            "clients[0].redirectUris[0]",
        ),
        (
            "duplicate-client.yaml",
            ACME.replace("clientId: billing", "clientId: web"),
            16,
            "clients[1].clientId",
        ),
        (
            "duplicate-user.yaml",
            ACME.replace("bob@acme.example", "Alice@acme.example"),
            24,
            "users[1].email",
        ),
        (
            "bad-duration.yaml",
            ACME.replace("ttl: 12h", "ttl: soon"),
            8,
            "session.ttl",
        ),
        (
            "uuid-slug.yaml",
            ACME.replace(
                "slug: acme\n",
                "slug: 0190f0a1-7b2c-7d3e-8f40-5a6b7c8d9e0f\n",
            ),
            3,
            "slug",
        ),
        (
            "missing-name.yaml",
            ACME.replace("name: Acme Corp\n", ""),
            1,
            "name",
        ),
    ];
    for (name, text, line, field) in cases {
        let path = write(dir.path(), name, &text);
        let out = apply(idpd, &["-f", &good, "-f", &path]);
        assert_eq!(out.code, 1, "{name}: {out:?}");
        let expected = format!("{path}:{line}:");
        assert!(
            out.stderr.contains(&expected),
            "{name}: want {expected} in {}",
            out.stderr
        );
        assert!(
            out.stderr.contains(field),
            "{name}: want {field} in {}",
            out.stderr
        );
        assert!(
            out.stderr.contains("nothing was applied"),
            "{name}: {}",
            out.stderr
        );
        assert!(tenants(idpd).is_empty(), "{name}: something was applied");
    }
    // A missing file, a duplicate tenant across files, a wrong apiVersion.
    let missing = apply(idpd, &["-f", &good, "-f", "/nonexistent/tenants.yaml"]);
    assert_eq!(missing.code, 1, "{missing:?}");
    assert!(
        missing.stderr.contains("/nonexistent/tenants.yaml"),
        "{missing:?}"
    );
    let twice = apply(idpd, &["-f", &good, "-f", &good]);
    assert_eq!(twice.code, 1);
    assert!(twice.stderr.contains("described twice"), "{twice:?}");
    let version = write(dir.path(), "v2.yaml", &BETA.replace("idp/v1", "idp/v2"));
    let v2 = apply(idpd, &["-f", &version]);
    assert!(
        v2.stderr.contains(&format!("{version}:2: apiVersion")),
        "{v2:?}"
    );
    // Several documents in one file: the line is counted from the top of the file.
    let multi = write(
        dir.path(),
        "multi.yaml",
        &format!(
            "{BETA}---\n{}",
            ACME.replace("    public: true\n", "    public: true\n    bogus: 1\n")
        ),
    );
    let out = apply(idpd, &["-f", &multi]);
    assert!(out.stderr.contains(&format!("{multi}:20:")), "{out:?}");
    assert!(tenants(idpd).is_empty());
    // Switching a client between public and confidential is refused before anything runs.
    apply(idpd, &["-f", &write(dir.path(), "acme.yaml", ACME)]).ok();
    let flipped = write(
        dir.path(),
        "flip.yaml",
        &ACME
            .replace("    public: true\n", "    public: false\n")
            .replace("name: Acme Corp", "name: Acme Renamed"),
    );
    let out = apply(idpd, &["-f", &flipped]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("public and confidential"), "{out:?}");
    let acme = idpd
        .ctl()
        .run(["tenant", "show", "acme", "-o", "json"])
        .ok()
        .json();
    assert_eq!(acme["display_name"], "Acme Corp", "nothing applied");
}

both_backends!(apply_manages_external_providers);

/// Providers in apply documents: tenant corp of the same idpd is acme's upstream. The
/// secret comes from a file; the default switch, an edit, export round trip and pruning
/// (refused while the provider is the default) all go through apply.
async fn apply_manages_external_providers(backend: Backend) {
    let s = idp_tests::upstream::setup_federation(backend).await;
    let idpd = &s.idpd;
    let dir = tempfile::tempdir().unwrap();
    let issuer = format!("{}/t/corp", idpd.public_url());
    let callback = format!("{}/t/acme/callback/corp", idpd.public_url());
    // corp first (acme's provider is discovered from it at apply time), with the broker
    // client whose secret acme's provider needs: the secret comes from the first apply.
    let corp = format!(
        "apiVersion: idp/v1\nkind: Tenant\nslug: corp\nname: Corp\nclients:\n  - clientId: broker\n    name: acme broker\n    redirectUris: [\"{callback}\"]\n    scopes: [openid, email, profile]\n"
    );
    let corp_file = write(dir.path(), "corp.yaml", &corp);
    let secrets = dir.path().join("secrets.yaml");
    let secrets_arg = secrets.display().to_string();
    apply(idpd, &["-f", &corp_file, "--secrets-out", &secrets_arg]).ok();
    let stored: Value = serde_yaml::from_str(&std::fs::read_to_string(&secrets).unwrap()).unwrap();
    let secret_file = dir.path().join("corp-secret");
    std::fs::write(
        &secret_file,
        format!("{}\n", stored[0]["client_secret"].as_str().unwrap()),
    )
    .unwrap();

    let acme = format!(
        "apiVersion: idp/v1\nkind: Tenant\nslug: acme\nname: Acme\ndefaultProvider: corp\nproviders:\n  - name: corp\n    issuer: {issuer}\n    clientId: broker\n    clientSecretFile: {}\n    emailDomains: [acme.example]\n",
        secret_file.display()
    );
    let acme_file = write(dir.path(), "acme.yaml", &acme);
    let plan = apply(idpd, &["-f", &acme_file, "--dry-run", "-o", "json"]);
    assert_eq!(summary(&plan)["create"], 2, "{plan:?}"); // tenant, provider
    assert_eq!(
        changes_of(&plan, "update")[0]["changes"][0]["field"],
        "defaultProvider"
    );
    apply(idpd, &["-f", &acme_file]).ok();
    let t = idpd
        .ctl()
        .run(["tenant", "show", "acme", "-o", "json"])
        .ok()
        .json();
    assert_eq!(t["default_provider"], "corp");
    let p = idpd
        .ctl()
        .run(["provider", "show", "--tenant", "acme", "corp", "-o", "json"])
        .ok()
        .json();
    assert_eq!(p["has_client_secret"], true);
    assert_eq!(p["email_domains"], serde_json::json!(["acme.example"]));
    // The secret never leaves idpd: not in the export, not in any output.
    let exported = idpd.ctl().run(["export", "--tenant", "acme"]).ok();
    assert!(
        !exported
            .stdout
            .contains(stored[0]["client_secret"].as_str().unwrap())
    );
    assert!(
        exported.stdout.contains("defaultProvider: corp"),
        "{}",
        exported.stdout
    );
    let round = write(dir.path(), "round.yaml", &exported.stdout);
    let sum = summary(&apply(idpd, &["-f", &round, "--dry-run", "-o", "json"]));
    assert_eq!(
        (sum["create"].as_u64(), sum["update"].as_u64()),
        (Some(0), Some(0)),
        "{sum}"
    );
    // Idempotent; then an edit of one field.
    let sum = summary(&apply(idpd, &["-f", &acme_file, "-o", "json"]));
    assert_eq!(sum["update"], 0, "{sum}");
    let edited = write(
        dir.path(),
        "acme.yaml",
        &acme.replace("[acme.example]", "[acme.example, acme.test]"),
    );
    let out = apply(idpd, &["-f", &edited, "-o", "json"]);
    let updates = changes_of(&out, "update");
    assert_eq!(updates.len(), 1, "{updates:#?}");
    assert_eq!(updates[0]["changes"][0]["field"], "emailDomains");
    // Pruning the default provider is refused up front; switching back to native allows it.
    let without = "apiVersion: idp/v1\nkind: Tenant\nslug: acme\nname: Acme\n";
    let without_file = write(dir.path(), "acme.yaml", without);
    let refused = apply(idpd, &["-f", &without_file, "--prune", "--yes"]);
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(refused.stderr.contains("default provider"), "{refused:?}");
    let native = write(
        dir.path(),
        "acme.yaml",
        &format!("{without}defaultProvider: native\n"),
    );
    apply(idpd, &["-f", &native, "--prune", "--yes"]).ok();
    let gone = idpd
        .ctl()
        .run(["provider", "show", "--tenant", "acme", "corp"]);
    assert_eq!(gone.code, 3, "{gone:?}");
    // A new provider without a secret reference is refused before anything is applied.
    let no_secret = write(
        dir.path(),
        "acme.yaml",
        &acme.replace(
            &format!("    clientSecretFile: {}\n", secret_file.display()),
            "",
        ),
    );
    let out = apply(idpd, &["-f", &no_secret]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains("clientSecretFile or clientSecretEnv"),
        "{out:?}"
    );
    let missing = write(
        dir.path(),
        "acme.yaml",
        &acme.replace(&secret_file.display().to_string(), "/nonexistent/secret"),
    );
    let out = apply(idpd, &["-f", &missing]);
    assert!(
        out.stderr
            .contains(&format!("{missing}:10: providers[0].clientSecretFile")),
        "{out:?}"
    );
    let t = idpd
        .ctl()
        .run(["tenant", "show", "acme", "-o", "json"])
        .ok()
        .json();
    assert_eq!(t["default_provider"], "native", "nothing applied");
}
