//! Tenants through idpctl and the admin API: CRUD in every output format, slug rules.

use std::collections::HashSet;

use idp_tests::{Backend, both_backends, json, setup};

both_backends!(
    tenant_crud_with_idpctl,
    slugs_from_names,
    concurrent_creations_get_distinct_slugs,
    slugs_that_read_as_uuids_are_refused,
);

async fn tenant_crud_with_idpctl(backend: Backend) {
    let s = setup(backend).await;
    let ctl = s.idpd.ctl();

    let created = ctl
        .run(["-o", "json", "tenant", "create", "Acme Corp"])
        .ok()
        .json();
    assert_eq!(created["slug"], "acme-corp");
    assert_eq!(created["display_name"], "Acme Corp");
    assert_eq!(created["default_provider"], "native");
    assert_eq!(created["locales"], json!(["en"]));
    assert!(
        created["issuer"]
            .as_str()
            .unwrap()
            .ends_with("/t/acme-corp")
    );

    // list in all three formats
    let list = ctl.run(["tenant", "list", "-o", "json"]).ok().json();
    let slugs: Vec<_> = list
        .as_array()
        .or(list["items"].as_array())
        .unwrap()
        .iter()
        .map(|t| t["slug"].clone())
        .collect();
    assert_eq!(slugs, [json!("acme-corp")]);
    let yaml = ctl.run(["tenant", "list", "-o", "yaml"]).ok().stdout;
    let parsed: serde_yaml::Value = serde_yaml::from_str(&yaml).expect("yaml output");
    assert!(format!("{parsed:?}").contains("acme-corp"), "{yaml}");
    let table = ctl.run(["tenant", "list"]).ok().stdout;
    assert!(
        table.contains("acme-corp") && table.contains("Acme Corp"),
        "{table}"
    );

    // show by slug and by id
    let id = created["id"].as_str().unwrap();
    let by_id = ctl.run(["-o", "json", "tenant", "show", id]).ok().json();
    assert_eq!(by_id["slug"], "acme-corp");
    let shown = ctl.run(["tenant", "show", "acme-corp"]).ok().stdout;
    assert!(shown.contains("acme-corp"), "{shown}");

    // update
    let updated = ctl
        .run([
            "-o",
            "json",
            "tenant",
            "update",
            "acme-corp",
            "--name",
            "Acme Corporation",
            "--locale",
            "nb",
            "--locale",
            "en-us",
            "--signup-policy",
            "invite",
            "--session-ttl",
            "12h",
            "--idle-ttl",
            "30m",
        ])
        .ok()
        .json();
    assert_eq!(updated["display_name"], "Acme Corporation");
    assert_eq!(updated["slug"], "acme-corp", "slug is immutable");
    assert_eq!(updated["locales"], json!(["nb", "en-US"]));
    assert_eq!(updated["signup_policy"], "invite");
    assert_eq!(updated["session"]["ttl_seconds"], 12 * 3600);
    assert_eq!(updated["session"]["idle_ttl_seconds"], 1800);
    let yaml = ctl
        .run(["-o", "yaml", "tenant", "show", "acme-corp"])
        .ok()
        .stdout;
    let y: serde_yaml::Value = serde_yaml::from_str(&yaml).unwrap();
    assert_eq!(y["signup_policy"].as_str(), Some("invite"));

    // delete: refused without --yes when not on a terminal, done with it
    let refused = ctl.run(["tenant", "delete", "acme-corp"]);
    assert_ne!(refused.code, 0);
    assert!(refused.stderr.contains("--yes"), "{refused:?}");
    ctl.run(["tenant", "show", "acme-corp"]).ok();
    ctl.run(["tenant", "delete", "acme-corp", "--yes"]).ok();
    let gone = ctl.run(["tenant", "show", "acme-corp"]);
    assert_eq!(gone.code, 3, "{gone:?}");
    let list = ctl.run(["tenant", "list", "-o", "json"]).ok().json();
    assert_eq!(
        list.as_array().or(list["items"].as_array()).unwrap().len(),
        0
    );
}

