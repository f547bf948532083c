//! Coordinated campaigns on the send path: one template sent to non-connections by many
//! accounts.
//!
//! A send's template signature (`limits::template`) is looked up by its LSH band keys
//! ([`App::match_campaign`]), verified against the candidate campaigns' kept variants, and
//! the send joins the most similar one or founds a candidate ([`App::record_campaign_send`]).
//! A campaign whose accounts within `[campaigns] window_secs` reach `min_accounts` is
//! recognized and audited; its sends carry the `campaign` signal ([`App::campaign_signal`]),
//! which holds with corroboration, `campaign_held` once a reviewer held it, and
//! `campaign_poor_reactions` when its recipients, pooled over all its accounts, block and
//! report it. Reviewers see and act on campaigns through `campaign_review.rs`.

use super::App;
use crate::domain::{
    Actor, AuditEntry, Campaign, CampaignAccount, CampaignId, CampaignStatus, MemberId, Message,
    MessageStatus, Millis,
};
use crate::error::Result;
use crate::limits::{template, LimitSignal, TemplateSignature};
use crate::store::{CampaignReader, Reader, WriteTxn};

impl App {
    /// The campaign a template belongs to: the candidates its LSH bands point at, verified
    /// against their kept variants: similar (at or above the template threshold) to at least
    /// `min_variant_matches` and `min_variant_share` of them; the one with the most.
    /// Idle candidates (nothing within the window, never acted on) are not matched.
    pub(super) fn match_campaign(
        &self,
        reader: &impl Reader,
        signature: &TemplateSignature,
        now: Millis,
    ) -> Result<Option<Campaign>> {
        let config = &self.limiter.config().template;
        let since = now - window_ms(self.campaigns.window_secs);
        let mut seen: Vec<CampaignId> = Vec::new();
        let mut best: Option<(usize, Campaign)> = None;
        let bands = template::bands(config, signature);
        for id in reader.campaigns_of_bands(&bands)?.into_iter().flatten() {
            if !seen.contains(&id) {
                seen.push(id);
            }
        }
        // Read together: on PostgreSQL one round trip, and a send's campaign locks are
        // taken all at once, in one order (see `store::pg`).
        for campaign in reader.campaigns(&seen)?.into_iter().flatten() {
            if campaign.status == CampaignStatus::Watching && campaign.last_seen < since {
                continue;
            }
            // Similar to several kept variants, not just one: a message that happens to
            // share a few common phrases with one variant is not part of the campaign.
            let similar = campaign
                .variants
                .iter()
                .filter(|v| {
                    template::similarity(&TemplateSignature((*v).clone()), signature)
                        >= config.same_template_similarity
                })
                .count();
            let kept = campaign.variants.len();
            let needed = (self.campaigns.min_variant_matches as usize)
                .min(kept)
                .max((self.campaigns.min_variant_share * kept as f64).ceil() as usize)
                .max(1);
            if similar >= needed && best.as_ref().is_none_or(|(s, _)| similar > *s) {
                best = Some((similar, campaign));
            }
        }
        Ok(best.map(|(_, campaign)| campaign))
    }

    /// The `campaign` signal of a send by `sender` of a template in `campaign`: a hold (and
    /// a strike) when the campaign holds, or is recognized with this send.
    pub(super) fn campaign_signal(
        &self,
        campaign: &Campaign,
        sender: MemberId,
        now: Millis,
    ) -> Option<LimitSignal> {
        let config = &self.campaigns;
        let since = now - window_ms(config.window_secs);
        let known = campaign
            .accounts
            .iter()
            .any(|a| a.member_id == sender && a.last_seen >= since);
        let accounts = campaign.accounts_since(since) + usize::from(!known);
        let recognized = campaign.status == CampaignStatus::Recognized
            || (campaign.status == CampaignStatus::Watching
                && config.min_accounts > 0
                && accounts >= config.min_accounts as usize);
        let holding = campaign.status == CampaignStatus::Holding
            || (recognized && config.hold_on_recognition);
        let detail = format!(
            "part of campaign {}: one template sent to members outside their network by {} \
             accounts within {}h (limit {})",
            campaign.id,
            accounts,
            config.window_secs / 3600,
            config.min_accounts
        );
        if campaign.status != CampaignStatus::Released {
            if let Some(signal) = self.campaign_reactions_signal(campaign, &detail) {
                return Some(signal);
            }
        }
        if holding {
            // Held as a whole (by a reviewer, or on recognition): holds alone.
            return Some(LimitSignal {
                id: "campaign_held",
                hold: true,
                strike_weight: config.strike_weight,
                score: 1.0,
                detail: format!("{detail}; the campaign is held for review"),
            });
        }
        // Recognized: asks for a hold the policy grants with corroboration.
        recognized.then_some(LimitSignal {
            id: "campaign",
            hold: true,
            strike_weight: config.strike_weight,
            score: 1.0,
            detail,
        })
    }

