//! `GET /openapi.json`: the HTTP contract as OpenAPI 3.1, generated from one route table.
//!
//! `ROUTES` lists every route the router serves with its audience and purpose; the spec is
//! built from it at start-up. `tests/openapi.rs` checks both directions: every route in
//! `router()` is documented here, and every documented route is served.

use serde_json::{json, Map, Value};

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    Public,
    Member,
    Reviewer,
    Admin,
    AdminOrService,
}

pub struct RouteDoc {
    pub method: &'static str,
    pub path: &'static str,
    pub audience: Audience,
    pub summary: &'static str,
}

const fn route(
    method: &'static str,
    path: &'static str,
    audience: Audience,
    summary: &'static str,
) -> RouteDoc {
    RouteDoc {
        method,
        path,
        audience,
        summary,
    }
}

use Audience::{Admin, AdminOrService, Member, Public, Reviewer};

pub const ROUTES: &[RouteDoc] = &[
    route(
        "get",
        "/",
        Public,
        "Where to start: version and links to the API documents",
    ),
    route("get", "/healthz", Public, "Liveness: the process answers"),
    route(
        "get",
        "/readyz",
        Public,
        "Readiness: store, rules and model loaded",
    ),
    route(
        "get",
        "/metrics",
        Public,
        "Prometheus metrics (text format)",
    ),
    route("get", "/openapi.json", Public, "This document"),
    route(
        "post",
        "/v1/admin/members",
        Admin,
        "Create a member; returns its id and token",
    ),
    route(
        "post",
        "/v1/admin/members/{member_id}/restriction",
        Admin,
        "Restrict a member (level, reason)",
    ),
    route(
        "delete",
        "/v1/admin/members/{member_id}/restriction",
        Admin,
        "Lift a member's restriction",
    ),
    route(
        "post",
        "/v1/admin/connections",
        Admin,
        "Connect two members (mutual)",
    ),
    route(
        "post",
        "/v1/admin/reviewers",
        Admin,
        "Create a reviewer; returns its token",
    ),
    route(
        "post",
        "/v1/admin/services",
        Admin,
        "Create a platform-service token (may call /v1/assess)",
    ),
    route(
        "post",
        "/v1/admin/rules/reload",
        Admin,
        "Recompile the rule packs and swap them in",
    ),
    route(
        "post",
        "/v1/admin/rescore",
        Admin,
        "Start a rescore job over stored messages ({dry_run, model?, rules?, since?})",
    ),
    route(
        "get",
        "/v1/admin/rescore/{job_id}",
        Admin,
        "A rescore job's progress and its before/after diff",
    ),
    route(
        "post",
        "/v1/assess",
        AdminOrService,
        "The verdict a send would get; nothing is stored",
    ),
    route(
        "post",
        "/v1/messages",
        Member,
        "Send a message (or InMail); answers the verdict",
    ),
    route(
        "delete",
        "/v1/messages/{message_id}",
        Member,
        "Recall a sent message within the window",
    ),
    route(
        "post",
        "/v1/messages/{message_id}/report",
        Member,
        "Report a received message",
    ),
    route(
        "post",
        "/v1/messages/{message_id}/mark-safe",
        Member,
        "Mark a received message safe",
    ),
    route(
        "get",
        "/v1/folders/{folder}",
        Member,
        "List inbox, other or archived threads",
    ),
    route(
        "get",
        "/v1/threads/{thread_id}",
        Member,
        "Read a thread (marks it read)",
    ),
    route(
        "post",
        "/v1/threads/{thread_id}/archive",
        Member,
        "Archive a thread",
    ),
    route(
        "post",
        "/v1/threads/{thread_id}/unarchive",
        Member,
        "Unarchive a thread",
    ),
    route("post", "/v1/blocks", Member, "Block a member"),
    route(
        "delete",
        "/v1/blocks/{member_id}",
        Member,
        "Unblock a member",
    ),
    route(
        "get",
        "/v1/search",
        Member,
        "Search one's own conversations",
    ),
    route(
        "get",
        "/v1/events",
        Member,
        "Server-sent events for the caller",
    ),
    route(
        "post",
        "/v1/appeals",
        Member,
        "Appeal a hold or a restriction",
    ),
    route(
        "get",
        "/v1/statements",
        Member,
        "Statements of reasons for holds and restrictions",
    ),
    route(
        "get",
        "/v1/review/queue",
        Reviewer,
        "Claim and list held items, oldest first",
    ),
    route(
        "get",
        "/v1/review/items/{item_id}",
        Reviewer,
        "Read an item's content (justification required, audited)",
    ),
    route(
        "post",
        "/v1/review/items/{item_id}/decision",
        Reviewer,
        "Decide an item: label and action",
    ),
    route(
        "post",
        "/v1/review/members/{member_id}/lift-restriction",
        Reviewer,
        "Lift a member's restriction",
    ),
    route(
        "get",
        "/v1/review/appeals",
        Reviewer,
        "Open appeals, oldest first",
    ),
    route(
        "post",
        "/v1/review/appeals/{appeal_id}/decision",
        Reviewer,
        "Uphold or overturn an appeal",
    ),
    route(
        "get",
        "/v1/review/audit",
        Reviewer,
        "The audit log between from and to",
    ),
    route(
        "get",
        "/v1/review/report",
        Reviewer,
        "Trust-and-safety report (json, csv or html) for a period",
    ),
    route(
        "get",
        "/v1/review/board",
        Reviewer,
        "The open queue sorted and filtered, with counts by reason; claims nothing",
    ),
    route(
        "post",
        "/v1/review/claim",
        Reviewer,
        "Claim the next matching item (a lease that expires)",
    ),
    route(
        "get",
        "/v1/review/items/{item_id}/context",
        Reviewer,
        "An item's reasons, rules, signals and sender history; no text",
    ),
    route(
        "get",
        "/v1/review/items/{item_id}/content",
        Reviewer,
        "Audited read with each message rendered: visible text and link targets",
    ),
    route(
        "get",
        "/v1/review/restrictions",
        Reviewer,
        "Members under restriction",
    ),
    route(
        "get",
        "/v1/review/audit/search",
        Reviewer,
        "The audit log filtered by reviewer and action, newest first",
    ),
    route(
        "get",
        "/v1/threads/{thread_id}/display",
        Member,
        "A thread rendered for display, with possible-spam labels",
    ),
    route(
        "get",
        "/console",
        Public,
        "The review console and member view (a web page)",
    ),
    route(
        "get",
        "/console/{asset}",
        Public,
        "The console's scripts and stylesheet",
    ),
];

