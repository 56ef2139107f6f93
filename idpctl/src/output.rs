//! Printing results on stdout: tables for people, JSON and YAML (the `shared` types unchanged)
//! for scripts.

use std::io::{self, Write};

use clap::ValueEnum;
use comfy_table::{ContentArrangement, Table, presets};
use serde::Serialize;
use shared::admin::{
    AuditList, Client, ClientList, CreatedClient, DeviceList, KeyList, RotatedSecret, SessionList,
    SigningKey, Status, Tenant, TenantList, User, UserList,
};
use time::{OffsetDateTime, UtcOffset, macros::format_description};

use crate::duration::format_seconds;
use crate::error::Error;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A table for people: the main columns, fitting 80 columns for usual values
    #[default]
    Table,
    /// A table with every column
    Wide,
    /// Pretty-printed JSON with the admin API's field names
    Json,
    /// YAML with the admin API's field names
    Yaml,
}

/// A value's table form: a header and rows of plain text.
pub struct Rows {
    pub header: Vec<&'static str>,
    pub rows: Vec<Vec<String>>,
}

impl Rows {
    /// A two-column table for one object.
    pub(crate) fn fields(fields: Vec<(&'static str, String)>) -> Self {
        Rows {
            header: vec!["FIELD", "VALUE"],
            rows: fields
                .into_iter()
                .map(|(name, value)| vec![name.to_owned(), value])
                .collect(),
        }
    }
}

impl Format {
    /// Either table form.
    pub fn is_table(self) -> bool {
        matches!(self, Format::Table | Format::Wide)
    }
}

/// What can be shown as a table.
pub trait Tabular {
    /// The main columns.
    fn rows(&self) -> Rows;
    /// Every column (`-o wide`); the main ones unless a type has more.
    fn wide_rows(&self) -> Rows {
        self.rows()
    }
    /// A one-time secret, printed below the table on its own line (never in a cell, where a
    /// terminal would wrap it and copying it would take the borders along).
    fn secret(&self) -> Option<(&'static str, &str)> {
        None
    }
}

impl Tabular for Tenant {
    fn rows(&self) -> Rows {
        let session = &self.session;
        Rows::fields(vec![
            ("id", self.id.to_string()),
            ("slug", self.slug.clone()),
            ("name", self.display_name.clone()),
            ("issuer", self.issuer.clone()),
            ("locales", list(&self.locales)),
            ("signup policy", self.signup_policy.as_str().to_owned()),
            ("default provider", self.default_provider.clone()),
            ("cookie name", session.cookie_name.clone()),
            (
                "cookie domain",
                session
                    .cookie_domain
                    .clone()
                    .unwrap_or_else(|| "(host-only)".to_owned()),
            ),
            ("session ttl", format_seconds(session.ttl_seconds)),
            ("idle ttl", format_seconds(session.idle_ttl_seconds)),
            ("same-site", session.same_site.as_str().to_owned()),
            (
                "access token alg",
                self.access_token_alg.as_str().to_owned(),
            ),
            (
                "key rotation",
                self.key_rotation_interval_seconds
                    .map(|every| format!("every {}", format_seconds(every)))
                    .unwrap_or_else(|| "off".to_owned()),
            ),
            ("created", timestamp(self.created_at)),
            ("updated", timestamp(self.updated_at)),
        ])
    }
}

impl Tabular for TenantList {
    fn rows(&self) -> Rows {
        Rows {
            header: vec!["SLUG", "NAME", "LOCALES", "SIGNUP", "PROVIDER", "CREATED"],
            rows: self
                .items
                .iter()
                .map(|t| {
                    vec![
                        t.slug.clone(),
                        t.display_name.clone(),
                        list(&t.locales),
                        t.signup_policy.as_str().to_owned(),
                        t.default_provider.clone(),
                        timestamp(t.created_at),
                    ]
                })
                .collect(),
        }
    }
}

impl Tabular for Client {
    fn rows(&self) -> Rows {
        Rows::fields(client_fields(self))
    }
}

fn client_fields(client: &Client) -> Vec<(&'static str, String)> {
    vec![
        ("id", client.id.to_string()),
        ("client_id", client.client_id.clone()),
        ("name", client.name.clone()),
        ("tenant", client.tenant.clone()),
        ("type", client_type(client).to_owned()),
        // One per line: URIs are long and may themselves contain commas.
        ("redirect uris", lines(&client.redirect_uris)),
        (
            "post-logout redirect uris",
            lines(&client.post_logout_redirect_uris),
        ),
        ("grant types", list(&short_grants(&client.grant_types))),
        ("scopes", list(&client.scopes)),
        (
            "access token ttl",
            format_seconds(client.access_token_ttl_seconds),
        ),
        ("id token alg", client.id_token_alg.as_str().to_owned()),
        ("disabled", yes_no(client.disabled).to_owned()),
        (
            "previous secret until",
            optional_timestamp(client.previous_secret_expires_at),
        ),
        ("created", timestamp(client.created_at)),
        ("updated", timestamp(client.updated_at)),
    ]
}

impl Tabular for CreatedClient {
    fn rows(&self) -> Rows {
        Rows::fields(client_fields(&self.client))
    }

