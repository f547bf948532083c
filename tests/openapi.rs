//! `/openapi.json` documents every route the router serves, and serves every route it
//! documents; `docs/API.md`, the contract, lists every route the router serves.

mod common;

use std::collections::BTreeSet;

use common::Server;

/// (method, path) pairs declared in `router()`, read from its source.
fn routes_in_router() -> BTreeSet<(String, String)> {
    let source = include_str!("../src/server/mod.rs");
    let body = &source[source.find("pub fn router(").expect("router() exists")..];
    let body = &body[..body.find("\n}\n").unwrap()];
    let compact: String = body.split_whitespace().collect::<Vec<_>>().join("");
    let mut routes = BTreeSet::new();
    for chunk in compact.split(".route(\"").skip(1) {
        let path = &chunk[..chunk.find('"').unwrap()];
        let handlers = &chunk[path.len()
            ..chunk
                .find(")).")
                .or_else(|| chunk.find("))"))
                .unwrap_or(chunk.len())];
        for method in ["get", "post", "delete", "put", "patch"] {
            if handlers.contains(&format!(",{method}("))
                || handlers.contains(&format!(".{method}("))
            {
                routes.insert((method.to_string(), path.to_string()));
            }
        }
    }
    routes
}

#[tokio::test]
async fn every_route_is_documented_and_every_documented_route_is_served() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), None);
    let spec: serde_json::Value = server
        .client
        .get(server.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(spec["openapi"], "3.1.0");
    let mut documented = BTreeSet::new();
    for (path, operations) in spec["paths"].as_object().unwrap() {
        for method in operations.as_object().unwrap().keys() {
            documented.insert((method.clone(), path.clone()));
        }
    }
    let served = routes_in_router();
    assert!(served.len() >= 30, "parsed too few routes: {served:?}");
    let undocumented: Vec<_> = served.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "routes missing from /openapi.json: {undocumented:?}"
    );
    let unserved: Vec<_> = documented.difference(&served).collect();
    assert!(
        unserved.is_empty(),
        "documented but not in router(): {unserved:?}"
    );

    // And the live server answers each documented route with something other than the
    // fallback "no such route" or "method not allowed".
    for (method, path) in &documented {
        let concrete = path
            .replace("{folder}", "inbox")
            .split('/')
            .map(|part| if part.starts_with('{') { "1" } else { part })
            .collect::<Vec<_>>()
            .join("/");
        if concrete == "/v1/events" {
            continue; // a stream: only its auth answer is checked below
        }
        let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let response = server
            .client
            .request(method.clone(), server.url(&concrete))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let body: serde_json::Value =
            serde_json::from_str(&response.text().await.unwrap()).unwrap_or_default();
        let code = body["error"]["code"].as_str().unwrap_or("");
        assert!(
            code != "not_found" && code != "method_not_allowed",
            "{method} {concrete}: {status} {body}"
        );
    }
    let (status, _) = server
        .request(reqwest::Method::GET, "/v1/events", None, None)
        .await;
    assert_eq!(status, 401);
}

#[test]
fn every_route_is_in_the_api_document() {
    let document = include_str!("../docs/API.md").replace('\\', "");
    let served = routes_in_router();
    assert!(served.len() >= 30, "parsed too few routes: {served:?}");
    let missing: Vec<String> = served
        .iter()
        .map(|(method, path)| format!("{} {path}", method.to_uppercase()))
        .filter(|route| {
            // Listed as itself: followed by a backtick, a query string or the end of a word.
            ![
                format!("{route}`"),
                format!("{route}?"),
                format!("{route} "),
            ]
            .iter()
            .any(|spelled| document.contains(spelled.as_str()))
        })
        .collect();
    assert!(
        missing.is_empty(),
        "routes missing from docs/API.md (list them as `METHOD /path`): {missing:?}"
    );
}
