-- sendguard's store on PostgreSQL, version 1.
--
-- One table per kind of record. Every table keeps `key`, the record's key in the embedded
-- store's layout (src/store/keys.rs), as its primary key: its byte order is the order the
-- folder listing, a thread's messages and the queues are read in, so one B-tree range scan
-- serves each of them, exactly as the embedded store's prefix scans do. The key's parts are
-- also stored as typed columns, and JSON records as `json` (kept byte for byte), with the
-- fields analysts filter on as generated columns.

CREATE SEQUENCE sendguard_ids;

-- Decodes an 8-byte big-endian unsigned value (as written by the embedded layout).
CREATE FUNCTION sendguard_u64(value bytea) RETURNS bigint
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN ('x' || encode(substring(value FROM 1 FOR 8), 'hex'))::bit(64)::bigint;

CREATE TABLE members (
    key bytea PRIMARY KEY,
    member_id bigint NOT NULL UNIQUE,
    record json NOT NULL,
    handle text GENERATED ALWAYS AS (record->>'handle') STORED,
    plan text GENERATED ALWAYS AS (record->>'plan') STORED
);

CREATE TABLE handles (
    key bytea PRIMARY KEY,
    handle text NOT NULL UNIQUE,
    value bytea NOT NULL,
    member_id bigint GENERATED ALWAYS AS (sendguard_u64(value)) STORED
);

CREATE TABLE tokens (
    key bytea PRIMARY KEY,
    token_hash bytea NOT NULL UNIQUE,
    record json NOT NULL
);

CREATE TABLE reviewers (
    key bytea PRIMARY KEY,
    reviewer_id bigint NOT NULL UNIQUE,
    record json NOT NULL
);

CREATE TABLE connections (
    key bytea PRIMARY KEY,
    member_a bigint NOT NULL,
    member_b bigint NOT NULL
);

CREATE TABLE blocks (
    key bytea PRIMARY KEY,
    blocker bigint NOT NULL,
    blocked bigint NOT NULL
);

CREATE TABLE thread_pairs (
    key bytea PRIMARY KEY,
    member_low bigint NOT NULL,
    member_high bigint NOT NULL,
    value bytea NOT NULL,
    thread_id bigint GENERATED ALWAYS AS (sendguard_u64(value)) STORED
);

CREATE TABLE threads (
    key bytea PRIMARY KEY,
    thread_id bigint NOT NULL UNIQUE,
    record json NOT NULL
);

CREATE TABLE messages (
    key bytea PRIMARY KEY,
    message_id bigint NOT NULL UNIQUE,
    record json NOT NULL,
    thread_id bigint GENERATED ALWAYS AS ((record->>'thread_id')::bigint) STORED,
    sender_id bigint GENERATED ALWAYS AS ((record->>'from')::bigint) STORED,
    recipient_id bigint GENERATED ALWAYS AS ((record->>'to')::bigint) STORED,
    created_at bigint GENERATED ALWAYS AS ((record->>'created_at')::bigint) STORED,
    status text GENERATED ALWAYS AS (record->>'status') STORED,
    -- Search (src/store/pg/search.rs): words of the body, any language, no stemming.
    body_words tsvector GENERATED ALWAYS AS
        (to_tsvector('simple'::regconfig, coalesce(record->>'body', ''))) STORED
);
CREATE INDEX messages_by_thread ON messages (thread_id, message_id);
CREATE INDEX messages_by_sender ON messages (sender_id, created_at);
CREATE INDEX messages_body_words ON messages USING gin (body_words);

CREATE TABLE thread_messages (
    key bytea PRIMARY KEY,
    thread_id bigint NOT NULL,
    message_id bigint NOT NULL
);

CREATE TABLE thread_views (
    key bytea PRIMARY KEY,
    member_id bigint NOT NULL,
    thread_id bigint NOT NULL,
    record json NOT NULL,
    other_id bigint GENERATED ALWAYS AS ((record->>'other')::bigint) STORED,
    placement text GENERATED ALWAYS AS (record->>'placement') STORED,
    archived boolean GENERATED ALWAYS AS ((record->>'archived')::boolean) STORED,
    last_activity bigint GENERATED ALWAYS AS ((record->>'last_activity')::bigint) STORED,
    UNIQUE (member_id, thread_id)
);

