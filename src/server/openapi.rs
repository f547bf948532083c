//! `GET /openapi.json`: the HTTP contract as OpenAPI 3.1, generated from one route table and
//! the Rust types themselves.
//!
//! `ROUTES` lists every route the router serves with its audience, its path and query
//! parameters, its JSON request body and its responses per status. Bodies are named by their
//! Rust type (`schema::<SendRequest>`), and their schemas are derived from those types
//! (utoipa's `ToSchema`, which reads the serde attributes), so a field added to a request or
//! a response is in the document without anyone editing it. `tests/openapi.rs` checks that
//! every route in `router()` is documented here and every documented route is served, that
//! every schema a route refers to is in the components, and that the document validates as
//! OpenAPI 3.1; `scripts/schemathesis` holds the live server to it.

use serde_json::{json, Map, Value};
use utoipa::openapi::{RefOr, Schema};
use utoipa::ToSchema;

use super::admin::{Connection, NewReviewer, RestrictionRequest};
use super::bodies::{
    AuditLog, CampaignList, Connected, Health, Index, OpenAppeals, Readiness, ReportQueued,
    RescoreStarted, ReviewQueue, RotationStarted, RulesReloaded, SearchResults,
    SponsoredCampaignList, SponsoredReplies, Statements,
};
use super::console_api::ClaimRequest;
use super::error::ErrorBody;
use super::member::{BlockRequest, ReportRequest};
use super::rescore::RescoreRequest;
use super::review::LiftRequest;
use crate::app::{
    AppealDecisionRequest, AppealRequest, AssessRequest, CampaignActionOutcome,
    CampaignActionRequest, CampaignDetail, CreatedAdvertiser, CreatedAppeal, CreatedMember,
    CreatedReviewer, CreatedService, CreditsView, DecisionRequest, ErasureOutcome, FolderPage,
    ItemView, NewAdvertiser, NewMember, NewSponsoredCampaign, SendOutcome, SendRequest,
    SponsoredReviewRequest, SponsoredRun, SponsoredSetting, SweepReport, ThreadPage,
};
use crate::batch::JobView;
use crate::domain::{SponsoredCampaign, Verdict};
use crate::store::crypt::SealingCensus;

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    Public,
    Member,
    Reviewer,
    Admin,
    AdminOrService,
    Advertiser,
}

/// Schemas gathered for the components: (name, schema).
type Schemas = Vec<(String, RefOr<Schema>)>;

/// Adds a type's schema, and those of the types it is made of, to the components; returns
/// the name a `$ref` uses.
pub type Register = fn(&mut Schemas) -> String;

/// [`Register`] for `T`.
fn schema<T: ToSchema>(out: &mut Schemas) -> String {
    let name = T::name().into_owned();
    out.push((name.clone(), T::schema()));
    T::schemas(out);
    name
}

/// A response body.
#[derive(Clone, Copy)]
pub enum Body {
    /// No body (204).
    Empty,
    /// JSON of a Rust type.
    Json(Register),
    /// Text of this media type.
    Other(&'static str),
    /// A JSON object without a schema of its own (the OpenAPI document itself).
    AnyJson,
    /// The trust-and-safety report: JSON, CSV or HTML as asked.
    Report,
    /// A console asset: a script or the stylesheet.
    Asset,
}

/// A query parameter's values.
#[derive(Clone, Copy)]
pub enum Values {
    /// An integer from `min` to `max`.
    Int { min: u64, max: u64 },
    /// Free text.
    Text,
    /// A date `YYYY-MM-DD` (UTC) or epoch milliseconds.
    Time,
    /// One of these words.
    OneOf(&'static [&'static str]),
}

#[derive(Clone, Copy)]
pub struct QueryParam {
    pub name: &'static str,
    pub required: bool,
    pub values: Values,
    pub description: &'static str,
}

const fn query(
    name: &'static str,
    required: bool,
    values: Values,
    description: &'static str,
) -> QueryParam {
    QueryParam {
        name,
        required,
        values,
        description,
    }
}

pub struct RouteDoc {
    pub method: &'static str,
    pub path: &'static str,
    pub audience: Audience,
    pub summary: &'static str,
    /// The JSON request body, if the route reads one.
    pub body: Option<Register>,
    pub query: &'static [QueryParam],
    /// Success statuses and their bodies.
    pub ok: &'static [(u16, Body)],
    /// Error statuses the route's own checks give, besides those every route of its kind
    /// can give (see [`implied_errors`]); each has the [`ErrorBody`] body.
    pub errors: &'static [u16],
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
        body: None,
        query: &[],
        ok: &[(200, Body::Empty)],
        errors: &[],
    }
}