    fn secret(&self) -> Option<(&'static str, &str)> {
        self.client_secret.as_deref().map(|s| ("client_secret", s))
    }
}

impl Tabular for RotatedSecret {
    fn rows(&self) -> Rows {
        Rows::fields(vec![
            ("client_id", self.client_id.clone()),
            (
                "previous secret until",
                optional_timestamp(self.previous_secret_expires_at),
            ),
        ])
    }

    fn secret(&self) -> Option<(&'static str, &str)> {
        Some(("client_secret", &self.client_secret))
    }
}

impl Tabular for ClientList {
    fn rows(&self) -> Rows {
        Rows {
            header: vec!["CLIENT_ID", "NAME", "TYPE", "DISABLED"],
            rows: self
                .items
                .iter()
                .map(|c| {
                    vec![
                        c.client_id.clone(),
                        c.name.clone(),
                        client_type(c).to_owned(),
                        yes_no(c.disabled).to_owned(),
                    ]
                })
                .collect(),
        }
    }

    fn wide_rows(&self) -> Rows {
        Rows {
            header: vec![
                "CLIENT_ID",
                "NAME",
                "TYPE",
                "GRANTS",
                "SCOPES",
                "ID TOKEN",
                "DISABLED",
                "CREATED",
            ],
            rows: self
                .items
                .iter()
                .map(|c| {
                    vec![
                        c.client_id.clone(),
                        c.name.clone(),
                        client_type(c).to_owned(),
                        list(&short_grants(&c.grant_types)),
                        list(&c.scopes),
                        c.id_token_alg.as_str().to_owned(),
                        yes_no(c.disabled).to_owned(),
                        timestamp(c.created_at),
                    ]
                })
                .collect(),
        }
    }
}

/// Grant types by the names `--grant` accepts (`device_code`, not its URN).
fn short_grants(grants: &[String]) -> Vec<String> {
    grants
        .iter()
        .map(|g| {
            g.strip_prefix("urn:ietf:params:oauth:grant-type:")
                .unwrap_or(g)
                .to_owned()
        })
        .collect()
}

fn client_type(client: &Client) -> &'static str {
    if client.public {
        "public"
    } else {
        "confidential"
    }
}

impl Tabular for SigningKey {
    fn rows(&self) -> Rows {
        Rows::fields(vec![
            ("kid", self.kid.clone()),
            ("tenant", self.tenant.clone()),
            ("alg", self.alg.as_str().to_owned()),
            ("state", self.state.as_str().to_owned()),
            ("created", timestamp(self.created_at)),
            ("activates", timestamp(self.activates_at)),
            ("retired", optional_timestamp(self.retired_at)),
            ("removed at", optional_timestamp(self.removed_at)),
        ])
    }
}

