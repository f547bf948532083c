//! What a sponsored thread allows a member: its own file so the send pipeline can ask
//! without reaching into the sponsored campaigns' operations (`sponsored.rs`), which use
//! the pipeline's pieces themselves.

use crate::domain::SponsoredCampaignId;
use crate::error::{Error, ErrorKind, Result};
use crate::store::{Reader, SponsoredReader};

/// Why a member's answer in a sponsored thread is not sent through the ordinary path: the
/// campaign takes no reply, or (an assessment) it does and is judged on its own.
pub(super) fn reply_refusal(reader: &impl Reader, campaign: SponsoredCampaignId) -> Result<Error> {
    let allowed = reader
        .sponsored_campaign(campaign)?
        .is_some_and(|campaign| campaign.allow_replies);
    Ok(if allowed {
        // Only an assessment gets here: a send of a reply goes to `reply_to_sponsored`.
        Error::new(
            ErrorKind::Unprocessable,
            "sponsored_reply_not_assessed",
            "a reply to a sponsored campaign is judged as a stranger's message; assess it \
             without from and to",
        )
        .field("thread_id")
    } else {
        Error::forbidden(
            "sponsored_reply_not_allowed",
            "this sponsored message does not take replies",
        )
        .field("thread_id")
    })
}
