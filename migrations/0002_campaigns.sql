-- Campaigns: one template sent to non-connections by many accounts (docs/CAMPAIGNS.md).
-- Keys keep the embedded layout's bytes as primary keys, as in 0001.

CREATE TABLE campaigns (
    key bytea PRIMARY KEY,
    campaign_id bigint NOT NULL UNIQUE,
    record json NOT NULL,
    status text GENERATED ALWAYS AS (record->>'status') STORED
);

-- The LSH band index: the campaign of the last variant seen with each band key.
CREATE TABLE campaign_bands (
    key bytea PRIMARY KEY,
    band_key bigint NOT NULL,
    value bytea NOT NULL,
    campaign_id bigint GENERATED ALWAYS AS (sendguard_u64(value)) STORED
);

-- Recognized campaigns, and those a reviewer acted on: the reviewers' list.
CREATE TABLE campaigns_listed (
    key bytea PRIMARY KEY,
    campaign_id bigint NOT NULL
);

-- A campaign's messages in send order.
CREATE TABLE campaign_messages (
    key bytea PRIMARY KEY,
    campaign_id bigint NOT NULL,
    message_id bigint NOT NULL
);
CREATE INDEX campaign_messages_by_message ON campaign_messages (message_id);