impl Tabular for KeyList {
    fn rows(&self) -> Rows {
        Rows {
            header: vec!["KID", "ALG", "STATE", "ACTIVATES", "RETIRED"],
            rows: self
                .items
                .iter()
                .map(|k| {
                    vec![
                        k.kid.clone(),
                        k.alg.as_str().to_owned(),
                        k.state.as_str().to_owned(),
                        timestamp(k.activates_at),
                        optional_timestamp(k.retired_at),
                    ]
                })
                .collect(),
        }
    }

    fn wide_rows(&self) -> Rows {
        Rows {
            header: vec![
                "KID",
                "ALG",
                "STATE",
                "CREATED",
                "ACTIVATES",
                "RETIRED",
                "REMOVED AT",
            ],
            rows: self
                .items
                .iter()
                .map(|k| {
                    vec![
                        k.kid.clone(),
                        k.alg.as_str().to_owned(),
                        k.state.as_str().to_owned(),
                        timestamp(k.created_at),
                        timestamp(k.activates_at),
                        optional_timestamp(k.retired_at),
                        optional_timestamp(k.removed_at),
                    ]
                })
                .collect(),
        }
    }
}

impl Tabular for User {
    fn rows(&self) -> Rows {
        Rows::fields(vec![
            ("id", self.id.to_string()),
            ("email", self.email.clone()),
            ("email verified", yes_no(self.email_verified).to_owned()),
            ("name", optional(self.name.as_deref())),
            ("locale", optional(self.locale.as_deref())),
            ("tenant", self.tenant.clone()),
            ("disabled", yes_no(self.disabled).to_owned()),
            ("created", timestamp(self.created_at)),
            ("updated", timestamp(self.updated_at)),
        ])
    }
}

impl Tabular for UserList {
    fn rows(&self) -> Rows {
        Rows {
            header: vec!["EMAIL", "NAME", "LOCALE", "VERIFIED", "DISABLED", "CREATED"],
            rows: self
                .items
                .iter()
                .map(|u| {
                    vec![
                        u.email.clone(),
                        optional(u.name.as_deref()),
                        optional(u.locale.as_deref()),
                        yes_no(u.email_verified).to_owned(),
                        yes_no(u.disabled).to_owned(),
                        timestamp(u.created_at),
                    ]
                })
                .collect(),
        }
    }
}

impl Tabular for AuditList {
    fn rows(&self) -> Rows {
        audit_rows(self, false)
    }

    fn wide_rows(&self) -> Rows {
        audit_rows(self, true)
    }
}

/// The audit table: time, actor, action, target and outcome; `wide` adds the sequence
/// number and the tenant.
fn audit_rows(list: &AuditList, wide: bool) -> Rows {
    let mut header = vec!["TIME", "ACTOR", "ACTION", "TARGET", "OUTCOME"];
    if wide {
        header.splice(0..0, ["SEQ"]);
        header.insert(2, "TENANT");
    }
    let rows = list
        .items
        .iter()
        .map(|e| {
            let outcome = match &e.reason {
                Some(reason) => format!("{} ({reason})", e.outcome),
                None => e.outcome.clone(),
            };
            let mut row = vec![
                timestamp(e.at),
                e.actor.clone(),
                e.action.clone(),
                e.target.clone().unwrap_or_default(),
                outcome,
            ];
            if wide {
                row.insert(0, e.seq.to_string());
                row.insert(2, e.tenant.clone().unwrap_or_default());
            }
            row
        })
        .collect();
    Rows { header, rows }
}

impl Tabular for SessionList {
    fn rows(&self) -> Rows {
        Rows {
            header: vec![
                "ID",
                "USER",
                "PROVIDER",
                "AUTH TIME",
                "LAST SEEN",
                "EXPIRES",
            ],
            rows: self
                .items
                .iter()
                .map(|s| {
                    vec![
                        s.id.to_string(),
                        s.user_email
                            .clone()
                            .unwrap_or_else(|| s.user_id.to_string()),
                        s.provider.clone(),
                        timestamp(s.auth_time),
                        timestamp(s.last_seen_at),
                        timestamp(s.expires_at),
                    ]
                })
                .collect(),
        }
    }
}

