//! Advertiser routes: an advertiser's own sponsored campaigns (create, list, read, send)
//! and members' replies to those that take them.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;

use super::error::ApiError;
use super::extract::{AdvertiserCaller, JsonBody, SponsoredCampaignPath};
use super::AppState;
use crate::app::NewSponsoredCampaign;

pub async fn create_campaign(
    State(state): State<AppState>,
    AdvertiserCaller(me): AdvertiserCaller,
    JsonBody(new): JsonBody<NewSponsoredCampaign>,
) -> Result<impl IntoResponse, ApiError> {
    let campaign = state.app.create_sponsored_campaign(me, new).await?;
    Ok((StatusCode::CREATED, Json(campaign)))
}

pub async fn campaigns(
    State(state): State<AppState>,
    AdvertiserCaller(me): AdvertiserCaller,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(
        serde_json::json!({ "campaigns": state.app.sponsored_campaigns_of(me)? }),
    ))
}

pub async fn campaign(
    State(state): State<AppState>,
    AdvertiserCaller(me): AdvertiserCaller,
    SponsoredCampaignPath(id): SponsoredCampaignPath,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(state.app.sponsored_campaign(me, id)?))
}

pub async fn send_campaign(
    State(state): State<AppState>,
    AdvertiserCaller(me): AdvertiserCaller,
    SponsoredCampaignPath(id): SponsoredCampaignPath,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(state.app.send_sponsored_campaign(me, id).await?))
}

pub async fn replies(
    State(state): State<AppState>,
    AdvertiserCaller(me): AdvertiserCaller,
    SponsoredCampaignPath(id): SponsoredCampaignPath,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(
        serde_json::json!({ "replies": state.app.sponsored_replies(me, id)? }),
    ))
}
