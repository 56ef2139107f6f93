//! Users through the real idpctl binary and the admin API: create, list (table, JSON, YAML),
//! show by email and id, update, disable, delete; bad input with its status and exit code;
//! tenant isolation; case-insensitive emails.

use idp_tests::{Api, Backend, Value, both_backends, json, setup};
use reqwest::Method;

both_backends!(
    user_lifecycle_with_idpctl,
    user_listing_pages_by_email,
    bad_user_input_gets_the_right_status_and_exit_code,
    users_of_one_tenant_are_invisible_through_another,
    emails_are_case_insensitive,
    odd_emails_survive_the_url_path,
);

async fn tenant(api: &Api, slug: &str) {
    let (status, body) = api.create_tenant(json!({"name": slug, "slug": slug})).await;
    assert_eq!(status, 201, "{body}");
}

fn emails(list: &Value) -> Vec<&str> {
    list["items"]
        .as_array()
        .unwrap_or_else(|| panic!("no items: {list}"))
        .iter()
        .map(|u| u["email"].as_str().expect("email"))
        .collect()
}

async fn user_lifecycle_with_idpctl(backend: Backend) {
    let s = setup(backend).await;
    let ctl = s.idpd.ctl();
    tenant(&s.idpd.api(), "acme").await;

    // create: the address is lower-cased and, typed in by an operator, taken as verified.
    let alice = ctl
        .run([
            "-o",
            "json",
            "user",
            "create",
            "--tenant",
            "acme",
            "--email",
            "  Alice@Example.COM ",
            "--name",
            "Alice",
            "--locale",
            "en-us",
        ])
        .ok()
        .json();
    assert_eq!(alice["email"], "alice@example.com");
    assert_eq!(alice["email_verified"], true);
    assert_eq!(alice["name"], "Alice");
    assert_eq!(alice["locale"], "en-US", "canonical BCP 47 case");
    assert_eq!(alice["disabled"], false);
    assert_eq!(alice["tenant"], "acme");
    let id = alice["id"].as_str().expect("id").to_owned();
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
    let bob = ctl
        .run([
            "-o",
            "json",
            "user",
            "create",
            "--tenant",
            "acme",
            "--email",
            "bob@example.com",
            "--unverified",
        ])
        .ok()
        .json();
    assert_eq!(bob["email_verified"], false);
    assert_eq!(bob["name"], Value::Null, "absent fields are null: {bob}");
    assert_eq!(bob["locale"], Value::Null);

    // list in all three formats, ordered by email
    let list = ctl
        .run(["-o", "json", "user", "list", "--tenant", "acme"])
        .ok()
        .json();
    assert_eq!(emails(&list), ["alice@example.com", "bob@example.com"]);
    assert!(list.get("next_after").is_none(), "{list}");
    let yaml = ctl
        .run(["-o", "yaml", "user", "list", "--tenant", "acme"])
        .ok()
        .stdout;
    let parsed: shared::admin::UserList = serde_yaml::from_str(&yaml).expect("YAML UserList");
    assert_eq!(parsed.items.len(), 2);
    assert_eq!(parsed.items[0].id.to_string(), id);
    let table = ctl.run(["user", "list", "--tenant", "acme"]).ok().stdout;
    let lines: Vec<&str> = table.lines().collect();
    for column in ["EMAIL", "NAME", "LOCALE", "VERIFIED", "DISABLED", "CREATED"] {
        assert!(lines[1].contains(column), "{column} missing in\n{table}");
    }
    assert!(
        lines[3].contains("| alice@example.com | Alice | en-US  | yes      | no "),
        "{table}"
    );
    assert!(
        lines[4].contains("| bob@example.com   | -     | -      | no       | no "),
        "{table}"
    );

    // show by email (in any case) and by id
    for key in ["alice@example.com", "ALICE@example.com", id.as_str()] {
        let shown = ctl
            .run(["-o", "json", "user", "show", "--tenant", "acme", key])
            .ok()
            .json();
        assert_eq!(shown["id"], id.as_str(), "{key}");
        assert_eq!(shown, alice, "{key}");
    }
    let shown = ctl
        .run(["user", "show", "--tenant", "acme", "alice@example.com"])
        .ok()
        .stdout;
    assert!(
        shown.contains("| email verified | yes") && shown.contains(&id),
        "{shown}"
    );

    // update, then clear what can be cleared
    let updated = ctl
        .run([
            "-o",
            "json",
            "user",
            "update",
            "--tenant",
            "acme",
            "alice@example.com",
            "--name",
            "Alice Liddell",
            "--locale",
            "NB",
            "--email",
            "Alice@Wonderland.example",
        ])
        .ok()
        .json();
    assert_eq!(updated["id"], id.as_str());
    assert_eq!(updated["name"], "Alice Liddell");
    assert_eq!(updated["locale"], "nb");
    assert_eq!(updated["email"], "alice@wonderland.example");
    assert_eq!(updated["email_verified"], true, "kept across the change");
    assert_eq!(updated["created_at"], alice["created_at"]);
    assert_ne!(updated["updated_at"], alice["updated_at"]);
    let old = ctl.run(["user", "show", "--tenant", "acme", "alice@example.com"]);
    assert_eq!(old.code, 3, "the old address is gone: {old:?}");
    let cleared = ctl
        .run([
            "-o",
            "json",
            "user",
            "update",
            "--tenant",
            "acme",
            &id,
            "--no-name",
            "--no-locale",
            "--unverified",
        ])
        .ok()
        .json();
    assert_eq!(cleared["name"], Value::Null);
    assert_eq!(cleared["locale"], Value::Null);
    assert_eq!(cleared["email_verified"], false);
    let nothing = ctl.run(["user", "update", "--tenant", "acme", &id]);
    assert_eq!(
        nothing.code, 2,
        "nothing to change is a usage error: {nothing:?}"
    );

    // disable: refused without a terminal unless --yes; idempotent; --enable undoes it
    let refused = ctl.run(["user", "disable", "--tenant", "acme", &id]);
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(refused.stderr.contains("--yes"), "{refused:?}");
    let still = ctl
        .run(["-o", "json", "user", "show", "--tenant", "acme", &id])
        .ok()
        .json();
    assert_eq!(still["disabled"], false, "nothing was sent");
    for _ in 0..2 {
        let disabled = ctl
            .run([
                "-o",
                "json",
                "user",
                "disable",
                "--tenant",
                "acme",
                "alice@wonderland.example",
                "--yes",
            ])
            .ok()
            .json();
        assert_eq!(disabled["disabled"], true);
        assert_eq!(disabled["id"], id.as_str());
    }
    let list = ctl
        .run(["-o", "json", "user", "list", "--tenant", "acme"])
        .ok()
        .json();
    assert_eq!(list["items"][0]["disabled"], true, "{list}");
    let enabled = ctl
        .run([
            "-o", "json", "user", "update", "--tenant", "acme", &id, "--enable",
        ])
        .ok()
        .json();
    assert_eq!(enabled["disabled"], false);

    // delete: refused without --yes, then done; the user is gone
    let refused = ctl.run(["user", "delete", "--tenant", "acme", &id]);
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(refused.stderr.contains("--yes"), "{refused:?}");
    ctl.run(["user", "show", "--tenant", "acme", &id]).ok();
    let deleted = ctl
        .run(["user", "delete", "--tenant", "acme", &id, "--yes"])
        .ok();
    assert!(
        deleted.stdout.is_empty(),
        "stdout is data only: {deleted:?}"
    );
    assert!(deleted.stderr.contains("deleted user"), "{deleted:?}");
    let gone = ctl.run(["user", "show", "--tenant", "acme", &id]);
    assert_eq!(gone.code, 3, "{gone:?}");
    let again = ctl.run(["user", "delete", "--tenant", "acme", &id, "--yes"]);
    assert_eq!(again.code, 3, "{again:?}");
    let list = ctl
        .run(["-o", "json", "user", "list", "--tenant", "acme"])
        .ok()
        .json();
    assert_eq!(emails(&list), ["bob@example.com"]);
}