impl Tabular for DeviceList {
    fn rows(&self) -> Rows {
        Rows {
            header: vec![
                "ID",
                "USER",
                "NAME",
                "PLATFORM",
                "ALG",
                "CREATED",
                "LAST USED",
            ],
            rows: self
                .items
                .iter()
                .map(|d| {
                    vec![
                        d.id.to_string(),
                        d.user_email
                            .clone()
                            .unwrap_or_else(|| d.user_id.to_string()),
                        d.name.clone(),
                        d.platform.clone(),
                        d.alg.clone(),
                        timestamp(d.created_at),
                        d.last_used_at.map(timestamp).unwrap_or_default(),
                    ]
                })
                .collect(),
        }
    }
}

impl Tabular for Status {
    fn rows(&self) -> Rows {
        Rows::fields(vec![
            ("version", self.version.clone()),
            ("backend", self.backend.clone()),
            ("ready", yes_no(self.ready).to_owned()),
            ("tenants", self.tenants.to_string()),
        ])
    }
}

fn yes_no(value: bool) -> &'static str {
    if value { "yes" } else { "no" }
}

/// An absent value is a dash, as for timestamps, rather than a blank cell.
fn optional(value: Option<&str>) -> String {
    value.unwrap_or("-").to_owned()
}

/// A list, written the same way in every table (`nb, en`); an empty one says so rather
/// than leaving a blank cell.
fn list(items: &[String]) -> String {
    if items.is_empty() {
        "(none)".to_owned()
    } else {
        items.join(", ")
    }
}

/// One item per line (URIs are long and may themselves contain commas).
fn lines(items: &[String]) -> String {
    if items.is_empty() {
        "(none)".to_owned()
    } else {
        items.join("\n")
    }
}

fn optional_timestamp(at: Option<OffsetDateTime>) -> String {
    at.map(timestamp).unwrap_or_else(|| "-".to_owned())
}

/// UTC, to the second: the admin API's sub-second digits only widen a table.
pub fn timestamp(at: OffsetDateTime) -> String {
    let format = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    let utc = at.to_offset(UtcOffset::UTC);
    utc.format(format).unwrap_or_else(|_| utc.to_string())
}

/// How results are printed.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    pub format: Format,
    /// stdout is a terminal: box-drawing borders and a table fitted to its width. Otherwise
    /// plain ASCII and no wrapping, so the columns stay the same either way.
    pub terminal: bool,
}

impl Output {
    pub fn render<T: Serialize + Tabular>(&self, value: &T) -> Result<String, Error> {
        let rows = match self.format {
            Format::Table => value.rows(),
            Format::Wide => value.wide_rows(),
            Format::Json | Format::Yaml => return self.render_data(value),
        };
        let mut text = table(rows, self.terminal);
        if let Some((name, secret)) = value.secret() {
            text.push_str(&format!("\n{name} (shown only this once):\n{secret}\n"));
        }
        Ok(text)
    }

    /// JSON or YAML (YAML also for `table`): for values that have no table.
    fn render_data<T: Serialize>(&self, value: &T) -> Result<String, Error> {
        let encode = |e: &dyn std::fmt::Display| Error::Output(io::Error::other(e.to_string()));
        match self.format {
            Format::Json => serde_json::to_string_pretty(value)
                .map(|json| json + "\n")
                .map_err(|e| encode(&e)),
            Format::Yaml | Format::Table | Format::Wide => {
                serde_yaml::to_string(value).map_err(|e| encode(&e))
            }
        }
    }

    pub fn print_value<T: Serialize>(&self, out: &mut dyn Write, value: &T) -> Result<(), Error> {
        let text = self.render_data(value)?;
        out.write_all(text.as_bytes()).map_err(Error::Output)
    }

    pub fn print<T: Serialize + Tabular>(
        &self,
        out: &mut dyn Write,
        value: &T,
    ) -> Result<(), Error> {
        let text = self.render(value)?;
        out.write_all(text.as_bytes()).map_err(Error::Output)
    }
}

