//! Request extractors that fail with the API's JSON errors instead of axum's plain text:
//! bearer-token callers by role, size-limited JSON bodies with the offending field named,
//! ids in paths, and typed query strings.

use axum::extract::rejection::PathRejection;
use axum::extract::{FromRef, FromRequest, FromRequestParts, Path, Request};
use axum::http::{header, request::Parts};
use serde::de::DeserializeOwned;

use super::error::ApiError;
use super::AppState;
use crate::auth;
use crate::domain::{AdvertiserId, MemberId, Principal, ReviewerId};
use crate::error::{Error, ErrorKind};

fn bearer(parts: &Parts) -> Result<&str, ApiError> {
    let value = parts
        .headers
        .get(header::AUTHORIZATION)
        .ok_or_else(|| Error::unauthorized("missing Authorization: Bearer token"))?;
    let value = value
        .to_str()
        .map_err(|_| Error::unauthorized("malformed Authorization header"))?;
    // The scheme is case-insensitive (RFC 9110 §11.1): `bearer` and `BEARER` are `Bearer`.
    let token = value
        .split_once(' ')
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token)
        .ok_or_else(|| Error::unauthorized("Authorization must be 'Bearer <token>'"))?;
    Ok(token.trim())
}

async fn principal(parts: &Parts, state: &AppState) -> Result<Principal, ApiError> {
    let token = bearer(parts)?;
    if let Some(admin) = &state.admin_token_hash {
        if auth::same_hash(admin, &auth::hash_token(token)) {
            return Ok(Principal::Admin);
        }
    }
    state
        .app
        .principal(token)
        .await?
        .ok_or_else(|| ApiError(Error::unauthorized("unknown token")))
}

fn wrong_role(needed: &str) -> ApiError {
    let article = if needed.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    ApiError(Error::unauthorized(format!(
        "this route needs {article} {needed} token"
    )))
}

/// Defines an extractor that accepts the principals matching `$pattern`, yielding
/// `$value`, and answers 401 naming `$role` to anyone else.
macro_rules! role_extractor {
    ($(#[$doc:meta])* $name:ident $(($field:ty))?, $pattern:pat => $value:expr, $role:literal) => {
        $(#[$doc])*
        pub struct $name $((pub $field))?;

        impl<S> FromRequestParts<S> for $name
        where
            S: Send + Sync,
            AppState: FromRef<S>,
        {
            type Rejection = ApiError;

            async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
                match principal(parts, &AppState::from_ref(state)).await? {
                    $pattern => Ok($value),
                    _ => Err(wrong_role($role)),
                }
            }
        }
    };
}

role_extractor!(
    /// A member acting as itself.
    MemberCaller(MemberId), Principal::Member(id) => MemberCaller(id), "member"
);
role_extractor!(
    /// A reviewer working the queue.
    ReviewerCaller(ReviewerId), Principal::Reviewer(id) => ReviewerCaller(id), "reviewer"
);
role_extractor!(
    /// An advertiser running its own sponsored campaigns.
    AdvertiserCaller(AdvertiserId), Principal::Advertiser(id) => AdvertiserCaller(id), "advertiser"
);
role_extractor!(
    /// A caller allowed to assess without sending: the admin or a platform service.
    AssessCaller, Principal::Admin | Principal::Service(_) => AssessCaller, "admin or service"
);

pub struct AdminCaller;

impl<S> FromRequestParts<S> for AdminCaller
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let state = AppState::from_ref(state);
        if state.admin_token_hash.is_none() {
            return Err(ApiError(Error::unauthorized(
                "the admin API is disabled: set SENDGUARD_ADMIN_TOKEN or server.admin_token",
            )));
        }
        match principal(parts, &state).await? {
            Principal::Admin => Ok(AdminCaller),
            _ => Err(wrong_role("admin")),
        }
    }
}

/// A JSON body, read up to the configured size (413 beyond it, before any parsing) and
/// deserialized with the path of the offending field in the error.
pub struct JsonBody<T>(pub T);