    /// `campaign_poor_reactions`: the campaign's recipients, across all its accounts, never
    /// answer and often block or report it (`[limits.reactions]` thresholds over its
    /// delivered messages). People's judgement: it holds alone, as `poor_reactions` does for
    /// one sender, and it catches accounts that each send too little to be judged alone.
    fn campaign_reactions_signal(&self, campaign: &Campaign, detail: &str) -> Option<LimitSignal> {
        let config = &self.limiter.config().reactions;
        let delivered = campaign.delivered;
        if config.min_outreach == 0 || delivered < u64::from(config.min_outreach) {
            return None;
        }
        let replied = campaign.replied as f64 / delivered as f64;
        let negative = campaign.negative as f64 / delivered as f64;
        (replied <= config.max_reply_share && negative >= config.min_negative_share).then(|| {
            LimitSignal {
                id: "campaign_poor_reactions",
                hold: true,
                strike_weight: self.campaigns.strike_weight,
                score: negative.min(1.0),
                detail: format!(
                    "{detail}; of its {delivered} delivered messages {} were answered and {} \
                     blocked or reported ({:.0}% >= {:.0}%)",
                    campaign.replied,
                    campaign.negative,
                    negative * 100.0,
                    config.min_negative_share * 100.0
                ),
            }
        })
    }

    /// Counts a stored send into its campaign (or founds a candidate), indexes its bands,
    /// and recognizes the campaign when its accounts reach `min_accounts`. Returns the
    /// campaign's id.
    pub(super) fn record_campaign_send(
        &self,
        txn: &mut WriteTxn<'_>,
        matched: Option<&Campaign>,
        signature: &TemplateSignature,
        message: &Message,
        now: Millis,
    ) -> Result<CampaignId> {
        let config = &self.campaigns;
        let mut campaign = match matched {
            Some(campaign) => campaign.clone(),
            None => Campaign {
                id: txn.next_id()?,
                first_seen: now,
                last_seen: now,
                volume: 0,
                delivered: 0,
                held: 0,
                replied: 0,
                negative: 0,
                accounts_total: 0,
                accounts: Vec::new(),
                status: CampaignStatus::Watching,
                recognized_at: None,
                accounts_restricted_at: None,
                released_at: None,
                variants: Vec::new(),
            },
        };
        campaign.last_seen = now;
        campaign.volume += 1;
        if message.status == MessageStatus::Held {
            campaign.held += 1;
        } else {
            campaign.delivered += 1;
        }
        match campaign
            .accounts
            .iter_mut()
            .find(|a| a.member_id == message.from)
        {
            Some(account) => {
                account.last_seen = now;
                account.messages += 1;
            }
            None => {
                campaign.accounts_total += 1;
                if campaign.accounts.len() < config.max_accounts as usize {
                    campaign.accounts.push(CampaignAccount {
                        member_id: message.from,
                        first_seen: now,
                        last_seen: now,
                        messages: 1,
                    });
                }
            }
        }
        if !campaign.variants.contains(&signature.0) {
            campaign.variants.push(signature.0.clone());
            let excess = campaign
                .variants
                .len()
                .saturating_sub(config.max_variants.max(1) as usize);
            campaign.variants.drain(..excess);
        }
        let since = now - window_ms(config.window_secs);
        if campaign.recognized_at.is_none()
            && config.min_accounts > 0
            && campaign.accounts_since(since) >= config.min_accounts as usize
        {
            campaign.recognized_at = Some(now);
            if campaign.status == CampaignStatus::Watching {
                campaign.status = if config.hold_on_recognition {
                    CampaignStatus::Holding
                } else {
                    CampaignStatus::Recognized
                };
            }
            txn.audit(
                AuditEntry::new(now, Actor::System, "campaign_recognized")
                    .message(message.id)
                    .member(message.from)
                    .why(format!(
                        "campaign {}: one template from {} accounts within {}h (limit {}); {} \
                         messages so far",
                        campaign.id,
                        campaign.accounts_since(since),
                        config.window_secs / 3600,
                        config.min_accounts,
                        campaign.volume
                    )),
            )?;
            metrics::counter!("sendguard_campaigns_recognized_total").increment(1);
        }
        for band in template::bands(&self.limiter.config().template, signature) {
            txn.put_campaign_band(band, campaign.id);
        }
        txn.add_campaign_message(campaign.id, message.id);
        txn.put_campaign(&campaign);
        Ok(campaign.id)
    }
}

fn window_ms(secs: u64) -> i64 {
    i64::try_from(secs.saturating_mul(1000)).unwrap_or(i64::MAX / 2)
}