async fn user_listing_pages_by_email(backend: Backend) {
    let s = setup(backend).await;
    let api = s.idpd.api();
    let ctl = s.idpd.ctl();
    tenant(&api, "acme").await;
    // Created out of order; listed by email.
    for e in [
        "d@x.example",
        "a@x.example",
        "c@x.example",
        "b@x.example",
        "e@x.example",
    ] {
        let (status, body) = api
            .send(
                Method::POST,
                "/tenants/acme/users",
                Some(json!({"email": e})),
            )
            .await;
        assert_eq!(status, 201, "{body}");
    }
    let (status, page) = api
        .send(Method::GET, "/tenants/acme/users?limit=2", None)
        .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(emails(&page), ["a@x.example", "b@x.example"]);
    assert_eq!(page["next_after"], "b@x.example");
    let (_, page) = api
        .send(
            Method::GET,
            "/tenants/acme/users?limit=2&after=b%40x.example",
            None,
        )
        .await;
    assert_eq!(emails(&page), ["c@x.example", "d@x.example"]);
    let (status, body) = api
        .send(Method::GET, "/tenants/acme/users?limit=0", None)
        .await;
    assert_eq!(status, 422, "{body}");

    // idpctl: one page with --limit, or every page after --after.
    let one = ctl
        .run([
            "-o", "json", "user", "list", "--tenant", "acme", "--limit", "3",
        ])
        .ok()
        .json();
    assert_eq!(emails(&one), ["a@x.example", "b@x.example", "c@x.example"]);
    assert_eq!(one["next_after"], "c@x.example");
    let rest = ctl
        .run([
            "-o",
            "json",
            "user",
            "list",
            "--tenant",
            "acme",
            "--after",
            "C@X.example",
        ])
        .ok()
        .json();
    assert_eq!(emails(&rest), ["d@x.example", "e@x.example"]);
    let table = ctl
        .run(["user", "list", "--tenant", "acme", "--limit", "2"])
        .ok();
    assert!(
        table.stderr.contains("--after b@x.example"),
        "a table says how to get the next page: {table:?}"
    );
}