impl<S, T> FromRequest<S> for JsonBody<T>
where
    S: Send + Sync,
    AppState: FromRef<S>,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let state = AppState::from_ref(state);
        let limit = state.max_request_bytes;
        let too_large = || {
            ApiError(
                Error::new(
                    ErrorKind::PayloadTooLarge,
                    "payload_too_large",
                    format!("request body is larger than {limit} bytes"),
                )
                .limit(limit as u64),
            )
        };
        let declared = request
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        // Hopelessly large bodies are refused unread; modestly large ones are drained so the
        // client reads the 413 rather than a reset.
        if declared.is_some_and(|len| len > limit.saturating_mul(DRAIN_FACTOR) as u64) {
            return Err(too_large());
        }
        let timeout = state.body_read_timeout;
        // A body trickling in byte by byte must not hold the request (and its socket) open.
        let bytes = tokio::time::timeout(timeout, read_limited(request.into_body(), limit))
            .await
            .map_err(|_| {
                ApiError(
                    Error::new(
                        ErrorKind::Timeout,
                        "request_timeout",
                        format!(
                            "the request body did not arrive within {} seconds",
                            timeout.as_secs()
                        ),
                    )
                    .field("body")
                    .limit(timeout.as_secs()),
                )
            })??
            .ok_or_else(too_large)?;
        parse_json(&bytes).map(JsonBody)
    }
}

/// How much of an oversized body is read and discarded before answering 413, so the
/// client, still writing, gets the answer instead of a reset connection ("lingering close").
const DRAIN_FACTOR: usize = 4;

/// Reads at most `limit` bytes of `body`; `None` when it is longer.
async fn read_limited(body: axum::body::Body, limit: usize) -> Result<Option<Vec<u8>>, ApiError> {
    use http_body_util::BodyExt;
    let mut body = body;
    let mut bytes = Vec::new();
    let mut seen = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| {
            ApiError(Error::new(
                ErrorKind::Invalid,
                "invalid_json",
                "could not read the request body",
            ))
        })?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        seen = seen.saturating_add(data.len());
        if seen <= limit {
            bytes.extend_from_slice(&data);
        } else if seen > limit.saturating_mul(DRAIN_FACTOR) {
            break;
        }
    }
    Ok((seen <= limit).then_some(bytes))
}

/// Deserializes `bytes`, telling syntax errors (`invalid_json`) from wrong, missing or
/// unknown fields (`invalid_field`, naming the field). An unknown field is refused rather
/// than ignored: a misspelt optional field (`idempotencyKey`) would otherwise be dropped
/// without a word, and the request carried out without it.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let mut unknown: Option<String> = None;
    let mut note_unknown = |path: serde_ignored::Path<'_>| {
        unknown.get_or_insert_with(|| field_path(&path));
    };
    let noting = serde_ignored::Deserializer::new(&mut deserializer, &mut note_unknown);
    let value: T = serde_path_to_error::deserialize(noting).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        let field = || {
            if path == "." || path.is_empty() {
                missing_field_name(&inner.to_string()).unwrap_or_else(|| "body".into())
            } else {
                path.clone()
            }
        };
        ApiError(match inner.classify() {
            serde_json::error::Category::Data => {
                let field = field();
                Error::invalid_field(&field, format!("{field}: {inner}"))
            }
            // serde_json calls a value of the wrong kind for an enum (`"format": null`) a
            // syntax error; in a body that is valid JSON it is the field's fault. (Parsed
            // into a `Value`, which checks every string's escapes as skipping does not.)
            serde_json::error::Category::Syntax
                if serde_json::from_slice::<serde_json::Value>(bytes).is_ok() =>
            {
                let field = field();
                Error::invalid_field(
                    &field,
                    format!("{field}: not one of the values this field takes"),
                )
            }
            _ => Error::new(
                ErrorKind::Invalid,
                "invalid_json",
                format!("malformed JSON: {inner}"),
            ),
        })
    })?;
    deserializer.end().map_err(|error| {
        ApiError(Error::new(
            ErrorKind::Invalid,
            "invalid_json",
            format!("malformed JSON: {error}"),
        ))
    })?;
    if let Some(field) = unknown {
        return Err(ApiError(Error::invalid_field(
            &field,
            format!("{field}: unknown field; this route does not take it (docs/API.md)"),
        )));
    }
    Ok(value)
}

/// An ignored field's path, spelt as `serde_path_to_error` spells the others
/// (`attachments[0].caption`).
fn field_path(path: &serde_ignored::Path<'_>) -> String {
    use serde_ignored::Path;
    match path {
        Path::Root => String::new(),
        Path::Seq { parent, index } => format!("{}[{index}]", field_path(parent)),
        Path::Map { parent, key } => match field_path(parent) {
            parent if parent.is_empty() => key.clone(),
            parent => format!("{parent}.{key}"),
        },
        Path::Some { parent }
        | Path::NewtypeStruct { parent }
        | Path::NewtypeVariant { parent } => field_path(parent),
    }
}

