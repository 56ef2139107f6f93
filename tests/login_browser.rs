//! The login page in a real browser: headless Chromium (Debian's `chromium`, installed by
//! scripts/test-deps.sh) opens the authorization URL itself, follows the redirect to the
//! login page with its own flow cookie, and the rendered DOM holds the labelled email form in
//! English and, with `ui_locales=nb`, in Norwegian. Skipped with a message without Chromium.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use idp_tests::{Backend, both_backends, setup};

use idp_tests::browser::{authorize_url, pkce, tenant_with_web_client};

both_backends!(login_page_renders_in_headless_chromium);

fn chromium() -> Option<PathBuf> {
    let fixed = Path::new("/usr/bin/chromium");
    if fixed.exists() {
        return Some(fixed.to_owned());
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("chromium"))
            .find(|p| p.is_file())
    })
}

/// `chromium --headless --dump-dom URL`, killed after 30 s; returns the DOM.
fn dump_dom(chromium: &Path, profile: &Path, url: &str) -> String {
    let out_path = profile.with_extension("dom");
    let out = std::fs::File::create(&out_path).expect("dom file");
    let mut child = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--dump-dom")
        .arg(url)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromium");
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait chromium") {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within 30 s for {url}");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let dom = std::fs::read_to_string(&out_path).unwrap_or_default();
    assert!(status.success(), "chromium failed ({status}): {dom}");
    dom
}

async fn login_page_renders_in_headless_chromium(backend: Backend) {
    let Some(chromium) = chromium() else {
        eprintln!("skipped: chromium is not installed (run scripts/test-deps.sh)");
        return;
    };
    let s = setup(backend).await;
    let idpd = &s.idpd;
    let client_id = tenant_with_web_client(idpd, "acme").await;
    let (_, challenge) = pkce();
    let base = idpd.public_url();

    for (n, (extra, lang, heading, label)) in [
        ("", "en", "Sign in to acme", "Email address"),
        ("&ui_locales=nb", "nb", "Logg inn på acme", "E-postadresse"),
    ]
    .into_iter()
    .enumerate()
    {
        let url = format!("{base}{}", authorize_url(&client_id, &challenge, extra));
        let profile = s.dir.path().join(format!("chromium-{n}"));
        let dom = tokio::task::spawn_blocking({
            let (chromium, profile) = (chromium.clone(), profile.clone());
            move || dump_dom(&chromium, &profile, &url)
        })
        .await
        .unwrap();
        assert!(dom.contains(&format!("<html lang=\"{lang}\">")), "{dom}");
        assert!(dom.contains(heading), "{dom}");
        assert!(
            dom.contains(&format!("<label for=\"email\">{label}</label>")),
            "{dom}"
        );
        assert!(dom.contains("name=\"email\""), "{dom}");
        assert!(dom.contains("action=\"/t/acme/login/email\""), "{dom}");
        // The page Chromium shows is the login page of a flow it owns: a CSRF token is there.
        assert!(dom.contains("name=\"csrf\""), "{dom}");
        assert!(dom.contains("name=\"flow\""), "{dom}");
    }
}
