-- Member data lifecycle (issue 24): erased accounts and the state of message-text
-- encryption. Keys keep the embedded layout's bytes as primary keys, as in 0001.

-- One row per erased (or being erased) account: its pseudonym and what was removed.
CREATE TABLE erasures (
    key bytea PRIMARY KEY,
    member_id bigint NOT NULL UNIQUE,
    record json NOT NULL,
    completed_at bigint GENERATED ALWAYS AS ((record->>'completed_at')::bigint) STORED
);

-- Encryption state by name: `rotation`, the checkpoint of a key rotation under way.
CREATE TABLE sealing_state (
    key bytea PRIMARY KEY,
    name text NOT NULL UNIQUE,
    record json NOT NULL
);

-- Erasure finds a member's messages by sender; 0001 indexes them by (sender, time).