/// serde reports a missing or duplicated field at the parent's path; the name is in the
/// message.
fn missing_field_name(message: &str) -> Option<String> {
    let rest = message
        .strip_prefix("missing field `")
        .or_else(|| message.strip_prefix("duplicate field `"))?;
    Some(rest[..rest.find('`')?].to_string())
}

/// An id from the path; anything that is not one is simply not found.
pub fn path_id(
    path: Result<Path<u64>, PathRejection>,
    code: &'static str,
) -> Result<u64, ApiError> {
    path.map(|Path(id)| id)
        .map_err(|_| ApiError(Error::not_found(code, "no such resource")))
}

/// One extractor per kind of id in a path, each answering 404 with its own code when the
/// segment is not an id (a member never learns whether a malformed id could exist).
macro_rules! path_ids {
    ($($(#[$doc:meta])* $name:ident => $code:literal),* $(,)?) => {$(
        $(#[$doc])*
        pub struct $name(pub u64);

        impl<S: Send + Sync> FromRequestParts<S> for $name {
            type Rejection = ApiError;

            async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
                path_id(Path::<u64>::from_request_parts(parts, state).await, $code).map($name)
            }
        }
    )*};
}

path_ids! {
    /// `{message_id}`.
    MessagePath => "message_not_found",
    /// `{thread_id}`.
    ThreadPath => "thread_not_found",
    /// `{member_id}`.
    MemberPath => "unknown_member",
    /// `{item_id}` of a review item.
    ItemPath => "item_not_found",
    /// `{appeal_id}`.
    AppealPath => "appeal_not_found",
    /// `{job_id}` of a rescore job.
    JobPath => "job_not_found",
    /// `{campaign_id}`.
    CampaignPath => "campaign_not_found",
    /// `{advertiser_id}`.
    AdvertiserPath => "unknown_advertiser",
    /// `{campaign_id}` of a sponsored campaign (under `/v1/advertiser`).
    SponsoredCampaignPath => "sponsored_campaign_not_found",
}

/// A query string's parameters as a typed struct. A value that does not parse is 400
/// `invalid_field` naming the parameter and what it must be ([`QueryFields::expected`], or
/// the field's own parse error); a missing required one says it is required. A parameter
/// given twice counts once, the last, and unknown parameters are ignored.
pub struct QueryParams<T>(pub T);

/// What each parameter of a query struct must be, for the error of a value that does not
/// parse (`None`: the field's own error message, as for dates).
pub trait QueryFields: DeserializeOwned {
    fn expected(field: &str) -> Option<&'static str>;
}

impl<S, T> FromRequestParts<S> for QueryParams<T>
where
    S: Send + Sync,
    T: QueryFields,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        parse_query(parts.uri.query().unwrap_or("")).map(QueryParams)
    }
}

fn parse_query<T: QueryFields>(query: &str) -> Result<T, ApiError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query)
        .map_err(|e| ApiError(Error::invalid_field("query", e.to_string())))?;
    // Last one wins, as it did for every route before typed queries.
    let mut last: Vec<(String, String)> = Vec::with_capacity(pairs.len());
    for (key, value) in pairs {
        match last.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => last.push((key, value)),
        }
    }
    let canonical = serde_urlencoded::to_string(&last)
        .map_err(|e| ApiError(Error::invalid_field("query", e.to_string())))?;
    let deserializer =
        serde_urlencoded::Deserializer::new(form_urlencoded::parse(canonical.as_bytes()));
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let message = error.inner().to_string();
        if let Some(name) = missing_field_name(&message) {
            return ApiError(Error::invalid_field(&name, format!("{name} is required")));
        }
        let field = error.path().to_string();
        let message = match T::expected(&field) {
            Some(expected) => format!("{field} must be {expected}"),
            None => message,
        };
        ApiError(Error::invalid_field(&field, message))
    })
}

/// Deserializes an optional time parameter (`YYYY-MM-DD` or epoch milliseconds); the
/// error is the date parser's own sentence.
pub fn time_param<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<i64>, D::Error> {
    let text = <Option<String> as serde::Deserialize>::deserialize(deserializer)?;
    text.map(|text| crate::dates::parse_time(&text).map_err(serde::de::Error::custom))
        .transpose()
}