async fn slugs_from_names(backend: Backend) {
    let s = setup(backend).await;
    let api = s.idpd.api();
    let cases = [
        ("Bjørn Ålesund AS", "bjorn-alesund-as"),
        ("Bjørn Ålesund AS", "bjorn-alesund-as-2"),
        ("BJØRN ÅLESUND as!", "bjorn-alesund-as-3"),
        ("Straße & Söhne GmbH", "strasse-sohne-gmbh"),
        ("Admin", "admin-2"),
        ("   ", ""),
    ];
    for (name, want) in cases {
        let (status, body) = api.create_tenant(json!({ "name": name })).await;
        if want.is_empty() {
            assert_eq!(status, 422, "{name:?}: {body}");
            assert_eq!(body["error"], "validation_failed");
            continue;
        }
        assert_eq!(status, 201, "{name:?}: {body}");
        assert_eq!(body["slug"], want, "{name:?}");
    }
    let long = "Ein sehr langer Firmenname ".repeat(5);
    let (status, body) = api.create_tenant(json!({ "name": long })).await;
    assert_eq!(status, 201, "{body}");
    let slug = body["slug"].as_str().unwrap();
    assert!(slug.len() <= 63 && !slug.ends_with('-'), "{slug}");

    // explicit slugs
    let (status, body) = api
        .create_tenant(json!({ "name": "Globex", "slug": "globex-eu" }))
        .await;
    assert_eq!((status, body["slug"].as_str()), (201, Some("globex-eu")));
    let (status, body) = api
        .create_tenant(json!({ "name": "Other", "slug": "globex-eu" }))
        .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"], "conflict");
}

async fn concurrent_creations_get_distinct_slugs(backend: Backend) {
    let s = setup(backend).await;
    let api = s.idpd.api();
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let api = api.clone();
            tokio::spawn(async move { api.create_tenant(json!({ "name": "Initech" })).await })
        })
        .collect();
    let mut slugs = HashSet::new();
    for t in tasks {
        let (status, body) = t.await.unwrap();
        assert_eq!(status, 201, "every creation succeeds: {body}");
        assert!(
            slugs.insert(body["slug"].as_str().unwrap().to_owned()),
            "duplicate slug {body}"
        );
    }
    let want: HashSet<String> = std::iter::once("initech".to_owned())
        .chain((2..=20).map(|n| format!("initech-{n}")))
        .collect();
    assert_eq!(slugs, want);
    let (_, page) = api
        .send(reqwest::Method::GET, "/tenants?limit=500", None)
        .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 20);
}

/// Issue 16: a tenant looked up by `KEY` is found by id first, so a slug equal to another
/// tenant's id would make one tenant's name lead to the other. Such slugs are refused, in
/// every form a slug's alphabet can spell, through the API and through idpctl; a tenant
/// named like a UUID gets the suffixed slug.
async fn slugs_that_read_as_uuids_are_refused(backend: Backend) {
    let s = setup(backend).await;
    let api = s.idpd.api();
    let (status, a) = api.create_tenant(json!({ "name": "Acme" })).await;
    assert_eq!(status, 201, "{a}");
    let id = a["id"].as_str().unwrap().to_owned();
    let simple = id.replace('-', "");
    for slug in [id.clone(), simple.clone(), uuid::Uuid::nil().to_string()] {
        let (status, body) = api
            .create_tenant(json!({ "name": "Evil", "slug": slug }))
            .await;
        assert_eq!(status, 422, "{slug}: {body}");
        assert_eq!(body["error"], "validation_failed", "{body}");
        assert!(body["message"].as_str().unwrap().contains("UUID"), "{body}");
    }
    let (status, named) = api.create_tenant(json!({ "name": id })).await;
    assert_eq!(status, 201, "{named}");
    assert_eq!(named["slug"], format!("{id}-2"));
    // Lookups by the id still find Acme.
    let ctl = s.idpd.ctl();
    let shown = ctl.run(["-o", "json", "tenant", "show", &id]).ok().json();
    assert_eq!(shown["slug"], a["slug"]);
    let out = ctl.run(["tenant", "create", "Evil", "--slug", &simple]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("UUID"), "{out:?}");
}