impl RouteDoc {
    const fn body(mut self, body: Register) -> Self {
        self.body = Some(body);
        self
    }

    const fn query(mut self, query: &'static [QueryParam]) -> Self {
        self.query = query;
        self
    }

    const fn ok(mut self, ok: &'static [(u16, Body)]) -> Self {
        self.ok = ok;
        self
    }

    const fn errors(mut self, errors: &'static [u16]) -> Self {
        self.errors = errors;
        self
    }
}

use Audience::{Admin, AdminOrService, Advertiser, Member, Public, Reviewer};
use Body::{Empty, Json, Other};

const NO_CONTENT: &[(u16, Body)] = &[(204, Empty)];
const PAGE_LIMIT: QueryParam = query(
    "limit",
    false,
    Values::Int { min: 1, max: 100 },
    "page size",
);

pub const ROUTES: &[RouteDoc] = &[
    route(
        "get",
        "/",
        Public,
        "Where to start: version and links to the API documents",
    )
    .ok(&[(200, Json(schema::<Index>))]),
    route("get", "/healthz", Public, "Liveness: the process answers")
        .ok(&[(200, Json(schema::<Health>))]),
    route(
        "get",
        "/readyz",
        Public,
        "Readiness: store, rules and model loaded",
    )
    .ok(&[
        (200, Json(schema::<Readiness>)),
        (503, Json(schema::<Readiness>)),
    ]),
    route(
        "get",
        "/metrics",
        Public,
        "Prometheus metrics (text format)",
    )
    .ok(&[(200, Other("text/plain; version=0.0.4"))]),
    route("get", "/openapi.json", Public, "This document").ok(&[(200, Body::AnyJson)]),
    route(
        "post",
        "/v1/admin/members",
        Admin,
        "Create a member; returns its id and token",
    )
    .body(schema::<NewMember>)
    .ok(&[(201, Json(schema::<CreatedMember>))])
    .errors(&[409, 422]),
    route(
        "post",
        "/v1/admin/members/{member_id}/restriction",
        Admin,
        "Restrict a member (level, reason)",
    )
    .body(schema::<RestrictionRequest>)
    .ok(NO_CONTENT),
    route(
        "delete",
        "/v1/admin/members/{member_id}/restriction",
        Admin,
        "Lift a member's restriction",
    )
    .ok(NO_CONTENT),
    route(
        "post",
        "/v1/admin/members/{member_id}/erasure",
        Admin,
        "Erase an account (profile, tokens, sent text; pseudonymous audit); resumes an interrupted erasure, idempotent",
    )
    .ok(&[(200, Json(schema::<ErasureOutcome>))])
    .errors(&[404]),
    route(
        "post",
        "/v1/admin/retention/sweep",
        Admin,
        "Run the [retention] sweep now; answers what it removed",
    )
    .ok(&[(200, Json(schema::<SweepReport>))]),
    route(
        "get",
        "/v1/admin/encryption",
        Admin,
        "How stored message text is sealed, by key, and the key rotation under way",
    )
    .ok(&[(200, Json(schema::<SealingCensus>))]),
    route(
        "post",
        "/v1/admin/encryption/rotate",
        Admin,
        "Reseal every message not under the active key, in the background (resumable)",
    )
    .ok(&[(202, Json(schema::<RotationStarted>))])
    .errors(&[409]),
    route(
        "post",
        "/v1/admin/connections",
        Admin,
        "Connect two members (mutual)",
    )
    .body(schema::<Connection>)
    .ok(&[(200, Json(schema::<Connected>))])
    .errors(&[404, 409]),
    route(
        "post",
        "/v1/admin/reviewers",
        Admin,
        "Create a reviewer; returns its token",
    )
    .body(schema::<NewReviewer>)
    .ok(&[(201, Json(schema::<CreatedReviewer>))])
    .errors(&[409, 422]),
    route(
        "post",
        "/v1/admin/services",
        Admin,
        "Create a platform-service token (may call /v1/assess)",
    )
    .body(schema::<NewReviewer>)
    .ok(&[(201, Json(schema::<CreatedService>))])
    .errors(&[409, 422]),
    route(
        "post",
        "/v1/admin/rules/reload",
        Admin,
        "Recompile the rule packs and swap them in",
    )
    .ok(&[(200, Json(schema::<RulesReloaded>))])
    .errors(&[422]),
    route(
        "post",
        "/v1/admin/rescore",
        Admin,
        "Start a rescore job over stored messages",
    )
    .body(schema::<RescoreRequest>)
    .ok(&[(202, Json(schema::<RescoreStarted>))])
    .errors(&[409, 422]),
    route(
        "get",
        "/v1/admin/rescore/{job_id}",
        Admin,
        "A rescore job's progress and its before/after diff",
    )
    .ok(&[(200, Json(schema::<JobView>))]),
    route(
        "post",
        "/v1/assess",
        AdminOrService,
        "The verdict a send would get; nothing is stored",
    )
    .body(schema::<AssessRequest>)
    .ok(&[(200, Json(schema::<Verdict>))])
    .errors(&[403, 404, 422]),
    route(
        "post",
        "/v1/messages",
        Member,
        "Send a message (or InMail); answers the verdict (200 for a replayed idempotency key)",
    )
    .body(schema::<SendRequest>)
    .ok(&[
        (201, Json(schema::<SendOutcome>)),
        (200, Json(schema::<SendOutcome>)),
    ])
    // 503: the limiter on Redis cannot decide now (`[limits] backend = "redis"`).
    .errors(&[403, 404, 409, 422, 429, 503]),
    route(
        "delete",
        "/v1/messages/{message_id}",
        Member,
        "Recall a sent message within the window",
    )
    .ok(NO_CONTENT)
    .errors(&[403, 409]),
    route(
        "post",
        "/v1/messages/{message_id}/report",
        Member,
        "Report a received message",
    )
    .body(schema::<ReportRequest>)
    .ok(&[(202, Json(schema::<ReportQueued>))])
    .errors(&[409, 422]),
    route(
        "post",
        "/v1/messages/{message_id}/mark-safe",
        Member,
        "Mark a received message safe",
    )
    .ok(NO_CONTENT)
    .errors(&[400, 409]),
    route(
        "get",
        "/v1/folders/{folder}",
        Member,
        "List inbox, other or archived threads",
    )
    .query(&[
        PAGE_LIMIT,
        query(
            "cursor",
            false,
            Values::Text,
            "the previous page's next_cursor",
        ),
    ])
    .ok(&[(200, Json(schema::<FolderPage>))])
    .errors(&[400]),
    route(
        "get",
        "/v1/threads/{thread_id}",
        Member,
        "Read a thread (marks it read)",
    )
    .ok(&[(200, Json(schema::<ThreadPage>))]),
    route(
        "post",
        "/v1/threads/{thread_id}/archive",
        Member,
        "Archive a thread",
    )
    .ok(NO_CONTENT),
    route(
        "post",
        "/v1/threads/{thread_id}/unarchive",
        Member,
        "Unarchive a thread",
    )
    .ok(NO_CONTENT),
    route("post", "/v1/blocks", Member, "Block a member")
        .body(schema::<BlockRequest>)
        .ok(NO_CONTENT)
        .errors(&[404]),
    route(
        "delete",
        "/v1/blocks/{member_id}",
        Member,
        "Unblock a member",
    )
    .ok(NO_CONTENT)
    .errors(&[400]),
    route(
        "get",
        "/v1/search",
        Member,
        "Search one's own conversations",
    )
    .query(&[query("q", true, Values::Text, "words to find")])
    .ok(&[(200, Json(schema::<SearchResults>))])
    .errors(&[400]),
    route(
        "get",
        "/v1/events",
        Member,
        "Server-sent events for the caller",
    )
    .ok(&[(200, Other("text/event-stream"))])
    .errors(&[429]),
    route(
        "post",
        "/v1/appeals",
        Member,
        "Appeal a hold or a restriction",
    )
    .body(schema::<AppealRequest>)
    .ok(&[(201, Json(schema::<CreatedAppeal>))])
    .errors(&[404, 409, 422]),
    route(
        "get",
        "/v1/statements",
        Member,
        "Statements of reasons for holds and restrictions",
    )
    .ok(&[(200, Json(schema::<Statements>))]),
    route(
        "get",
        "/v1/settings/sponsored",
        Member,
        "The caller's sponsored-message setting (opted out or not)",
    )
    .ok(&[(200, Json(schema::<SponsoredSetting>))]),
    route(
        "post",
        "/v1/settings/sponsored",
        Member,
        "Opt out of sponsored messages (or back in); counted against the last sponsored campaign received",
    )
    .body(schema::<SponsoredSetting>)
    .ok(&[(200, Json(schema::<SponsoredSetting>))]),
    route(
        "post",
        "/v1/admin/advertisers",
        Admin,
        "Create an advertiser; returns its id and advertiser token",
    )
    .body(schema::<NewAdvertiser>)
    .ok(&[(201, Json(schema::<CreatedAdvertiser>))]),
    route(
        "post",
        "/v1/admin/advertisers/{advertiser_id}/campaigns",
        Admin,
        "Create a sponsored campaign for an advertiser, judged at once (approved, held or refused, with reasons)",
    )
    .body(schema::<NewSponsoredCampaign>)
    .ok(&[(201, Json(schema::<SponsoredCampaign>))])
    .errors(&[422]),
    route(
        "post",
        "/v1/advertiser/campaigns",
        Advertiser,
        "Create a sponsored campaign, judged at once (approved, held or refused, with reasons)",
    )
    .body(schema::<NewSponsoredCampaign>)
    .ok(&[(201, Json(schema::<SponsoredCampaign>))])
    .errors(&[422]),
    route(
        "get",
        "/v1/advertiser/campaigns",
        Advertiser,
        "The advertiser's sponsored campaigns, oldest first, with status, reasons and counts",
    )
    .ok(&[(200, Json(schema::<SponsoredCampaignList>))]),
    route(
        "get",
        "/v1/advertiser/campaigns/{campaign_id}",
        Advertiser,
        "One of the advertiser's sponsored campaigns: status, reasons, counts",
    )
    .ok(&[(200, Json(schema::<SponsoredCampaign>))]),
    route(
        "post",
        "/v1/advertiser/campaigns/{campaign_id}/send",
        Advertiser,
        "Send an approved sponsored campaign inside its schedule; skipped targets are counted by reason",
    )
    .ok(&[(200, Json(schema::<SponsoredRun>))])
    .errors(&[409, 422]),
    route(
        "get",
        "/v1/advertiser/campaigns/{campaign_id}/replies",
        Advertiser,
        "Members' delivered replies to a campaign that takes them (allow_replies), oldest first",
    )
    .ok(&[(200, Json(schema::<SponsoredReplies>))]),
    route(
        "get",
        "/v1/credits",
        Member,
        "InMail credits: balance, monthly grant, rollover cap and what is pending refund",
    )
    .ok(&[(200, Json(schema::<CreditsView>))]),
    route(
        "get",
        "/v1/me/export",
        Member,
        "The caller's data as one JSON document, streamed (format sendguard-export/1): profile, threads with the messages sent and received, blocks, reports made, statements of reasons, appeals",
    )
    .ok(&[(200, Body::AnyJson)]),
    route(
        "get",
        "/v1/review/queue",
        Reviewer,
        "Claim and list held items, oldest first",
    )
    .query(&[PAGE_LIMIT])
    .ok(&[(200, Json(schema::<ReviewQueue>))])
    .errors(&[400]),
    route(
        "get",
        "/v1/review/items/{item_id}",
        Reviewer,
        "Read an item's content (justification required, audited)",
    )
    .query(&[query(
        "justification",
        true,
        Values::Text,
        "why the content is read; recorded in the audit log",
    )])
    .ok(&[(200, Json(schema::<ItemView>))])
    .errors(&[400, 409]),
    route(
        "post",
        "/v1/review/items/{item_id}/decision",
        Reviewer,
        "Decide an item: label and action",
    )
    .body(schema::<DecisionRequest>)
    .ok(NO_CONTENT)
    .errors(&[409, 422]),
    route(
        "post",
        "/v1/review/members/{member_id}/lift-restriction",
        Reviewer,
        "Lift a member's restriction",
    )
    .body(schema::<LiftRequest>)
    .ok(NO_CONTENT)
    .errors(&[409, 422]),
    route(
        "get",
        "/v1/review/appeals",
        Reviewer,
        "Open appeals, oldest first",
    )
    .query(&[query(
        "limit",
        false,
        Values::Int { min: 0, max: 500 },
        "most appeals listed",
    )])
    .ok(&[(200, Json(schema::<OpenAppeals>))])
    .errors(&[400]),
    route(
        "post",
        "/v1/review/appeals/{appeal_id}/decision",
        Reviewer,
        "Uphold or overturn an appeal",
    )
    .body(schema::<AppealDecisionRequest>)
    .ok(NO_CONTENT)
    .errors(&[409, 422]),
    route(
        "get",
        "/v1/review/campaigns",
        Reviewer,
        "Recognized campaigns (one template from many accounts), newest first",
    )
    .query(&[query(
        "limit",
        false,
        Values::Int { min: 1, max: 500 },
        "most campaigns listed (default 50)",
    )])
    .ok(&[(200, Json(schema::<CampaignList>))])
    .errors(&[400]),
    route(
        "get",
        "/v1/review/campaigns/{campaign_id}",
        Reviewer,
        "A campaign: accounts, volume, status and its first messages",
    )
    .ok(&[(200, Json(schema::<CampaignDetail>))])
    .errors(&[404]),
    route(
        "post",
        "/v1/review/campaigns/{campaign_id}/action",
        Reviewer,
        "Hold the rest of a campaign, restrict every account in it, or release it (audited)",
    )
    .body(schema::<CampaignActionRequest>)
    .ok(&[(200, Json(schema::<CampaignActionOutcome>))])
    .errors(&[404]),
    route(
        "get",
        "/v1/review/sponsored",
        Reviewer,
        "Sponsored campaigns whose content was held, oldest first",
    )
    .query(&[query(
        "limit",
        false,
        Values::Int { min: 1, max: 500 },
        "most campaigns listed (default 50)",
    )])
    .ok(&[(200, Json(schema::<SponsoredCampaignList>))])
    .errors(&[400]),
    route(
        "post",
        "/v1/review/sponsored/{campaign_id}/decision",
        Reviewer,
        "Approve a held sponsored campaign (the advertiser may send it) or refuse it for good; audited, the note goes to the advertiser",
    )
    .body(schema::<SponsoredReviewRequest>)
    .ok(&[(200, Json(schema::<SponsoredCampaign>))])
    .errors(&[404, 409]),
    route(
        "get",
        "/v1/review/audit",
        Reviewer,
        "The audit log between from and to",
    )
    .query(&[
        query("from", false, Values::Time, "first moment included"),
        query("to", false, Values::Time, "end, excluded"),
        query(
            "limit",
            false,
            Values::Int {
                min: 0,
                max: 10_000,
            },
            "most entries listed",
        ),
    ])
    .ok(&[(200, Json(schema::<AuditLog>))])
    .errors(&[400]),
    route(
        "get",
        "/v1/review/report",
        Reviewer,
        "Trust-and-safety report (json, csv or html) for a period",
    )
    .query(&[
        query("from", false, Values::Time, "first moment included"),
        query("to", false, Values::Time, "end, excluded; after from"),
        query(
            "format",
            false,
            Values::OneOf(&["json", "csv", "html"]),
            "json by default",
        ),
    ])
    .ok(&[(200, Body::Report)])
    .errors(&[400]),
    route(
        "get",
        "/v1/review/board",
        Reviewer,
        "The open queue sorted and filtered, with counts by reason; claims nothing",
    )
    .query(&[
        query(
            "sort",
            false,
            Values::Text,
            "oldest (default), score or reports",
        ),
        query("reason", false, Values::Text, "only items with this reason"),
        query("rule", false, Values::Text, "only items this rule hit"),
        query("lang", false, Values::Text, "only items in this language"),
        query("kind", false, Values::Text, "message, inmail or sponsored"),
        query(
            "limit",
            false,
            Values::Int { min: 1, max: 200 },
            "most items listed",
        ),
    ])
    .ok(&[(200, Body::AnyJson)])
    .errors(&[400]),
    route(
        "post",
        "/v1/review/claim",
        Reviewer,
        "Claim the next matching item (a lease that expires)",
    )
    .body(schema::<ClaimRequest>)
    .ok(&[(200, Body::AnyJson)])
    .errors(&[400]),
    route(
        "get",
        "/v1/review/items/{item_id}/context",
        Reviewer,
        "An item's reasons, rules, signals and sender history; no text",
    )
    .ok(&[(200, Body::AnyJson)]),
    route(
        "get",
        "/v1/review/items/{item_id}/content",
        Reviewer,
        "Audited read with each message rendered: visible text and link targets",
    )
    .query(&[query(
        "justification",
        true,
        Values::Text,
        "why the content is read; recorded in the audit log",
    )])
    .ok(&[(200, Body::AnyJson)])
    .errors(&[400, 409]),
    route(
        "get",
        "/v1/review/restrictions",
        Reviewer,
        "Members under restriction",
    )
    .query(&[query(
        "limit",
        false,
        Values::Int { min: 1, max: 1000 },
        "most members listed",
    )])
    .ok(&[(200, Body::AnyJson)])
    .errors(&[400]),
    route(
        "get",
        "/v1/review/audit/search",
        Reviewer,
        "The audit log filtered by reviewer and action, newest first",
    )
    .query(&[
        query("reviewer", false, Values::Text, "a reviewer id"),
        query("action", false, Values::Text, "actions starting with this"),
        query("from", false, Values::Time, "first moment included"),
        query("to", false, Values::Time, "end, excluded"),
        query(
            "limit",
            false,
            Values::Int { min: 1, max: 1000 },
            "most entries listed",
        ),
    ])
    .ok(&[(200, Body::AnyJson)])
    .errors(&[400]),
    route(
        "get",
        "/v1/threads/{thread_id}/display",
        Member,
        "A thread rendered for display, with possible-spam labels",
    )
    .ok(&[(200, Body::AnyJson)]),
    route(
        "get",
        "/console",
        Public,
        "The review console and member view (a web page)",
    )
    .ok(&[(200, Other("text/html; charset=utf-8"))]),
    route(
        "get",
        "/console/{asset}",
        Public,
        "The console's scripts and stylesheet",
    )
    .ok(&[(200, Body::Asset)])
    .errors(&[404]),
];