async fn bad_user_input_gets_the_right_status_and_exit_code(backend: Backend) {
    let s = setup(backend).await;
    let api = s.idpd.api();
    let ctl = s.idpd.ctl();
    tenant(&api, "acme").await;
    let create = |body: Value| {
        let api = api.clone();
        async move {
            api.send(Method::POST, "/tenants/acme/users", Some(body))
                .await
        }
    };
    let (status, alice) = create(json!({"email": "alice@example.com"})).await;
    assert_eq!(status, 201, "{alice}");

    // Invalid email: 422 naming the field; idpctl exits 1 with the server's message.
    for bad in [
        "alice",
        "alice@localhost",
        "a b@example.com",
        "@example.com",
        "a@@b.example",
    ] {
        let (status, body) = create(json!({"email": bad})).await;
        assert_eq!(status, 422, "{bad:?}: {body}");
        assert_eq!(body["error"], "validation_failed", "{body}");
        assert!(
            body["message"].as_str().unwrap().starts_with("email: "),
            "{body}"
        );
    }
    let out = ctl.run([
        "user",
        "create",
        "--tenant",
        "acme",
        "--email",
        "not-an-email",
    ]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr
            .contains("idpctl: error: email: \"not-an-email\" is not an email address"),
        "{out:?}"
    );
    let long = format!("{}@example.com", "a".repeat(250));
    let (status, _) = create(json!({ "email": long })).await;
    assert_eq!(status, 422);

    // Duplicate email, in another case: 409; idpctl exits 5.
    let (status, body) = create(json!({"email": "ALICE@example.com"})).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"], "conflict");
    let out = ctl.run([
        "user",
        "create",
        "--tenant",
        "acme",
        "--email",
        "Alice@Example.com",
    ]);
    assert_eq!(out.code, 5, "{out:?}");
    assert!(out.stderr.contains("already has a user"), "{out:?}");

    // Unknown user: 404; idpctl exits 3 for every verb.
    let (status, body) = api
        .send(Method::GET, "/tenants/acme/users/nobody@example.com", None)
        .await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["error"], "not_found");
    let ghost = uuid::Uuid::new_v4().to_string();
    let (status, _) = api
        .send(Method::GET, &format!("/tenants/acme/users/{ghost}"), None)
        .await;
    assert_eq!(status, 404);
    for args in [
        vec!["show", "nobody@example.com"],
        vec!["update", "nobody@example.com", "--name", "X"],
        vec!["disable", "nobody@example.com", "--yes"],
        vec!["delete", ghost.as_str(), "--yes"],
    ] {
        let mut argv = vec!["user", "--tenant", "acme"];
        argv.splice(1..1, [args[0]]);
        argv.extend(&args[1..]);
        let out = ctl.run(&argv);
        assert_eq!(out.code, 3, "{argv:?}: {out:?}");
    }

    // Unknown tenant: 404 on every route; idpctl exits 3.
    for (method, path, body) in [
        (Method::GET, "/tenants/nope/users", None),
        (
            Method::POST,
            "/tenants/nope/users",
            Some(json!({"email": "a@b.example"})),
        ),
        (Method::GET, "/tenants/nope/users/alice@example.com", None),
        (
            Method::PATCH,
            "/tenants/nope/users/alice@example.com",
            Some(json!({"name": "A"})),
        ),
        (
            Method::POST,
            "/tenants/nope/users/alice@example.com/disable",
            None,
        ),
        (
            Method::DELETE,
            "/tenants/nope/users/alice@example.com",
            None,
        ),
    ] {
        let (status, res) = api.send(method.clone(), path, body).await;
        assert_eq!(status, 404, "{method} {path}: {res}");
        assert!(res["message"].as_str().unwrap().contains("tenant"), "{res}");
    }
    let out = ctl.run(["user", "list", "--tenant", "nope"]);
    assert_eq!(out.code, 3, "{out:?}");

    // Invalid locale and name: 422.
    for body in [
        json!({"email": "c@example.com", "locale": "english"}),
        json!({"email": "c@example.com", "locale": "x-private"}),
        json!({"email": "c@example.com", "name": ""}),
        json!({"email": "c@example.com", "name": "n".repeat(201)}),
    ] {
        let (status, res) = create(body.clone()).await;
        assert_eq!(status, 422, "{body}: {res}");
        assert_eq!(res["error"], "validation_failed");
    }
    let out = ctl.run([
        "user",
        "update",
        "--tenant",
        "acme",
        "alice@example.com",
        "--locale",
        "en_US",
    ]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("locale: "), "{out:?}");
    let (status, res) = api
        .send(
            Method::PATCH,
            "/tenants/acme/users/alice@example.com",
            Some(json!({"email": "bad", "locale": "??"})),
        )
        .await;
    assert_eq!(status, 422, "{res}");
    let message = res["message"].as_str().unwrap();
    assert!(
        message.contains("email: ") && message.contains("locale: "),
        "every field is reported at once: {message}"
    );

    // Unknown fields, an empty update, a wrong type: 422, and nothing changes.
    for (method, path, body) in [
        (
            Method::POST,
            "/tenants/acme/users",
            json!({"email": "d@example.com", "password": "hunter2"}),
        ),
        (
            Method::PATCH,
            "/tenants/acme/users/alice@example.com",
            json!({"admin": true}),
        ),
        (
            Method::PATCH,
            "/tenants/acme/users/alice@example.com",
            json!({"disabled": "yes"}),
        ),
        (
            Method::PATCH,
            "/tenants/acme/users/alice@example.com",
            json!({}),
        ),
    ] {
        let (status, res) = api.send(method.clone(), path, Some(body.clone())).await;
        assert_eq!(status, 422, "{method} {path} {body}: {res}");
    }
    let (_, res) = api
        .send(
            Method::PATCH,
            "/tenants/acme/users/alice@example.com",
            Some(json!({"admin": true})),
        )
        .await;
    assert_eq!(res["error"], "invalid_body");
    assert!(res["message"].as_str().unwrap().contains("admin"), "{res}");
    let (_, unchanged) = api
        .send(Method::GET, "/tenants/acme/users/alice@example.com", None)
        .await;
    assert_eq!(unchanged, alice);
    let (status, list) = api.send(Method::GET, "/tenants/acme/users", None).await;
    assert_eq!(status, 200);
    assert_eq!(emails(&list), ["alice@example.com"]);
}