-- The folder listing: `key` orders a member's folder newest first.
CREATE TABLE folder_entries (
    key bytea PRIMARY KEY,
    member_id bigint NOT NULL,
    folder smallint NOT NULL,
    last_activity bigint NOT NULL,
    thread_id bigint NOT NULL
);

CREATE TABLE inmail_credits (
    key bytea PRIMARY KEY,
    member_id bigint NOT NULL,
    month integer NOT NULL,
    value bytea NOT NULL,
    spent integer GENERATED ALWAYS AS
        (('x' || encode(substring(value FROM 1 FOR 4), 'hex'))::bit(32)::integer) STORED
);

CREATE TABLE idempotency_keys (
    key bytea PRIMARY KEY,
    member_id bigint NOT NULL,
    idempotency_key text NOT NULL,
    value bytea NOT NULL,
    message_id bigint GENERATED ALWAYS AS (sendguard_u64(value)) STORED
);

CREATE TABLE review_items (
    key bytea PRIMARY KEY,
    item_id bigint NOT NULL UNIQUE,
    record json NOT NULL,
    message_id bigint GENERATED ALWAYS AS ((record->>'message_id')::bigint) STORED
);

CREATE TABLE review_queue (
    key bytea PRIMARY KEY,
    item_id bigint NOT NULL
);

CREATE TABLE review_by_message (
    key bytea PRIMARY KEY,
    message_id bigint NOT NULL,
    value bytea NOT NULL,
    item_id bigint GENERATED ALWAYS AS (sendguard_u64(value)) STORED
);

CREATE TABLE labels (
    key bytea PRIMARY KEY,
    message_id bigint NOT NULL,
    record json NOT NULL
);

CREATE TABLE appeals (
    key bytea PRIMARY KEY,
    appeal_id bigint NOT NULL UNIQUE,
    record json NOT NULL
);

CREATE TABLE appeal_queue (
    key bytea PRIMARY KEY,
    appeal_id bigint NOT NULL
);

CREATE TABLE appeal_keys (
    key bytea PRIMARY KEY,
    member_id bigint NOT NULL,
    target bigint NOT NULL,
    target_kind smallint NOT NULL,
    value bytea NOT NULL,
    appeal_id bigint GENERATED ALWAYS AS (sendguard_u64(value)) STORED
);

CREATE TABLE audit (
    key bytea PRIMARY KEY,
    at bigint NOT NULL,
    entry_id bigint NOT NULL,
    record json NOT NULL
);

CREATE TABLE sender_holds (
    key bytea PRIMARY KEY,
    sender_id bigint NOT NULL,
    message_id bigint NOT NULL
);

CREATE TABLE overturned_restrictions (
    key bytea PRIMARY KEY,
    member_id bigint NOT NULL,
    since bigint NOT NULL,
    record json NOT NULL
);

CREATE TABLE reports_against (
    key bytea PRIMARY KEY,
    sender_id bigint NOT NULL,
    record json NOT NULL
);

CREATE TABLE reporter_standing (
    key bytea PRIMARY KEY,
    member_id bigint NOT NULL,
    record json NOT NULL
);

-- Limiter state when limits are kept in the store (the Redis limiter is optional).
CREATE TABLE sender_limits (
    key bytea PRIMARY KEY,
    member_id bigint NOT NULL,
    record json NOT NULL
);

CREATE TABLE refusal_counts (
    key bytea PRIMARY KEY,
    day bigint NOT NULL,
    reason text NOT NULL,
    value bytea NOT NULL,
    count bigint GENERATED ALWAYS AS (sendguard_u64(value)) STORED
);

CREATE TABLE rescore_checkpoints (
    key bytea PRIMARY KEY,
    mode text NOT NULL,
    record json NOT NULL
);