/// Errors every route of its kind can give: 401 without the right token, 400/408/413 for a
/// JSON body (malformed or ill-typed, too slow, too large), 404 for an id in the path that
/// names nothing the caller may see.
fn implied_errors(route: &RouteDoc) -> Vec<u16> {
    let mut errors = Vec::new();
    if route.audience != Public {
        errors.push(401);
    }
    if route.body.is_some() {
        errors.extend([400, 408, 413]);
    }
    if route.path.contains('{') {
        errors.push(404);
    }
    errors
}

fn error_description(status: u16) -> &'static str {
    match status {
        400 => "malformed or ill-typed input; `field` names it",
        401 => "no token, an unknown one, or one of another role",
        403 => "understood, and not allowed",
        404 => "absent, or not the caller's to see",
        408 => "the body did not arrive in time",
        409 => "the current state forbids it",
        413 => "the body is over the size limit",
        422 => "well-formed, but breaks a product rule; `field` and `limit` say which",
        429 => "a rate limit tripped; `Retry-After` says when to come back",
        503 => "a shared backend cannot answer now; `Retry-After` says when to try again",
        _ => "refused; see the error code",
    }
}

fn path_parameter(name: &str) -> Value {
    let schema = if name == "folder" {
        json!({"type": "string", "enum": ["inbox", "other", "archived"]})
    } else {
        json!({"type": "integer", "minimum": 0})
    };
    json!({"name": name, "in": "path", "required": true, "schema": schema})
}