async fn users_of_one_tenant_are_invisible_through_another(backend: Backend) {
    let s = setup(backend).await;
    let api = s.idpd.api();
    let ctl = s.idpd.ctl();
    tenant(&api, "alpha").await;
    tenant(&api, "beta").await;
    let alice = ctl
        .run([
            "-o",
            "json",
            "user",
            "create",
            "--tenant",
            "alpha",
            "--email",
            "alice@example.com",
        ])
        .ok()
        .json();
    let id = alice["id"].as_str().unwrap();

    for key in [id, "alice@example.com"] {
        for (method, suffix, body) in [
            (Method::GET, "", None),
            (Method::PATCH, "", Some(json!({"name": "Mallory"}))),
            (Method::POST, "/disable", None),
            (Method::DELETE, "", None),
        ] {
            let path = format!("/tenants/beta/users/{key}{suffix}");
            let (status, res) = api.send(method.clone(), &path, body).await;
            assert_eq!(status, 404, "{method} {path}: {res}");
        }
        let out = ctl.run(["user", "show", "--tenant", "beta", key]);
        assert_eq!(out.code, 3, "{out:?}");
        let out = ctl.run(["user", "delete", "--tenant", "beta", key, "--yes"]);
        assert_eq!(out.code, 3, "{out:?}");
    }
    let list = ctl
        .run(["-o", "json", "user", "list", "--tenant", "beta"])
        .ok()
        .json();
    assert!(emails(&list).is_empty(), "{list}");

    // Nothing leaked through: the user of alpha is untouched.
    let (_, still) = api
        .send(Method::GET, &format!("/tenants/alpha/users/{id}"), None)
        .await;
    assert_eq!(still, alice);

    // The same address is a different user in another tenant.
    let other = ctl
        .run([
            "-o",
            "json",
            "user",
            "create",
            "--tenant",
            "beta",
            "--email",
            "Alice@Example.com",
        ])
        .ok()
        .json();
    assert_eq!(other["email"], "alice@example.com");
    assert_ne!(other["id"], alice["id"]);
    assert_eq!(other["tenant"], "beta");

    // Deleting a tenant deletes its users, and only its users.
    ctl.run(["tenant", "delete", "alpha", "--yes"]).ok();
    let (status, _) = api
        .send(Method::GET, "/tenants/beta/users/alice@example.com", None)
        .await;
    assert_eq!(status, 200);
}

