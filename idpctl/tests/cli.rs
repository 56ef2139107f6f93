//! Smoke tests of the idpctl binary: exit codes and messages, without idpd or against a
//! loopback stub that answers with canned admin API responses.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};

use shared::admin::{CreatedClient, TenantList};

/// A fresh, empty working directory: no `./idpd-data/admin-token` unless a test writes one.
fn workdir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("idpctl-cli-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs idpctl with no terminal and none of its environment variables.
fn idpctl(cwd: &PathBuf, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_idpctl"))
        .args(args)
        .current_dir(cwd)
        .env_remove("IDPCTL_URL")
        .env_remove("IDPCTL_TOKEN")
        .env_remove("IDPCTL_TOKEN_FILE")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn code(out: &Output) -> i32 {
    out.status.code().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// One request as the stub saw it.
#[derive(Debug)]
struct Seen {
    line: String,
    authorization: Option<String>,
    body: String,
}

/// Answers one connection per canned `(status, json)` response, in order, and records the
/// requests. It is never joined: a test that makes fewer requests leaves it waiting.
fn stub(responses: Vec<(u16, String)>) -> (String, Arc<Mutex<Vec<Seen>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&seen);
    std::thread::spawn(move || {
        for (status, body) in responses {
            let (stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream);
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            let (mut length, mut authorization) = (0, None);
            loop {
                let mut header = String::new();
                reader.read_line(&mut header).unwrap();
                let header = header.trim_end();
                if header.is_empty() {
                    break;
                }
                let (name, value) = header.split_once(':').unwrap();
                match name.to_ascii_lowercase().as_str() {
                    "content-length" => length = value.trim().parse().unwrap(),
                    "authorization" => authorization = Some(value.trim().to_owned()),
                    _ => {}
                }
            }
            let mut request_body = vec![0; length];
            reader.read_exact(&mut request_body).unwrap();
            record.lock().unwrap().push(Seen {
                line: line.trim_end().to_owned(),
                authorization,
                body: String::from_utf8(request_body).unwrap(),
            });
            let mut stream = reader.into_inner();
            write!(
                stream,
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\n\
                 content-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            )
            .unwrap();
        }
    });
    (url, seen)
}

fn error_body(code: &str, message: &str) -> String {
    serde_json::json!({"error": code, "message": message, "request_id": "req-1"}).to_string()
}

fn tenant_json(slug: &str) -> serde_json::Value {
    serde_json::json!({
        "id": "0191e5f0-0000-7000-8000-000000000000",
        "slug": slug,
        "display_name": slug.to_uppercase(),
        "locales": ["en"],
        "session": {
            "cookie_name": "__Host-idp",
            "cookie_domain": null,
            "ttl_seconds": 28800,
            "idle_ttl_seconds": 3600,
            "same_site": "lax"
        },
        "signup_policy": "open",
        "default_provider": "native",
        "issuer": format!("http://127.0.0.1:8080/t/{slug}"),
        "access_token_alg": "ES256",
        "key_rotation_interval_seconds": null,
        "created_at": "2026-11-28T10:00:00Z",
        "updated_at": "2026-11-28T10:00:00Z"
    })
}

#[test]
fn bad_output_value_is_a_usage_error() {
    let out = idpctl(&workdir("bad-output"), &["-o", "xml", "status"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("xml"), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
}

#[test]
fn create_without_name_and_terminal_is_a_usage_error() {
    let out = idpctl(&workdir("no-name"), &["tenant", "create", "--token", "t"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).starts_with("idpctl: error: missing the tenant NAME"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn update_with_nothing_to_change_is_a_usage_error() {
    let out = idpctl(
        &workdir("no-change"),
        &["tenant", "update", "acme", "--token", "t"],
    );
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("nothing to change"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn missing_token_is_not_authorized_and_says_how_to_pass_one() {
    let out = idpctl(
        &workdir("no-token"),
        &["status", "--url", "http://127.0.0.1:1"],
    );
    assert_eq!(code(&out), 4, "{}", stderr(&out));
    let err = stderr(&out);
    for hint in ["--token", "--token-file", "IDPCTL_TOKEN"] {
        assert!(err.contains(hint), "{hint} missing from {err}");
    }
}

#[test]
fn unreachable_server_is_a_failure_naming_the_url() {
    let out = idpctl(
        &workdir("unreachable"),
        &["--url", "http://127.0.0.1:1", "--token", "x", "status"],
    );
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.starts_with("idpctl: error: could not reach idpd at http://127.0.0.1:1/"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "cause chain on one line: {err}");
}

#[test]
fn delete_without_terminal_or_yes_refuses_before_any_request() {
    let (url, seen) = stub(vec![]);
    let out = idpctl(
        &workdir("delete-refused"),
        &["tenant", "delete", "x", "--token", "t", "--url", &url],
    );
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(stderr(&out).contains("pass --yes"), "{}", stderr(&out));
    assert!(seen.lock().unwrap().is_empty());
}

#[test]
fn not_found_uses_the_default_token_file_and_encodes_the_path() {
    let dir = workdir("not-found");
    std::fs::create_dir_all(dir.join("idpd-data")).unwrap();
    std::fs::write(dir.join("idpd-data/admin-token"), "t0k\n").unwrap();
    let (url, seen) = stub(vec![(404, error_body("not_found", "no tenant \"../x\""))]);
    let out = idpctl(&dir, &["tenant", "show", "../x", "--url", &url]);
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        "idpctl: error: no tenant \"../x\" (request id req-1)\n"
    );
    let seen = seen.lock().unwrap();
    assert_eq!(seen[0].line, "GET /api/v1/tenants/..%2Fx HTTP/1.1");
    assert_eq!(seen[0].authorization.as_deref(), Some("Bearer t0k"));
}

#[test]
fn list_follows_pages_and_prints_json() {
    let first = serde_json::json!({"items": [tenant_json("acme")], "next_after": "acme"});
    let last = serde_json::json!({"items": [tenant_json("zeta")]});
    let (url, seen) = stub(vec![(200, first.to_string()), (200, last.to_string())]);
    let out = idpctl(
        &workdir("list"),
        &[
            "-o", "json", "tenant", "list", "--token", "t", "--url", &url,
        ],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let list: TenantList = serde_json::from_slice(&out.stdout).unwrap();
    let slugs: Vec<&str> = list.items.iter().map(|t| t.slug.as_str()).collect();
    assert_eq!(slugs, ["acme", "zeta"]);
    assert_eq!(list.next_after, None);
    let seen = seen.lock().unwrap();
    assert_eq!(seen[0].line, "GET /api/v1/tenants HTTP/1.1");
    assert_eq!(seen[1].line, "GET /api/v1/tenants?after=acme HTTP/1.1");
}

#[test]
fn conflict_on_create_exits_5_after_sending_seconds() {
    let (url, seen) = stub(vec![(
        409,
        error_body("conflict", "slug \"acme\" is taken"),
    )]);
    let out = idpctl(
        &workdir("conflict"),
        &[
            "tenant",
            "create",
            "Acme",
            "--session-ttl",
            "1h30m",
            "--locale",
            "de,en",
            "--token",
            "t",
            "--url",
            &url,
        ],
    );
    assert_eq!(code(&out), 5, "{}", stderr(&out));
    let seen = seen.lock().unwrap();
    assert_eq!(seen[0].line, "POST /api/v1/tenants HTTP/1.1");
    let body: serde_json::Value = serde_json::from_str(&seen[0].body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"name": "Acme", "locales": ["de", "en"], "session": {"ttl_seconds": 5400}})
    );
}

#[test]
fn rejected_token_exits_4_with_its_origin() {
    let (url, _seen) = stub(vec![(
        401,
        error_body("unauthorized", "invalid admin token"),
    )]);
    let out = idpctl(
        &workdir("rejected"),
        &["status", "--token", "wrong", "--url", &url],
    );
    assert_eq!(code(&out), 4, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("hint: the rejected admin token was given with --token"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn help_and_completion_go_to_stdout() {
    let dir = workdir("help");
    let out = idpctl(&dir, &["--help"]);
    assert_eq!(code(&out), 0);
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(
        help.contains("Exit status:") && help.contains("IDPCTL_TOKEN_FILE"),
        "{help}"
    );

    let out = idpctl(&dir, &["completion", "bash"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("idpctl"));
}

#[test]
fn a_token_flag_beats_the_environment() {
    let dir = workdir("token-precedence");
    std::fs::write(dir.join("token"), "from-file\n").unwrap();
    let (url, seen) = stub(vec![(
        200,
        serde_json::json!({"version": "0.1.0", "backend": "sqlite", "ready": true, "tenants": 0})
            .to_string(),
    )]);
    let out = Command::new(env!("CARGO_BIN_EXE_idpctl"))
        .args(["status", "--token-file", "token", "--url", &url])
        .current_dir(&dir)
        .env("IDPCTL_TOKEN", "from-env")
        .env_remove("IDPCTL_TOKEN_FILE")
        .env_remove("IDPCTL_URL")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        seen.lock().unwrap()[0].authorization.as_deref(),
        Some("Bearer from-file")
    );
    // Plain table without a terminal: ASCII borders, same columns.
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(
        table.is_ascii() && table.contains("| backend | sqlite "),
        "{table}"
    );
}

#[test]
fn a_closed_stdout_is_success() {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = Command::new(env!("CARGO_BIN_EXE_idpctl"))
        .args(["completion", "bash"])
        .current_dir(workdir("broken-pipe"))
        .stdin(Stdio::null())
        .stdout(writer)
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(out.stderr.is_empty(), "{}", stderr(&out));
}

fn client_json(client_id: &str) -> serde_json::Value {
    serde_json::json!({
        "id": "0191e5f0-0000-7000-8000-000000000001",
        "client_id": client_id,
        "tenant": "acme",
        "name": "Web app",
        "public": false,
        "redirect_uris": ["https://app.example.com/cb"],
        "post_logout_redirect_uris": [],
        "grant_types": ["authorization_code", "refresh_token"],
        "scopes": ["openid"],
        "access_token_ttl_seconds": 600,
        "id_token_alg": "RS256",
        "disabled": false,
        "created_at": "2026-11-28T10:00:00Z",
        "updated_at": "2026-11-28T10:00:00Z"
    })
}

#[test]
fn client_create_without_tenant_or_name_and_terminal_is_a_usage_error() {
    let out = idpctl(
        &workdir("client-no-name"),
        &["client", "create", "--tenant", "acme", "--token", "t"],
    );
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).starts_with("idpctl: error: missing --name:"),
        "{}",
        stderr(&out)
    );
    let out = idpctl(
        &workdir("client-no-tenant"),
        &["client", "create", "--token", "t"],
    );
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("missing --tenant and --name"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn client_update_with_nothing_to_change_is_a_usage_error() {
    let out = idpctl(
        &workdir("client-no-change"),
        &["client", "update", "--tenant", "t", "x", "--token", "t"],
    );
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("nothing to change"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn client_commands_need_a_tenant() {
    let out = idpctl(
        &workdir("client-show-no-tenant"),
        &["client", "show", "web"],
    );
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("--tenant"), "{}", stderr(&out));
}

#[test]
fn client_delete_and_rotate_secret_without_terminal_or_yes_refuse_before_any_request() {
    let (url, seen) = stub(vec![]);
    let dir = workdir("client-delete-refused");
    let out = idpctl(
        &dir,
        &[
            "client", "delete", "--tenant", "acme", "web", "--token", "t", "--url", &url,
        ],
    );
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        "idpctl: error: refusing to delete client web of tenant acme without confirmation: \
         pass --yes\n"
    );
    let out = idpctl(
        &dir,
        &[
            "client",
            "rotate-secret",
            "--tenant",
            "acme",
            "web",
            "--token",
            "t",
            "--url",
            &url,
        ],
    );
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(stderr(&out).contains("pass --yes"), "{}", stderr(&out));
    assert!(seen.lock().unwrap().is_empty());
}

#[test]
fn key_rotate_with_an_unknown_alg_is_a_usage_error() {
    let out = idpctl(
        &workdir("key-bad-alg"),
        &["key", "rotate", "--tenant", "acme", "--alg", "HS256"],
    );
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("HS256"), "{}", stderr(&out));
    let out = idpctl(
        &workdir("tenant-bad-alg"),
        &["tenant", "update", "acme", "--access-token-alg", "none"],
    );
    assert_eq!(code(&out), 2, "{}", stderr(&out));
}

#[test]
fn forced_key_retire_without_terminal_or_yes_refuses() {
    let (url, seen) = stub(vec![]);
    let out = idpctl(
        &workdir("key-retire-refused"),
        &[
            "keys", "retire", "k1", "--force", "--token", "t", "--url", &url,
        ],
    );
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("refusing to force-retire key k1 without confirmation"),
        "{}",
        stderr(&out)
    );
    assert!(seen.lock().unwrap().is_empty());
}

#[test]
fn key_retire_conflict_exits_5_with_the_servers_message() {
    let (url, seen) = stub(vec![(
        409,
        error_body("conflict", "key k1 signed tokens that are still valid"),
    )]);
    let out = idpctl(
        &workdir("key-retire-conflict"),
        &["key", "retire", "k/1", "--token", "t", "--url", &url],
    );
    assert_eq!(code(&out), 5, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.starts_with(
            "idpctl: error: key k1 signed tokens that are still valid (request id req-1)\n"
        ),
        "{err}"
    );
    assert!(
        err.contains("idpctl: hint: ") && err.contains("--force"),
        "{err}"
    );
    let seen = seen.lock().unwrap();
    assert_eq!(seen[0].line, "POST /api/v1/keys/k%2F1/retire HTTP/1.1");
    assert_eq!(seen[0].body, r#"{"force":false}"#);
}

#[test]
fn client_create_prints_the_secret_once() {
    let created = serde_json::json!({"client": client_json("web"), "client_secret": "s3cr3t-xyz"});
    let (url, seen) = stub(vec![(201, created.to_string()), (201, created.to_string())]);
    let dir = workdir("client-create");
    let args = [
        "client",
        "create",
        "--tenant",
        "acme",
        "--name",
        "Web app",
        "--redirect-uri",
        "https://app.example.com/cb",
        "--grant",
        "authorization_code,refresh_token",
        "--scope",
        "openid",
        "--access-token-ttl",
        "10m",
        "--token",
        "t",
        "--url",
        &url,
    ];
    let out = idpctl(&dir, &args);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let table = String::from_utf8_lossy(&out.stdout);
    assert_eq!(table.matches("s3cr3t-xyz").count(), 1, "{table}");
    // Below the table, alone on its line: copied whole with a triple click.
    assert!(table.lines().any(|l| l == "s3cr3t-xyz"), "{table}");
    assert!(!table.contains("| client_secret "), "{table}");
    assert!(
        stderr(&out).contains("shown only this once"),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains("s3cr3t-xyz"));

    // JSON is the shared type unchanged, and stderr stays quiet for scripts.
    let mut json_args = vec!["-o", "json"];
    json_args.extend(args);
    let out = idpctl(&dir, &json_args);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let printed: CreatedClient = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(printed.client_secret.as_deref(), Some("s3cr3t-xyz"));
    assert!(out.stderr.is_empty(), "{}", stderr(&out));

    let seen = seen.lock().unwrap();
    assert_eq!(seen[0].line, "POST /api/v1/tenants/acme/clients HTTP/1.1");
    let body: serde_json::Value = serde_json::from_str(&seen[0].body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({
            "name": "Web app",
            "public": false,
            "redirect_uris": ["https://app.example.com/cb"],
            "grant_types": ["authorization_code", "refresh_token"],
            "scopes": ["openid"],
            "access_token_ttl_seconds": 600
        })
    );
}

#[test]
fn client_list_follows_pages_under_the_tenant() {
    let first = serde_json::json!({"items": [client_json("a")], "next_after": "a"});
    let last = serde_json::json!({"items": [client_json("b")]});
    let (url, seen) = stub(vec![(200, first.to_string()), (200, last.to_string())]);
    let out = idpctl(
        &workdir("client-list"),
        &[
            "client", "list", "--tenant", "ac me", "--token", "t", "--url", &url,
        ],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(table.contains("| CLIENT_ID | NAME "), "{table}");
    assert!(table.contains("| a ") && table.contains("| b "), "{table}");
    let seen = seen.lock().unwrap();
    assert_eq!(seen[0].line, "GET /api/v1/tenants/ac%20me/clients HTTP/1.1");
    assert_eq!(
        seen[1].line,
        "GET /api/v1/tenants/ac%20me/clients?after=a HTTP/1.1"
    );
}

#[test]
fn tenant_update_no_key_rotation_sends_null() {
    let (url, seen) = stub(vec![(200, tenant_json("acme").to_string())]);
    let out = idpctl(
        &workdir("no-key-rotation"),
        &[
            "tenant",
            "update",
            "acme",
            "--no-key-rotation",
            "--token",
            "t",
            "--url",
            &url,
        ],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(table.contains("| key rotation "), "{table}");
    let seen = seen.lock().unwrap();
    assert_eq!(seen[0].line, "PATCH /api/v1/tenants/acme HTTP/1.1");
    assert_eq!(seen[0].body, r#"{"key_rotation_interval_seconds":null}"#);
}

#[test]
fn library_entry_point_writes_to_the_given_streams() {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = idpctl::run(
        ["idpctl", "tenant", "delete", "acme", "--token", "t"],
        &mut out,
        &mut err,
    );
    assert_eq!(
        code,
        std::process::ExitCode::from(idpctl::Exit::Failure.code())
    );
    assert!(out.is_empty());
    assert_eq!(
        String::from_utf8(err).unwrap(),
        "idpctl: error: refusing to delete tenant acme without confirmation: pass --yes\n"
    );

    let (mut out, mut err) = (Vec::new(), Vec::new());
    let exit = idpctl::run_with(
        ["idpctl", "--version"],
        idpctl::Terminal::default(),
        &mut out,
        &mut err,
    );
    assert_eq!(exit, idpctl::Exit::Success);
    assert!(String::from_utf8(out).unwrap().starts_with("idpctl "));
}