fn query_parameter(param: &QueryParam) -> Value {
    let schema = match param.values {
        Values::Int { min, max } => json!({"type": "integer", "minimum": min, "maximum": max}),
        Values::Text => json!({"type": "string"}),
        Values::Time => {
            json!({"type": "string", "description": "YYYY-MM-DD (UTC) or epoch milliseconds"})
        }
        Values::OneOf(words) => json!({"type": "string", "enum": words}),
    };
    json!({
        "name": param.name,
        "in": "query",
        "required": param.required,
        "description": param.description,
        "schema": schema,
    })
}

fn reference(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn response(body: Body, schemas: &mut Schemas) -> Value {
    match body {
        Body::Empty => json!({"description": "done"}),
        Body::Json(register) => json!({
            "description": "success",
            "content": {"application/json": {"schema": reference(&register(schemas))}}
        }),
        Body::Other(media) => json!({
            "description": "success",
            "content": {media: {"schema": {"type": "string"}}}
        }),
        Body::AnyJson => json!({
            "description": "success",
            "content": {"application/json": {"schema": {"type": "object"}}}
        }),
        Body::Asset => json!({
            "description": "a script or the stylesheet",
            "content": {
                "text/javascript": {"schema": {"type": "string"}},
                "text/css": {"schema": {"type": "string"}}
            }
        }),
        Body::Report => json!({
            "description": "the report in the format asked",
            "content": {
                "application/json": {"schema": {"type": "object"}},
                "text/csv": {"schema": {"type": "string"}},
                "text/html": {"schema": {"type": "string"}}
            }
        }),
    }
}

fn operation(route: &RouteDoc, schemas: &mut Schemas) -> Value {
    let mut parameters: Vec<Value> = route
        .path
        .split('/')
        .filter_map(|part| part.strip_prefix('{').and_then(|p| p.strip_suffix('}')))
        .map(path_parameter)
        .collect();
    parameters.extend(route.query.iter().map(query_parameter));
    let security = match route.audience {
        Public => json!([]),
        Member => json!([{"member": []}]),
        Reviewer => json!([{"reviewer": []}]),
        Admin => json!([{"admin": []}]),
        AdminOrService => json!([{"admin": []}, {"service": []}]),
        Advertiser => json!([{"advertiser": []}]),
    };
    let mut responses = Map::new();
    for &(status, body) in route.ok {
        responses.insert(status.to_string(), response(body, schemas));
    }
    let error_name = schema::<ErrorBody>(schemas);
    let mut errors = implied_errors(route);
    errors.extend_from_slice(route.errors);
    errors.sort_unstable();
    errors.dedup();
    for status in errors {
        responses.insert(
            status.to_string(),
            json!({
                "description": error_description(status),
                "content": {"application/json": {"schema": reference(&error_name)}}
            }),
        );
    }
    let mut operation = json!({
        "summary": route.summary,
        "operationId": operation_id(route),
        "parameters": parameters,
        "security": security,
        "responses": responses,
    });
    if let Some(register) = route.body {
        operation["requestBody"] = json!({
            "required": true,
            "content": {"application/json": {"schema": reference(&register(schemas))}}
        });
    }
    operation
}

/// `post_v1_messages_message_id_report`: unique per route, for generated client names.
fn operation_id(route: &RouteDoc) -> String {
    let mut id = route.method.to_string();
    for part in route.path.split(['/', '-', '.']) {
        let part = part.trim_matches(|c| c == '{' || c == '}');
        if !part.is_empty() {
            id.push('_');
            id.push_str(part);
        }
    }
    if route.path == "/" {
        id.push_str("_index");
    }
    id
}

/// Marks every object a request body is made of `additionalProperties: false`: the server
/// refuses fields a request type does not define (`extract::parse_json`), and a generated
/// client should know it. Follows `$ref`s from each request body to the components it uses.
fn close_request_bodies(paths: &Map<String, Value>, components: &mut Map<String, Value>) {
    let mut pending: Vec<String> = Vec::new();
    for operation in paths
        .values()
        .filter_map(Value::as_object)
        .flat_map(|ops| ops.values())
    {
        references(&operation["requestBody"], &mut pending);
    }
    let mut closed = std::collections::HashSet::new();
    while let Some(target) = pending.pop() {
        let Some(name) = target.strip_prefix("#/components/schemas/") else {
            continue;
        };
        if !closed.insert(name.to_string()) {
            continue;
        }
        if let Some(schema) = components.get_mut(name) {
            references(schema, &mut pending);
            close_objects(schema);
        }
    }
}

/// Every `$ref` in `value`, as written (`#/components/schemas/Name`).
fn references(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(target)) = map.get("$ref") {
                out.push(target.clone());
            }
            map.values().for_each(|v| references(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| references(v, out)),
        _ => {}
    }
}

