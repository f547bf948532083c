-- Paid messaging (issue #23): InMail credit ledgers. Keys keep the embedded layout's bytes
-- as primary keys, as in 0001.

-- One ledger per member: the balance carried from month to month and the InMails whose
-- credit a reply within the refund window returns (`pending`).
CREATE TABLE inmail_ledgers (
    key bytea PRIMARY KEY,
    member_id bigint NOT NULL UNIQUE,
    record json NOT NULL,
    balance integer GENERATED ALWAYS AS ((record->>'balance')::integer) STORED
);

-- Sponsored messages: advertisers (not members; their own token kind) and their campaigns.
CREATE TABLE advertisers (
    key bytea PRIMARY KEY,
    advertiser_id bigint NOT NULL UNIQUE,
    record json NOT NULL,
    name text GENERATED ALWAYS AS (record->>'name') STORED
);

CREATE TABLE sponsored_campaigns (
    key bytea PRIMARY KEY,
    sponsored_campaign_id bigint NOT NULL UNIQUE,
    record json NOT NULL,
    advertiser_id bigint GENERATED ALWAYS AS ((record->>'advertiser')::bigint) STORED,
    status text GENERATED ALWAYS AS (record->>'status') STORED
);

-- An advertiser's sponsored campaigns, oldest first.
CREATE TABLE advertiser_campaigns (
    key bytea PRIMARY KEY,
    advertiser_id bigint NOT NULL,
    sponsored_campaign_id bigint NOT NULL
);

-- Each member's opt-out and recent sponsored receipts (the frequency cap).
CREATE TABLE sponsored_inboxes (
    key bytea PRIMARY KEY,
    member_id bigint NOT NULL UNIQUE,
    record json NOT NULL,
    opted_out boolean GENERATED ALWAYS AS ((record->>'opted_out')::boolean) STORED
);

-- The thread of each sponsored message, and its campaign.
CREATE TABLE sponsored_threads (
    key bytea PRIMARY KEY,
    thread_id bigint NOT NULL UNIQUE,
    value bytea NOT NULL,
    sponsored_campaign_id bigint GENERATED ALWAYS AS (sendguard_u64(value)) STORED
);

-- Members' delivered replies to a sponsored campaign that takes them, in send order.
CREATE TABLE sponsored_replies (
    key bytea PRIMARY KEY,
    sponsored_campaign_id bigint NOT NULL,
    message_id bigint NOT NULL
);
