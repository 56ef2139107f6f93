//! The sign-in mail over real SMTP: idpd started with `--smtp-url` pointing at Python's
//! aiosmtpd on loopback (installed by scripts/test-deps.sh); the code is read from the
//! received message and finishes the login. Skipped with a message where python3 or
//! aiosmtpd is missing.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use idp_tests::{Backend, Idpd, TestDb, both_backends};
use reqwest::StatusCode;

use idp_tests::browser::{
    Browser, REDIRECT, code_in, mail_body, pkce, query, redeem, start_login, submit_code,
    submit_email, tenant_with_web_client,
};

both_backends!(login_with_the_code_mailed_over_smtp);

/// A loopback SMTP server (aiosmtpd's Mailbox handler writing a Maildir), killed on drop.
struct SmtpServer {
    child: Child,
    port: u16,
    maildir: PathBuf,
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn aiosmtpd_available() -> Result<(), String> {
    let out = Command::new("python3")
        .args(["-c", "import aiosmtpd"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    match out {
        Ok(s) if s.success() => Ok(()),
        Ok(_) => Err("python3 has no aiosmtpd (run scripts/test-deps.sh)".into()),
        Err(e) => Err(format!("no python3: {e}")),
    }
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    l.local_addr().expect("local addr").port()
}

impl SmtpServer {
    fn start(dir: &Path) -> SmtpServer {
        let maildir = dir.join("maildir");
        let port = free_port();
        let child = Command::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start aiosmtpd");
        let mut server = SmtpServer {
            child,
            port,
            maildir,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("aiosmtpd exited at start: {status}");
            }
            assert!(
                Instant::now() < deadline,
                "aiosmtpd did not listen on {port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    /// Messages received so far (raw RFC 5322 text), oldest first.
    fn messages(&self) -> Vec<String> {
        let mut files: Vec<PathBuf> = ["new", "cur"]
            .iter()
            .filter_map(|d| std::fs::read_dir(self.maildir.join(d)).ok())
            .flat_map(|d| d.filter_map(Result::ok).map(|e| e.path()))
            .collect();
        files.sort_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
        files
            .iter()
            .filter_map(|p| std::fs::read_to_string(p).ok())
            .collect()
    }

    async fn wait_for_mail_to(&self, to: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(m) = self
                .messages()
                .into_iter()
                .rfind(|m| m.contains(&format!("To: {to}")))
            {
                return m;
            }
            assert!(
                Instant::now() < deadline,
                "no mail to {to} reached the SMTP server in {}",
                self.maildir.display()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

async fn login_with_the_code_mailed_over_smtp(backend: Backend) {
    if let Err(why) = aiosmtpd_available() {
        eprintln!("skipped: {why}");
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let smtp = SmtpServer::start(dir.path());
    let data = dir.path().join("data");
    let _db = TestDb::new(backend, &data).await;
    let idpd = Idpd::builder(&data, &_db.url)
        .arg("--smtp-url")
        .arg(format!("smtp://127.0.0.1:{}", smtp.port))
        .start();
    let client_id = tenant_with_web_client(&idpd, "acme").await;

    let email = "sam@example.com";
    let mut b = Browser::new(&idpd);
    let (verifier, challenge) = pkce();
    let (flow, csrf) = start_login(&mut b, &client_id, &challenge).await;
    let p = submit_email(&mut b, &flow, &csrf, email).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{p:?}");

    let mail = smtp.wait_for_mail_to(email).await;
    assert!(
        mail.contains("Subject: Your sign-in code for acme"),
        "{mail}"
    );
    assert!(
        mail.contains("acme <noreply@idp.invalid>"),
        "sender name: {mail}"
    );
    let body = mail_body(&mail);
    assert!(
        body.contains(&format!("/t/acme/login/link?flow={flow}&token=")),
        "magic link: {body}"
    );
    assert!(
        !data.join("outbox").exists(),
        "with smtp_url nothing goes to the dev outbox"
    );
    let code = code_in(&mail);
    let p = submit_code(&mut b, &flow, &csrf, &code).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{p:?}");
    let to = p.location.unwrap();
    assert!(to.starts_with(REDIRECT), "{to}");
    let q = query(&to);
    assert_eq!(q["state"], "st-1");
    let (st, t) = redeem(&idpd, &client_id, &q["code"], &verifier).await;
    assert_eq!(st, 200, "{t}");
    assert!(t["id_token"].is_string(), "{t}");
    drop(idpd);
    drop(smtp);
}