/// Sets `additionalProperties: false` on each object schema in `value` that lists its
/// properties and says nothing of others.
fn close_objects(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if map.contains_key("properties") && !map.contains_key("additionalProperties") {
                map.insert("additionalProperties".into(), Value::Bool(false));
            }
            map.values_mut().for_each(close_objects);
        }
        Value::Array(items) => items.iter_mut().for_each(close_objects),
        _ => {}
    }
}

/// The OpenAPI document.
pub fn spec() -> Value {
    let mut paths = Map::new();
    let mut schemas = Schemas::new();
    for route in ROUTES {
        let operation = operation(route, &mut schemas);
        let entry = paths
            .entry(route.path.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        entry[route.method] = operation;
    }
    let mut components: Map<String, Value> = schemas
        .into_iter()
        .map(|(name, schema)| {
            let schema = serde_json::to_value(schema).unwrap_or(Value::Null);
            (name, schema)
        })
        .collect();
    close_request_bodies(&paths, &mut components);
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
            "securitySchemes": {"member": bearer, "reviewer": bearer, "admin": bearer, "service": bearer, "advertiser": bearer},
            "schemas": components
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The object schemas in `value` that list properties and leave others open.
    fn open_objects(value: &Value, out: &mut Vec<String>) {
        if let Some(map) = value.as_object() {
            if map.contains_key("properties") && map.get("additionalProperties").is_none() {
                out.push(value.to_string());
            }
            map.values().for_each(|v| open_objects(v, out));
        } else if let Some(items) = value.as_array() {
            items.iter().for_each(|v| open_objects(v, out));
        }
    }

    #[test]
    fn every_schema_a_route_uses_is_in_the_components() {
        let spec = spec();
        let components = spec["components"]["schemas"].as_object().unwrap();
        let mut refs = Vec::new();
        references(&spec, &mut refs);
        assert!(refs.len() > 50, "too few references: {refs:?}");
        let dangling: Vec<&String> = refs
            .iter()
            .filter(|r| {
                r.strip_prefix("#/components/schemas/")
                    .is_none_or(|name| !components.contains_key(name))
            })
            .collect();
        assert!(
            dangling.is_empty(),
            "references to no component: {dangling:?}"
        );
        // Each route's own body types are there under their names.
        for route in ROUTES {
            let mut schemas = Schemas::new();
            let bodies =
                route
                    .body
                    .into_iter()
                    .chain(route.ok.iter().filter_map(|(_, b)| match b {
                        Body::Json(register) => Some(*register),
                        _ => None,
                    }));
            for register in bodies {
                let name = register(&mut schemas);
                assert!(
                    components.contains_key(&name),
                    "{} {}: {name}",
                    route.method,
                    route.path
                );
            }
        }
    }

    /// Every object a request body is made of refuses other properties, as the server does;
    /// response bodies are left open.
    #[test]
    fn request_bodies_are_closed_objects() {
        let spec = spec();
        let components = spec["components"]["schemas"].as_object().unwrap();
        let send = &components["SendRequest"];
        assert_eq!(send["additionalProperties"], false, "{send}");
        let mut refs = Vec::new();
        references(send, &mut refs);
        assert!(!refs.is_empty(), "SendRequest is made of other components");
        for target in refs {
            let name = target.strip_prefix("#/components/schemas/").unwrap();
            let mut open = Vec::new();
            open_objects(&components[name], &mut open);
            assert!(open.is_empty(), "{name}: {open:?}");
        }
        let ok = &spec["paths"]["/v1/messages"]["post"]["responses"]["201"]["content"]
            ["application/json"]["schema"]["$ref"];
        let response = ok.as_str().unwrap().rsplit('/').next().unwrap();
        assert!(
            components[response].get("additionalProperties").is_none(),
            "{response} is a response: left open"
        );
    }

    #[test]
    fn every_route_documents_its_statuses_and_auth() {
        let spec = spec();
        for route in ROUTES {
            let op = &spec["paths"][route.path][route.method];
            let responses = op["responses"].as_object().unwrap();
            for (status, _) in route.ok {
                assert!(
                    responses.contains_key(&status.to_string()),
                    "{}",
                    route.path
                );
            }
            if route.audience != Public {
                assert!(
                    responses.contains_key("401"),
                    "{} {}",
                    route.method,
                    route.path
                );
                assert_ne!(op["security"], json!([]), "{}", route.path);
            }
            if route.body.is_some() {
                assert!(
                    op["requestBody"]["content"]["application/json"]["schema"]["$ref"].is_string()
                );
                assert!(responses.contains_key("400") && responses.contains_key("413"));
            }
        }
    }

    #[test]
    fn operation_ids_are_unique() {
        let mut ids: Vec<String> = ROUTES.iter().map(operation_id).collect();
        ids.sort();
        let before = ids.len();
        ids.dedup();
        assert_eq!(ids.len(), before, "{ids:?}");
    }

    /// The document reads back as utoipa's model of OpenAPI 3.1 (every object where the
    /// standard puts one, with the fields it names).
    #[test]
    fn the_document_is_openapi_3_1() {
        let spec = spec();
        let parsed: utoipa::openapi::OpenApi = serde_json::from_value(spec.clone()).unwrap();
        assert_eq!(
            parsed.paths.paths.len(),
            spec["paths"].as_object().unwrap().len()
        );
        let components = parsed.components.unwrap();
        assert_eq!(
            components.schemas.len(),
            spec["components"]["schemas"].as_object().unwrap().len()
        );
    }
}
