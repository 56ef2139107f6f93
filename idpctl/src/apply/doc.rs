//! The apply document: one tenant per YAML document (`---` separates several in a file),
//! with its clients and users. Parsing and validation report `file:line: field: problem`,
//! and everything is checked before anything is sent to idpd.
//!
//! ```yaml
//! apiVersion: idp/v1
//! kind: Tenant
//! slug: acme
//! name: Acme Corp
//! locales: [en, nb]
//! clients:
//!   - clientId: web
//!     name: Web
//!     public: true
//!     redirectUris: [https://app.acme.example/callback]
//! users:
//!   - email: alice@acme.example
//! ```

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use shared::admin::{Alg, GRANT_TYPES, SameSite, SignupPolicy};

pub const API_VERSION: &str = "idp/v1";
pub const KIND: &str = "Tenant";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TenantDoc {
    pub api_version: String,
    pub kind: String,
    pub slug: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locales: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signup_policy: Option<SignupPolicy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token_alg: Option<Alg>,
    /// A duration (`90d`) or `off`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_rotation: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<SessionDoc>,
    /// `native` or the name of one of `providers`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_provider: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub providers: Vec<ProviderDoc>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub clients: Vec<ClientDoc>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<UserDoc>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SessionDoc {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cookie_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cookie_domain: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_ttl: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub same_site: Option<SameSite>,
}

/// An external OpenID Connect provider of the tenant. Its client secret is referenced, never
/// inline: it is read when apply creates the provider (idpd keeps it sealed and never shows
/// it, so later applies cannot compare it; change it with `idpctl provider update`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProviderDoc {
    pub name: String,
    pub issuer: String,
    pub client_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret_file: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret_env: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub userinfo_endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_domains: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_by_email: Option<bool>,
    /// The secret, once read (never serialized).
    #[serde(skip)]
    pub client_secret: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClientDoc {
    pub client_id: String,
    pub name: String,
    #[serde(default)]
    pub public: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_uris: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_logout_redirect_uris: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_types: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token_ttl: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token_alg: Option<Alg>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UserDoc {
    pub email: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled: Option<bool>,
}

/// Problems found in the input, each `file:line: field: problem`.
#[derive(Debug, Default)]
pub struct Problems(pub Vec<String>);

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for p in &self.0 {
            writeln!(f, "{p}")?;
        }
        write!(f, "{} problem(s); nothing was applied", self.0.len())
    }
}

/// A step of a path into a document, for locating a field.
#[derive(Debug, Clone)]
pub enum Step {
    Key(&'static str),
    Index(usize),
}

/// One YAML document of a file: its text and the line it starts on.
struct Source<'a> {
    text: &'a str,
    first_line: usize,
}

/// Splits a file at `---` lines into documents (YAML's document marker).
fn documents(text: &str) -> Vec<Source<'_>> {
    let mut docs = Vec::new();
    let mut start = 0;
    let mut first_line = 1;
    let mut offset = 0;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let bare = line.trim_end();
        if bare == "---" || bare.starts_with("--- ") {
            docs.push(Source {
                text: &text[start..offset],
                first_line,
            });
            start = offset + line.len();
            first_line = i + 2;
        }
        offset += line.len();
    }
    docs.push(Source {
        text: &text[start..],
        first_line,
    });
    docs.into_iter()
        .filter(|d| {
            d.text
                .lines()
                .any(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        })
        .collect()
}

/// The line of the node at `path`, or of its nearest existing parent.
fn locate(source: &Source<'_>, path: &[Step]) -> usize {
    let Ok(root) = marked_yaml::parse_yaml(0, source.text) else {
        return source.first_line;
    };
    let mut node = &root;
    let mut line = node.span().start().map_or(1, |m| m.line());
    for step in path {
        let next = match step {
            Step::Key(k) => node.as_mapping().and_then(|m| m.get_node(k)),
            Step::Index(i) => node.as_sequence().and_then(|s| s.get(*i)),
        };
        match next {
            Some(n) => {
                node = n;
                if let Some(m) = n.span().start() {
                    line = m.line();
                }
            }
            None => break,
        }
    }
    source.first_line + line - 1
}

