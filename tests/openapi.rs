//! The OpenAPI document at /api/v1/openapi.json matches the routes the server answers.

use idp_tests::{Backend, Value, both_backends, json, setup};

both_backends!(openapi_matches_routes);

async fn openapi_matches_routes(backend: Backend) {
    let s = setup(backend).await;
    let api = s.idpd.api();
    let (status, tenant) = api.create_tenant(json!({"name": "Acme"})).await;
    assert_eq!(status, 201);
    let (status, _) = api
        .send(
            reqwest::Method::POST,
            "/tenants/acme/clients",
            Some(json!({"name": "svc", "client_id": "svc"})),
        )
        .await;
    assert_eq!(status, 201);
    let http = &api.http;
    let doc: Value = http
        .get(format!("{}/openapi.json", api.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().expect("paths");
    let mut documented = Vec::new();
    for (path, item) in paths {
        for method in item.as_object().unwrap().keys() {
            documented.push(format!("{} {path}", method.to_uppercase()));
        }
    }
    documented.sort();
    // Every route the server has (this list is what idpd's router mounts) is documented...
    let mut mounted = vec![
        "GET /api/v1/status",
        "GET /api/v1/tenants",
        "POST /api/v1/tenants",
        "GET /api/v1/tenants/{tenant}",
        "PATCH /api/v1/tenants/{tenant}",
        "DELETE /api/v1/tenants/{tenant}",
        "GET /api/v1/tenants/{tenant}/clients",
        "POST /api/v1/tenants/{tenant}/clients",
        "GET /api/v1/tenants/{tenant}/clients/{client_id}",
        "PATCH /api/v1/tenants/{tenant}/clients/{client_id}",
        "DELETE /api/v1/tenants/{tenant}/clients/{client_id}",
        "POST /api/v1/tenants/{tenant}/clients/{client_id}/rotate-secret",
        "GET /api/v1/tenants/{tenant}/keys",
        "POST /api/v1/tenants/{tenant}/keys/rotate",
        "POST /api/v1/keys/{kid}/retire",
        "GET /api/v1/tenants/{tenant}/users",
        "POST /api/v1/tenants/{tenant}/users",
        "GET /api/v1/tenants/{tenant}/users/{user}",
        "PATCH /api/v1/tenants/{tenant}/users/{user}",
        "DELETE /api/v1/tenants/{tenant}/users/{user}",
        "POST /api/v1/tenants/{tenant}/users/{user}/disable",
        "GET /api/v1/tenants/{tenant}/sessions",
        "DELETE /api/v1/sessions/{id}",
        "GET /api/v1/tenants/{tenant}/providers",
        "POST /api/v1/tenants/{tenant}/providers",
        "GET /api/v1/tenants/{tenant}/providers/{name}",
        "PATCH /api/v1/tenants/{tenant}/providers/{name}",
        "DELETE /api/v1/tenants/{tenant}/providers/{name}",
        "POST /api/v1/tenants/{tenant}/providers/{name}/default",
        "POST /api/v1/tenants/{tenant}/providers/{name}/test",
        "GET /api/v1/tenants/{tenant}/devices",
        "DELETE /api/v1/tenants/{tenant}/devices/{id}",
        "GET /api/v1/audit",
    ];
    mounted.sort();
    assert_eq!(documented, mounted);
    // ...and every documented operation is answered by a route (not the 404/405 fallbacks).
    for op in &documented {
        let (method, path) = op.split_once(' ').unwrap();
        let path = path
            .replace("{tenant}", tenant["slug"].as_str().unwrap())
            .replace("{client_id}", "svc")
            .replace("{kid}", "no-such-kid")
            .replace("{user}", "nobody@example.com")
            .replace("{id}", "no-such-session")
            .replace("{name}", "no-such-provider");
        let url = format!("{}{}", s.idpd.admin_url(), path);
        let mut req = http
            .request(method.parse().unwrap(), url)
            .bearer_auth(&api.token);
        if method == "POST" || method == "PATCH" {
            req = req.json(&json!({}));
        }
        let res = req.send().await.unwrap();
        let code = res.status().as_u16();
        let body: Value = res.json().await.unwrap_or(Value::Null);
        assert!(
            code != 405 && body["message"] != "no such route",
            "{op} is documented but not routed: {code} {body}"
        );
    }
}