fn error_schema() -> Value {
    json!({
        "type": "object",
        "required": ["error"],
        "properties": {"error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "field": {"type": "string"},
                "limit": {"type": "integer"}
            }
        }}
    })
}

/// The OpenAPI document.
pub fn spec() -> Value {
    let mut paths = Map::new();
    for route in ROUTES {
        let parameters: Vec<Value> = route
            .path
            .split('/')
            .filter_map(|part| part.strip_prefix('{').and_then(|p| p.strip_suffix('}')))
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        let security = match route.audience {
            Public => json!([]),
            Member => json!([{"member": []}]),
            Reviewer => json!([{"reviewer": []}]),
            Admin => json!([{"admin": []}]),
            AdminOrService => json!([{"admin": []}, {"service": []}]),
        };
        let operation = json!({
            "summary": route.summary,
            "parameters": parameters,
            "security": security,
            "responses": {
                "2XX": {"description": "success"},
                "4XX": {"description": "refused; see the error code",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
            }
        });
        let entry = paths
            .entry(route.path.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        entry[route.method] = operation;
    }
    let bearer = json!({"type": "http", "scheme": "bearer"});
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "sendguard",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Moderation and spam detection for a professional network's private messages. Errors are always {\"error\": {code, message, field?, limit?}}."
        },
        "paths": paths,
        "components": {
            "securitySchemes": {"member": bearer, "reviewer": bearer, "admin": bearer, "service": bearer},
            "schemas": {"Error": error_schema()}
        }
    })
}