/// A table: box-drawing on a terminal, plain ASCII otherwise, one rule under the header and
/// none between rows. Cells are never wrapped or cut: ids, URLs and secrets must copy whole
/// (the default columns are chosen to fit 80 columns; `-o wide` has the rest).
pub fn table(rows: Rows, terminal: bool) -> String {
    let mut table = Table::new();
    if terminal {
        table.load_style(presets::UTF8_FULL_CONDENSED);
    } else {
        table
            .force_no_tty()
            .load_style(presets::ASCII_FULL_CONDENSED);
    }
    table.set_content_arrangement(ContentArrangement::Disabled);
    table.set_header(rows.header);
    table.add_rows(rows.rows);
    format!("{table}\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::admin::{Alg, KeyState, SameSite, SessionSettings, SignupPolicy};
    use time::macros::datetime;

    fn tenant(slug: &str, name: &str) -> Tenant {
        Tenant {
            id: uuid::Uuid::nil(),
            slug: slug.into(),
            display_name: name.into(),
            locales: vec!["de".into(), "en".into()],
            session: SessionSettings {
                cookie_name: "__Host-idp".into(),
                cookie_domain: None,
                ttl_seconds: 28_800,
                idle_ttl_seconds: 5_400,
                same_site: SameSite::Lax,
            },
            signup_policy: SignupPolicy::Invite,
            default_provider: "native".into(),
            issuer: format!("http://127.0.0.1:8080/t/{slug}"),
            access_token_alg: Alg::ES256,
            key_rotation_interval_seconds: Some(7_776_000),
            created_at: datetime!(2026-11-28 10:00:00.123 +01:00),
            updated_at: datetime!(2026-11-28 10:00:00 UTC),
        }
    }

    const PLAIN: Output = Output {
        format: Format::Table,
        terminal: false,
    };

    #[test]
    fn tenant_list_plain_table() {
        let list = TenantList {
            items: vec![tenant("acme", "Acme Corp"), tenant("zeta", "Zeta")],
            next_after: None,
        };
        let expected = "\
+------+-----------+---------+--------+----------+----------------------+
| SLUG | NAME      | LOCALES | SIGNUP | PROVIDER | CREATED              |
+=======================================================================+
| acme | Acme Corp | de, en  | invite | native   | 2026-11-28T09:00:00Z |
| zeta | Zeta      | de, en  | invite | native   | 2026-11-28T09:00:00Z |
+------+-----------+---------+--------+----------+----------------------+
";
        assert_eq!(PLAIN.render(&list).unwrap(), expected);
    }

    #[test]
    fn plain_table_does_not_wrap_long_values() {
        let long = "N".repeat(300);
        let text = PLAIN
            .render(&TenantList {
                items: vec![tenant("acme", &long)],
                next_after: None,
            })
            .unwrap();
        assert!(text.lines().any(|line| line.contains(&long)));
    }

    #[test]
    fn tenant_field_table() {
        let text = PLAIN.render(&tenant("acme", "Acme Corp")).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[1].starts_with("| FIELD "), "{text}");
        for expected in [
            "| slug             | acme ",
            "| cookie domain    | (host-only) ",
            "| session ttl      | 8h ",
            "| idle ttl         | 1h30m ",
            "| same-site        | lax ",
            "| locales          | de, en ",
            "| access token alg | ES256 ",
            "| key rotation     | every 90d ",
        ] {
            assert!(text.contains(expected), "missing {expected:?} in\n{text}");
        }
    }

    fn client(client_id: &str, public: bool) -> Client {
        Client {
            id: uuid::Uuid::nil(),
            client_id: client_id.into(),
            tenant: "acme".into(),
            name: "Web app".into(),
            public,
            redirect_uris: vec!["https://a.example/cb".into(), "https://b.example/cb".into()],
            post_logout_redirect_uris: vec![],
            grant_types: vec!["authorization_code".into(), "refresh_token".into()],
            scopes: vec!["openid".into(), "email".into()],
            access_token_ttl_seconds: 600,
            id_token_alg: shared::admin::Alg::RS256,
            disabled: false,
            previous_secret_expires_at: None,
            created_at: datetime!(2026-11-28 10:00:00 UTC),
            updated_at: datetime!(2026-11-28 10:00:00 UTC),
        }
    }

    #[test]
    fn client_list_plain_table() {
        let list = ClientList {
            items: vec![client("web", false), client("spa", true)],
            next_after: None,
        };
        let expected = "\
+-----------+---------+--------------+----------+
| CLIENT_ID | NAME    | TYPE         | DISABLED |
+===============================================+
| web       | Web app | confidential | no       |
| spa       | Web app | public       | no       |
+-----------+---------+--------------+----------+
";
        assert_eq!(PLAIN.render(&list).unwrap(), expected);
        // -o wide adds the rest; grant URNs show by the names --grant takes.
        let mut device = client("tv", true);
        device.grant_types = vec![
            "urn:ietf:params:oauth:grant-type:device_code".into(),
            "urn:ietf:params:oauth:grant-type:jwt-bearer".into(),
        ];
        let wide = Output {
            format: Format::Wide,
            terminal: false,
        };
        let text = wide
            .render(&ClientList {
                items: vec![device],
                next_after: None,
            })
            .unwrap();
        assert!(text.contains("| SCOPES "), "{text}");
        assert!(text.contains("| device_code, jwt-bearer |"), "{text}");
        assert!(!text.contains("urn:"), "{text}");
    }

    /// Issue 23: usual values fit 80 columns in the default columns, and nothing is ever
    /// wrapped, whatever the terminal's width: long ids, URLs and secrets copy whole.
    #[test]
    fn default_tables_fit_80_columns_and_never_wrap() {
        let mut web = client("cli_8f3a2b1c9d4e5f60", false);
        web.name = "Messenger web".into();
        let lists = [
            PLAIN
                .render(&ClientList {
                    items: vec![web.clone(), client("spa", true)],
                    next_after: None,
                })
                .unwrap(),
            PLAIN
                .render(&TenantList {
                    items: vec![tenant("acme", "Acme Corporation")],
                    next_after: None,
                })
                .unwrap(),
        ];
        for text in &lists {
            for line in text.lines() {
                assert!(line.chars().count() <= 80, "{} columns: {line}", line.len());
            }
        }
        let long_uri = format!("https://app.example/{}", "callback/".repeat(20));
        web.redirect_uris = vec![long_uri.clone()];
        let secret = format!("idp_cs_{}", "S".repeat(60));
        let created = CreatedClient {
            client: web,
            client_secret: Some(secret.clone()),
        };
        for terminal in [false, true] {
            let out = Output {
                format: Format::Table,
                terminal,
            };
            let text = out.render(&created).unwrap();
            assert!(text.lines().any(|l| l.contains(&long_uri)), "{text}");
            assert!(
                text.lines().any(|l| l == secret),
                "the secret alone on a line:\n{text}"
            );
        }
    }

    #[test]
    fn created_client_shows_the_secret_below_the_table() {
        let created = CreatedClient {
            client: client("web", false),
            client_secret: Some("s3cr3t-value".into()),
        };
        let text = PLAIN.render(&created).unwrap();
        assert_eq!(text.matches("s3cr3t-value").count(), 1, "{text}");
        assert!(
            text.ends_with("+\n\nclient_secret (shown only this once):\ns3cr3t-value\n"),
            "{text}"
        );
        for expected in [
            "| client_id                 | web ",
            "| type                      | confidential ",
            "| post-logout redirect uris | (none) ",
            "| access token ttl          | 10m ",
            "| previous secret until     | - ",
        ] {
            assert!(text.contains(expected), "missing {expected:?} in\n{text}");
        }
        // One URI per line within the cell.
        assert!(text.contains("| https://a.example/cb "), "{text}");
        assert!(text.contains("| https://b.example/cb "), "{text}");

        let public = CreatedClient {
            client: client("spa", true),
            client_secret: None,
        };
        assert!(!PLAIN.render(&public).unwrap().contains("client_secret"));
    }

    fn user(email: &str, name: Option<&str>, locale: Option<&str>) -> User {
        User {
            id: uuid::Uuid::nil(),
            tenant: "acme".into(),
            email: email.into(),
            email_verified: true,
            name: name.map(str::to_owned),
            locale: locale.map(str::to_owned),
            disabled: false,
            created_at: datetime!(2026-11-28 10:00:00 UTC),
            updated_at: datetime!(2026-11-28 10:00:00 UTC),
        }
    }

    #[test]
    fn user_list_plain_table() {
        let mut bob = user("bob@example.com", None, None);
        (bob.email_verified, bob.disabled) = (false, true);
        let list = UserList {
            items: vec![user("alice@example.com", Some("Alice"), Some("nb")), bob],
            next_after: None,
        };
        let expected = "\
+-------------------+-------+--------+----------+----------+----------------------+
| EMAIL             | NAME  | LOCALE | VERIFIED | DISABLED | CREATED              |
+=================================================================================+
| alice@example.com | Alice | nb     | yes      | no       | 2026-11-28T10:00:00Z |
| bob@example.com   | -     | -      | no       | yes      | 2026-11-28T10:00:00Z |
+-------------------+-------+--------+----------+----------+----------------------+
";
        assert_eq!(PLAIN.render(&list).unwrap(), expected);
        let text = PLAIN
            .render(&user("alice@example.com", None, Some("en-US")))
            .unwrap();
        for expected in [
            "| email          | alice@example.com ",
            "| email verified | yes ",
            "| name           | - ",
            "| locale         | en-US ",
        ] {
            assert!(text.contains(expected), "missing {expected:?} in\n{text}");
        }
    }

    #[test]
    fn key_list_plain_table() {
        let key = |kid: &str, state, retired| SigningKey {
            kid: kid.into(),
            tenant: "acme".into(),
            alg: Alg::RS256,
            state,
            created_at: datetime!(2026-11-28 10:00:00 UTC),
            activates_at: datetime!(2026-11-28 10:06:00 UTC),
            retired_at: retired,
            removed_at: retired.map(|at| at + time::Duration::minutes(10)),
        };
        let list = KeyList {
            items: vec![
                key("k2", KeyState::Active, None),
                key(
                    "k1",
                    KeyState::Retiring,
                    Some(datetime!(2026-11-28 10:06:00 UTC)),
                ),
            ],
        };
        let text = PLAIN.render(&list).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[1],
            "| KID | ALG   | STATE    | ACTIVATES            | RETIRED              |"
        );
        assert_eq!(
            lines[3],
            "| k2  | RS256 | active   | 2026-11-28T10:06:00Z | -                    |"
        );
        let wide = Output {
            format: Format::Wide,
            terminal: false,
        };
        let text = wide.render(&list).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[1],
            "| KID | ALG   | STATE    | CREATED              | ACTIVATES            | RETIRED              | REMOVED AT           |"
        );
        assert!(
            lines[4].contains("| retiring | ") && lines[4].ends_with("| 2026-11-28T10:16:00Z |"),
            "{text}"
        );
    }

    #[test]
    fn terminal_tables_only_change_the_borders() {
        let status = Status {
            version: "0.1.0".into(),
            backend: "sqlite".into(),
            ready: true,
            tenants: 2,
        };
        let styled = Output {
            format: Format::Table,
            terminal: true,
        };
        let text = styled.render(&status).unwrap();
        assert!(text.contains('│') && text.contains("sqlite"), "{text}");
        let plain = PLAIN.render(&status).unwrap();
        assert!(
            plain.is_ascii() && plain.contains("| ready   | yes    |"),
            "{plain}"
        );
    }

    #[test]
    fn json_and_yaml_are_the_shared_types_unchanged() {
        let t = tenant("acme", "Acme Corp");
        let json = Output {
            format: Format::Json,
            terminal: true,
        }
        .render(&t)
        .unwrap();
        assert!(json.ends_with("}\n"));
        assert_eq!(serde_json::from_str::<Tenant>(&json).unwrap(), t);
        assert!(json.contains("\"display_name\": \"Acme Corp\""));

        let yaml = Output {
            format: Format::Yaml,
            terminal: false,
        }
        .render(&t)
        .unwrap();
        assert_eq!(serde_yaml::from_str::<Tenant>(&yaml).unwrap(), t);
        assert!(yaml.contains("display_name: Acme Corp"));
    }
}