async fn emails_are_case_insensitive(backend: Backend) {
    let s = setup(backend).await;
    let api = s.idpd.api();
    let ctl = s.idpd.ctl();
    tenant(&api, "acme").await;
    let created = ctl
        .run([
            "-o",
            "json",
            "user",
            "create",
            "--tenant",
            "acme",
            "--email",
            "Alice@Example.COM",
        ])
        .ok()
        .json();
    assert_eq!(created["email"], "alice@example.com");
    for key in [
        "alice@example.com",
        "ALICE@EXAMPLE.COM",
        "aLiCe@example.Com",
    ] {
        let shown = ctl
            .run(["-o", "json", "user", "show", "--tenant", "acme", key])
            .ok()
            .json();
        assert_eq!(shown["id"], created["id"], "{key}");
    }
    let dup = ctl.run([
        "user",
        "create",
        "--tenant",
        "acme",
        "--email",
        "alice@example.com",
    ]);
    assert_eq!(dup.code, 5, "{dup:?}");

    // Renaming another user onto the address, in any case, conflicts too.
    let (status, bob) = api
        .send(
            Method::POST,
            "/tenants/acme/users",
            Some(json!({"email": "bob@example.com"})),
        )
        .await;
    assert_eq!(status, 201, "{bob}");
    let (status, res) = api
        .send(
            Method::PATCH,
            "/tenants/acme/users/bob@example.com",
            Some(json!({"email": "ALICE@example.COM"})),
        )
        .await;
    assert_eq!(status, 409, "{res}");
    let out = ctl.run([
        "user",
        "update",
        "--tenant",
        "acme",
        "bob@example.com",
        "--email",
        "Alice@Example.Com",
    ]);
    assert_eq!(out.code, 5, "{out:?}");
    // A user may re-case their own address: it is the same one.
    let (status, res) = api
        .send(
            Method::PATCH,
            "/tenants/acme/users/ALICE@example.com",
            Some(json!({"email": "ALICE@EXAMPLE.COM", "name": "Alice"})),
        )
        .await;
    assert_eq!(status, 200, "{res}");
    assert_eq!(res["email"], "alice@example.com");
    let list = ctl
        .run(["-o", "json", "user", "list", "--tenant", "acme"])
        .ok()
        .json();
    assert_eq!(emails(&list), ["alice@example.com", "bob@example.com"]);
}

async fn odd_emails_survive_the_url_path(backend: Backend) {
    let s = setup(backend).await;
    let ctl = s.idpd.ctl();
    tenant(&s.idpd.api(), "acme").await;
    // `+`, `/`, `%`, `?` and `#` are legal in a local part and mean something in a URL;
    // a leading `-` means something to a command line.
    for email in [
        "o'brien+news@example.com",
        "a/b%c?d#e@example.com",
        "-bob@example.com",
    ] {
        let created = ctl
            .run([
                "-o", "json", "user", "create", "--tenant", "acme", "--email", email,
            ])
            .ok()
            .json();
        assert_eq!(created["email"], email);
        let shown = ctl
            .run(["-o", "json", "user", "show", "--tenant", "acme", email])
            .ok()
            .json();
        assert_eq!(shown["id"], created["id"], "{email}");
        let disabled = ctl
            .run([
                "-o", "json", "user", "disable", "--tenant", "acme", email, "--yes",
            ])
            .ok()
            .json();
        assert_eq!(disabled["disabled"], true, "{email}");
        ctl.run(["user", "delete", "--tenant", "acme", email, "--yes"])
            .ok();
    }
    let list = ctl
        .run(["-o", "json", "user", "list", "--tenant", "acme"])
        .ok()
        .json();
    assert!(emails(&list).is_empty(), "{list}");
}
