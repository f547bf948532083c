//! Where each record kind of the key layout (`keys.rs`) lives in PostgreSQL.
//!
//! A key's tag names its table; the rest of the key is split into typed columns, so an
//! analyst can join on ids instead of decoding bytes. The key itself stays the primary
//! key: its byte order is the order every listing is read in (see `migrations/`).

use tokio_postgres::types::ToSql;

use super::super::keys;

/// One part of a key after its tag.
#[derive(Debug, Clone, Copy)]
pub enum Part {
    /// 8 bytes big-endian: an id or a time, as `bigint`.
    Id(&'static str),
    /// 8 bytes big-endian, stored inverted (`u64::MAX - value`) to sort newest first.
    Inverted(&'static str),
    /// 4 bytes big-endian, as `integer`.
    U32(&'static str),
    /// One byte, as `smallint`.
    Byte(&'static str),
    /// The rest of the key, UTF-8, as `text`.
    Text(&'static str),
    /// The rest of the key, as `bytea`.
    Bytes(&'static str),
}

impl Part {
    fn column(self) -> &'static str {
        match self {
            Part::Id(c)
            | Part::Inverted(c)
            | Part::U32(c)
            | Part::Byte(c)
            | Part::Text(c)
            | Part::Bytes(c) => c,
        }
    }
}

/// How a record's value is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value {
    /// JSON, in a `record json` column (kept byte for byte).
    Json,
    /// Bytes as the embedded layout has them, in `value bytea`.
    Bytes,
    /// An index entry: the key alone.
    Empty,
}

pub struct Table {
    pub tag: &'static [u8],
    pub name: &'static str,
    pub parts: &'static [Part],
    pub value: Value,
}

use Part::*;

/// Every record kind the store writes, by tag.
pub static TABLES: &[Table] = &[
    table(keys::MEMBER, "members", &[Id("member_id")], Value::Json),
    table(keys::HANDLE, "handles", &[Text("handle")], Value::Bytes),
    table(keys::TOKEN, "tokens", &[Bytes("token_hash")], Value::Json),
    table(
        keys::REVIEWER,
        "reviewers",
        &[Id("reviewer_id")],
        Value::Json,
    ),
    table(
        keys::CONNECTION,
        "connections",
        &[Id("member_a"), Id("member_b")],
        Value::Empty,
    ),
    table(
        keys::BLOCK,
        "blocks",
        &[Id("blocker"), Id("blocked")],
        Value::Empty,
    ),
    table(
        keys::PAIR,
        "thread_pairs",
        &[Id("member_low"), Id("member_high")],
        Value::Bytes,
    ),
    table(keys::THREAD, "threads", &[Id("thread_id")], Value::Json),
    table(keys::MESSAGE, "messages", &[Id("message_id")], Value::Json),
    table(
        keys::THREAD_MESSAGES,
        "thread_messages",
        &[Id("thread_id"), Id("message_id")],
        Value::Empty,
    ),
    table(
        keys::VIEW,
        "thread_views",
        &[Id("member_id"), Id("thread_id")],
        Value::Json,
    ),
    table(
        keys::FOLDER,
        "folder_entries",
        &[
            Id("member_id"),
            Byte("folder"),
            Inverted("last_activity"),
            Inverted("thread_id"),
        ],
        Value::Empty,
    ),
    table(
        keys::INMAIL,
        "inmail_credits",
        &[Id("member_id"), U32("month")],
        Value::Bytes,
    ),
    table(
        keys::INMAIL_LEDGER,
        "inmail_ledgers",
        &[Id("member_id")],
        Value::Json,
    ),
    table(
        keys::IDEMPOTENCY,
        "idempotency_keys",
        &[Id("member_id"), Text("idempotency_key")],
        Value::Bytes,
    ),
    table(
        keys::REVIEW_ITEM,
        "review_items",
        &[Id("item_id")],
        Value::Json,
    ),
    table(
        keys::CAMPAIGN,
        "campaigns",
        &[Id("campaign_id")],
        Value::Json,
    ),
    table(
        keys::CAMPAIGN_BAND,
        "campaign_bands",
        &[Id("band_key")],
        Value::Bytes,
    ),
    table(
        keys::CAMPAIGN_LISTED,
        "campaigns_listed",
        &[Id("campaign_id")],
        Value::Empty,
    ),
    table(
        keys::CAMPAIGN_MESSAGES,
        "campaign_messages",
        &[Id("campaign_id"), Id("message_id")],
        Value::Empty,
    ),
    table(
        keys::REVIEW_QUEUE,
        "review_queue",
        &[Id("item_id")],
        Value::Empty,
    ),
    table(
        keys::REVIEW_BY_MESSAGE,
        "review_by_message",
        &[Id("message_id")],
        Value::Bytes,
    ),
    table(keys::LABEL, "labels", &[Id("message_id")], Value::Json),
    table(keys::APPEAL, "appeals", &[Id("appeal_id")], Value::Json),
    table(
        keys::APPEAL_QUEUE,
        "appeal_queue",
        &[Id("appeal_id")],
        Value::Empty,
    ),
    table(
        keys::APPEAL_KEY,
        "appeal_keys",
        &[Id("member_id"), Id("target"), Byte("target_kind")],
        Value::Bytes,
    ),
    table(
        keys::AUDIT,
        "audit",
        &[Id("at"), Id("entry_id")],
        Value::Json,
    ),
    table(
        keys::SENDER_HOLDS,
        "sender_holds",
        &[Id("sender_id"), Id("message_id")],
        Value::Empty,
    ),
    table(
        keys::OVERTURNED_RESTRICTION,
        "overturned_restrictions",
        &[Id("member_id"), Id("since")],
        Value::Json,
    ),
    table(
        keys::REPORTS_AGAINST,
        "reports_against",
        &[Id("sender_id")],
        Value::Json,
    ),
    table(
        keys::REPORTER_STANDING,
        "reporter_standing",
        &[Id("member_id")],
        Value::Json,
    ),
    table(
        keys::SENDER_STATE,
        "sender_limits",
        &[Id("member_id")],
        Value::Json,
    ),
    table(
        keys::STAT_REFUSAL,
        "refusal_counts",
        &[Id("day"), Text("reason")],
        Value::Bytes,
    ),
    table(
        keys::ADVERTISER,
        "advertisers",
        &[Id("advertiser_id")],
        Value::Json,
    ),
    table(
        keys::SPONSORED_CAMPAIGN,
        "sponsored_campaigns",
        &[Id("sponsored_campaign_id")],
        Value::Json,
    ),
    table(
        keys::ADVERTISER_CAMPAIGNS,
        "advertiser_campaigns",
        &[Id("advertiser_id"), Id("sponsored_campaign_id")],
        Value::Empty,
    ),
    table(
        keys::SPONSORED_INBOX,
        "sponsored_inboxes",
        &[Id("member_id")],
        Value::Json,
    ),
    table(
        keys::SPONSORED_REPLIES,
        "sponsored_replies",
        &[Id("sponsored_campaign_id"), Id("message_id")],
        Value::Empty,
    ),
    table(
        keys::SPONSORED_THREAD,
        "sponsored_threads",
        &[Id("thread_id")],
        Value::Bytes,
    ),
    table(
        keys::RESCORE,
        "rescore_checkpoints",
        &[Text("mode")],
        Value::Json,
    ),
    table(keys::ERASURE, "erasures", &[Id("member_id")], Value::Json),
    table(keys::SEALING, "sealing_state", &[Text("name")], Value::Json),
];

const fn table(
    tag: &'static [u8],
    name: &'static str,
    parts: &'static [Part],
    value: Value,
) -> Table {
    Table {
        tag,
        name,
        parts,
        value,
    }
}

/// The table a key belongs to (tags end in `/`, so no tag is a prefix of another).
pub fn table_of(key: &[u8]) -> Option<&'static Table> {
    TABLES.iter().find(|table| key.starts_with(table.tag))
}

pub type Param = Box<dyn ToSql + Sync + Send>;

impl Table {
    /// The columns a key fills, after `key` itself.
    fn columns(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.parts.iter().map(|part| part.column())
    }

    /// An expression giving the value as `bytea`, the embedded layout's bytes.
    fn value_expr(&self) -> &'static str {
        match self.value {
            Value::Json => "convert_to(record::text, 'UTF8')",
            Value::Bytes => "value",
            Value::Empty => "'\\x'::bytea",
        }
    }

    pub fn get_sql(&self) -> String {
        format!(
            "SELECT {} FROM {} WHERE key = $1",
            self.value_expr(),
            self.name
        )
    }

    pub fn delete_sql(&self) -> String {
        format!("DELETE FROM {} WHERE key = $1", self.name)
    }

    /// One page of keys and values in `[$1 or ($1, $2)`, in key order or reverse.
    pub fn page_sql(&self, lower_inclusive: bool, reverse: bool) -> String {
        let lower = if lower_inclusive { ">=" } else { ">" };
        let order = if reverse { "DESC" } else { "ASC" };
        format!(
            "SELECT key, {} FROM {} WHERE key {lower} $1 AND key < $2 ORDER BY key {order} LIMIT $3",
            self.value_expr(),
            self.name
        )
    }

    pub fn count_sql(&self) -> String {
        format!(
            "SELECT count(*) FROM {} WHERE key >= $1 AND key < $2",
            self.name
        )
    }

    pub fn put_sql(&self) -> String {
        let mut columns = vec!["key"];
        columns.extend(self.columns());
        let value_column = match self.value {
            Value::Json => Some(("record", "::text::json")),
            Value::Bytes => Some(("value", "")),
            Value::Empty => None,
        };
        let mut placeholders: Vec<String> = (1..=columns.len()).map(|i| format!("${i}")).collect();
        if let Some((column, cast)) = value_column {
            columns.push(column);
            placeholders.push(format!("${}{cast}", placeholders.len() + 1));
        }
        let on_conflict = match value_column {
            Some((column, _)) => format!("DO UPDATE SET {column} = EXCLUDED.{column}"),
            None => "DO NOTHING".to_string(),
        };
        format!(
            "INSERT INTO {} ({}) VALUES ({}) ON CONFLICT (key) {on_conflict}",
            self.name,
            columns.join(", "),
            placeholders.join(", ")
        )
    }

    /// The parameters of [`Table::put_sql`] for `key` and `value`; `None` if the key is not
    /// shaped as this table's keys are (no build writes such a key).
    pub fn put_params(&self, key: &[u8], value: &[u8]) -> Option<Vec<Param>> {
        let mut params: Vec<Param> = vec![Box::new(key.to_vec())];
        let mut at = self.tag.len();
        for (index, part) in self.parts.iter().enumerate() {
            let last = index + 1 == self.parts.len();
            let rest = key.get(at..)?;
            let (param, used): (Param, usize) = match part {
                Id(_) => (Box::new(u64_of(rest)? as i64), 8),
                Inverted(_) => (Box::new((u64::MAX - u64_of(rest)?) as i64), 8),
                U32(_) => {
                    let bytes: [u8; 4] = rest.get(..4)?.try_into().ok()?;
                    (Box::new(u32::from_be_bytes(bytes) as i32), 4)
                }
                Byte(_) => (Box::new(i16::from(*rest.first()?)), 1),
                Text(_) => (
                    Box::new(String::from_utf8_lossy(rest).into_owned()),
                    rest.len(),
                ),
                Bytes(_) => (Box::new(rest.to_vec()), rest.len()),
            };
            if matches!(part, Text(_) | Bytes(_)) && !last {
                return None;
            }
            params.push(param);
            at += used;
        }
        if at != key.len() {
            return None;
        }
        match self.value {
            Value::Json => params.push(Box::new(String::from_utf8(value.to_vec()).ok()?)),
            Value::Bytes => params.push(Box::new(value.to_vec())),
            Value::Empty => {}
        }
        Some(params)
    }
}

fn u64_of(bytes: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(bytes.get(..8)?.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tag_has_one_table_and_keys_split_into_their_columns() {
        for table in TABLES {
            let owners = TABLES.iter().filter(|t| t.tag.starts_with(table.tag));
            assert_eq!(
                owners.count(),
                1,
                "{} is a prefix of another tag",
                table.name
            );
        }
        let key = keys::folder_entry(7, crate::domain::Folder::Other, 1_000, 42);
        let table = table_of(&key).unwrap();
        assert_eq!(table.name, "folder_entries");
        assert_eq!(table.put_params(&key, b"").unwrap().len(), 5);
        assert!(
            table.put_params(&key[..key.len() - 1], b"").is_none(),
            "a short key is refused"
        );
        assert!(table.put_sql().contains("DO NOTHING"));
        let members = table_of(&keys::ids(keys::MEMBER, &[1])).unwrap();
        assert!(members
            .put_params(&keys::ids(keys::MEMBER, &[1]), b"\xff")
            .is_none());
    }
}