fn field_name(path: &[Step]) -> String {
    let mut out = String::new();
    for step in path {
        match step {
            Step::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Step::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// Reads every document of every file (a directory means its `*.yaml` and `*.yml` files,
/// sorted; `-` means standard input), and validates them all.
pub fn load(inputs: &[PathBuf]) -> Result<Vec<TenantDoc>, Problems> {
    let mut problems = Problems::default();
    let mut files: Vec<(PathBuf, String)> = Vec::new();
    for input in inputs {
        if input.as_os_str() == "-" {
            let mut text = String::new();
            match std::io::Read::read_to_string(&mut std::io::stdin(), &mut text) {
                Ok(_) => files.push(("<stdin>".into(), text)),
                Err(e) => problems.0.push(format!("<stdin>: {e}")),
            }
            continue;
        }
        match std::fs::metadata(input) {
            Ok(m) if m.is_dir() => match yaml_files(input) {
                Ok(list) if list.is_empty() => problems
                    .0
                    .push(format!("{}: no .yaml or .yml files", input.display())),
                Ok(list) => {
                    for path in list {
                        match std::fs::read_to_string(&path) {
                            Ok(text) => files.push((path, text)),
                            Err(e) => problems.0.push(format!("{}: {e}", path.display())),
                        }
                    }
                }
                Err(e) => problems.0.push(format!("{}: {e}", input.display())),
            },
            Ok(_) => match std::fs::read_to_string(input) {
                Ok(text) => files.push((input.clone(), text)),
                Err(e) => problems.0.push(format!("{}: {e}", input.display())),
            },
            Err(e) => problems.0.push(format!("{}: {e}", input.display())),
        }
    }
    parse(&files, problems)
}

/// Parses and validates documents already read (`files` is (name, text)), adding to
/// `problems` found while reading.
pub fn parse(
    files: &[(PathBuf, String)],
    mut problems: Problems,
) -> Result<Vec<TenantDoc>, Problems> {
    let mut out = Vec::new();
    let mut slugs: HashSet<String> = HashSet::new();
    for (file, text) in files {
        let docs = documents(text);
        if docs.is_empty() {
            problems
                .0
                .push(format!("{}: no tenant documents", file.display()));
        }
        for source in docs {
            let doc: TenantDoc = match serde_yaml::from_str(source.text) {
                Ok(doc) => doc,
                Err(e) => {
                    let line = e
                        .location()
                        .map_or(source.first_line, |l| source.first_line + l.line() - 1);
                    // The library's message ends with its own "at line N column M",
                    // relative to the document; ours is relative to the file.
                    let message = e.to_string();
                    let message = message
                        .split(" at line ")
                        .next()
                        .unwrap_or(&message)
                        .to_owned();
                    problems
                        .0
                        .push(format!("{}:{line}: {message}", file.display()));
                    continue;
                }
            };
            let mut report = |path: &[Step], problem: String| {
                problems.0.push(format!(
                    "{}:{}: {}: {problem}",
                    file.display(),
                    locate(&source, path),
                    field_name(path)
                ));
            };
            validate(&doc, &mut report);
            if !slugs.insert(doc.slug.clone()) {
                report(
                    &[Step::Key("slug")],
                    format!("tenant {:?} is described twice", doc.slug),
                );
            }
            out.push(doc);
        }
    }
    for doc in &mut out {
        for p in &mut doc.providers {
            p.client_secret = read_secret(p, &mut problems);
        }
    }
    if problems.0.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

/// The provider's referenced secret, trimmed (files usually end with a newline).
fn read_secret(p: &ProviderDoc, problems: &mut Problems) -> Option<String> {
    let (what, value) = match (&p.client_secret_file, &p.client_secret_env) {
        (Some(path), _) => (
            path.display().to_string(),
            std::fs::read_to_string(path).map_err(|e| e.to_string()),
        ),
        (None, Some(var)) => (
            format!("${var}"),
            std::env::var(var).map_err(|e| e.to_string()),
        ),
        (None, None) => return None,
    };
    match value {
        Ok(v) if !v.trim().is_empty() => Some(v.trim().to_owned()),
        Ok(_) => {
            problems.0.push(format!(
                "provider {}: client secret in {what} is empty",
                p.name
            ));
            None
        }
        Err(e) => {
            problems
                .0
                .push(format!("provider {}: cannot read {what}: {e}", p.name));
            None
        }
    }
}

fn yaml_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut list = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_file() && path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            list.push(path);
        }
    }
    list.sort();
    Ok(list)
}

/// Checks what idpd would refuse, so that a bad file changes nothing.
fn validate(doc: &TenantDoc, report: &mut dyn FnMut(&[Step], String)) {
    use Step::{Index, Key};
    if doc.api_version != API_VERSION {
        report(
            &[Key("apiVersion")],
            format!("must be {API_VERSION:?}, not {:?}", doc.api_version),
        );
    }
    if doc.kind != KIND {
        report(
            &[Key("kind")],
            format!("must be {KIND:?}, not {:?}", doc.kind),
        );
    }
    if let Some(problem) = shared::admin::slug::problem(&doc.slug) {
        report(&[Key("slug")], format!("{:?} {problem}", doc.slug));
    }
    if doc.name.trim().is_empty() {
        report(&[Key("name")], "must not be empty".into());
    }
    if let Some(locales) = &doc.locales
        && locales.is_empty()
    {
        report(&[Key("locales")], "needs at least one locale".into());
    }
    if let Some(k) = &doc.key_rotation
        && k != "off"
        && let Err(e) = crate::duration::parse_seconds(k)
    {
        report(&[Key("keyRotation")], format!("{e}, or off"));
    }
    if let Some(s) = &doc.session {
        for (key, value) in [("ttl", &s.ttl), ("idleTtl", &s.idle_ttl)] {
            if let Some(v) = value
                && let Err(e) = crate::duration::parse_seconds(v)
            {
                report(&[Key("session"), Key(key)], e);
            }
        }
    }
    let mut names = HashSet::new();
    for (i, p) in doc.providers.iter().enumerate() {
        let at = |key: &'static str| [Key("providers"), Index(i), Key(key)];
        if p.name == "native" || p.name.is_empty() || p.name.contains('/') {
            report(
                &at("name"),
                format!("{:?} cannot name an external provider", p.name),
            );
        }
        if !names.insert(p.name.as_str()) {
            report(
                &at("name"),
                format!("provider {:?} is listed twice", p.name),
            );
        }
        for (key, value) in [
            ("issuer", Some(&p.issuer)),
            ("authorizationEndpoint", p.authorization_endpoint.as_ref()),
            ("tokenEndpoint", p.token_endpoint.as_ref()),
            ("jwksUri", p.jwks_uri.as_ref()),
            ("userinfoEndpoint", p.userinfo_endpoint.as_ref()),
        ] {
            if let Some(v) = value
                && reqwest::Url::parse(v).map_or(true, |u| !matches!(u.scheme(), "https" | "http"))
            {
                report(&at(key), format!("{v:?} is not an http(s) URL"));
            }
        }
        if p.client_secret_file.is_some() && p.client_secret_env.is_some() {
            report(
                &at("clientSecretEnv"),
                "give clientSecretFile or clientSecretEnv, not both".into(),
            );
        }
        if let Some(path) = &p.client_secret_file
            && let Err(e) = std::fs::metadata(path)
        {
            report(
                &at("clientSecretFile"),
                format!("cannot read {}: {e}", path.display()),
            );
        }
        if let Some(var) = &p.client_secret_env
            && std::env::var(var).map_or(true, |v| v.trim().is_empty())
        {
            report(
                &at("clientSecretEnv"),
                format!("environment variable {var} is not set"),
            );
        }
    }
    if let Some(d) = &doc.default_provider
        && d != "native"
        && !names.contains(d.as_str())
    {
        report(
            &[Key("defaultProvider")],
            format!("{d:?} is neither native nor one of this tenant's providers"),
        );
    }
    let mut ids = HashSet::new();
    for (i, c) in doc.clients.iter().enumerate() {
        let at = |key: &'static str| [Key("clients"), Index(i), Key(key)];
        if c.client_id.is_empty() || c.client_id == "." || c.client_id == ".." {
            report(
                &at("clientId"),
                format!("{:?} is not a client_id", c.client_id),
            );
        }
        if !ids.insert(c.client_id.as_str()) {
            report(
                &at("clientId"),
                format!("client {:?} is listed twice", c.client_id),
            );
        }
        if c.name.trim().is_empty() {
            report(&at("name"), "must not be empty".into());
        }
        for (key, uris) in [
            ("redirectUris", &c.redirect_uris),
            ("postLogoutRedirectUris", &c.post_logout_redirect_uris),
        ] {
            for (j, uri) in uris.iter().flatten().enumerate() {
                if let Some(problem) = shared::admin::redirect_uri_problem(uri) {
                    report(
                        &[Key("clients"), Index(i), Key(key), Index(j)],
                        format!("{uri:?} {problem}"),
                    );
                }
            }
        }
        for (j, g) in c.grant_types.iter().flatten().enumerate() {
            if !GRANT_TYPES.contains(&g.as_str()) {
                report(
                    &[Key("clients"), Index(i), Key("grantTypes"), Index(j)],
                    format!(
                        "unknown grant type {g:?}; known: {}",
                        GRANT_TYPES.join(", ")
                    ),
                );
            }
        }
        if let Some(ttl) = &c.access_token_ttl
            && let Err(e) = crate::duration::parse_seconds(ttl)
        {
            report(&at("accessTokenTtl"), e);
        }
    }
    let mut emails = HashSet::new();
    for (i, u) in doc.users.iter().enumerate() {
        let at = [Key("users"), Index(i), Key("email")];
        let email = u.email.trim().to_lowercase();
        let valid = email
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'));
        if !valid {
            report(&at, format!("{:?} is not an email address", u.email));
        }
        if !emails.insert(email) {
            report(&at, format!("user {:?} is listed twice", u.email));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_split_at_markers_and_keep_line_numbers() {
        let text = "# c\n---\nslug: a\n---\n\nslug: b\n";
        let docs = documents(text);
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0].first_line, 3);
        assert_eq!(docs[1].first_line, 5);
        assert_eq!(
            locate(&docs[1], &[Step::Key("slug")]),
            6,
            "{:?}",
            docs[1].text
        );
    }
}
