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

    /// The keys and values of the keys in `$1` that exist (any order).
    pub fn get_many_sql(&self) -> String {
        format!(
            "SELECT key, {} FROM {} WHERE key = ANY($1)",
            self.value_expr(),
            self.name
        )
    }

    /// Deletes the key in parameter `first`.
    pub fn delete_sql_from(&self, first: usize) -> String {
        format!("DELETE FROM {} WHERE key = ${first}", self.name)
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

    /// Puts one row (an upsert), its parameters numbered from `first` (one statement of
    /// several tables' writes numbers each table's parameters after the previous ones').
    pub fn put_sql_from(&self, first: usize) -> String {
        let mut columns = vec!["key"];
        columns.extend(self.columns());
        let value_column = match self.value {
            Value::Json => Some(("record", "::text::json")),
            Value::Bytes => Some(("value", "")),
            Value::Empty => None,
        };
        let mut placeholders: Vec<String> = (first..first + columns.len())
            .map(|i| format!("${i}"))
            .collect();
        if let Some((column, cast)) = value_column {
            columns.push(column);
            placeholders.push(format!("${}{cast}", first + placeholders.len()));
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

    /// The parameters of [`Table::put_sql_from`] for `key` and `value`; `None` if the key is not
    /// shaped as this table's keys are (no build writes such a key).
    pub fn put_params(&self, key: &[u8], value: &[u8]) -> Option<Vec<Param>> {
        Some(
            self.cells(key, value)?
                .into_iter()
                .map(Cell::into_param)
                .collect(),
        )
    }

    /// The typed cells of one row: the key, its parts, the value (if the table keeps one).
    fn cells(&self, key: &[u8], value: &[u8]) -> Option<Vec<Cell>> {
        let mut cells = vec![Cell::Bytes(key.to_vec())];
        let mut at = self.tag.len();
        for (index, part) in self.parts.iter().enumerate() {
            let last = index + 1 == self.parts.len();
            let rest = key.get(at..)?;
            let (cell, used) = match part {
                Id(_) => (Cell::Int8(u64_of(rest)? as i64), 8),
                Inverted(_) => (Cell::Int8((u64::MAX - u64_of(rest)?) as i64), 8),
                U32(_) => {
                    let bytes: [u8; 4] = rest.get(..4)?.try_into().ok()?;
                    (Cell::Int4(u32::from_be_bytes(bytes) as i32), 4)
                }
                Byte(_) => (Cell::Int2(i16::from(*rest.first()?)), 1),
                Text(_) => (
                    Cell::Text(String::from_utf8_lossy(rest).into_owned()),
                    rest.len(),
                ),
                Bytes(_) => (Cell::Bytes(rest.to_vec()), rest.len()),
            };
            if matches!(part, Text(_) | Bytes(_)) && !last {
                return None;
            }
            cells.push(cell);
            at += used;
        }
        if at != key.len() {
            return None;
        }
        match self.value {
            Value::Json => cells.push(Cell::Text(String::from_utf8(value.to_vec()).ok()?)),
            Value::Bytes => cells.push(Cell::Bytes(value.to_vec())),
            Value::Empty => {}
        }
        Some(cells)
    }

    /// The PostgreSQL array type of each column [`Table::cells`] fills, and the cast that
    /// makes the column's type of it.
    fn column_types(&self) -> Vec<(&'static str, &'static str)> {
        let mut types = vec![("bytea[]", "")];
        types.extend(self.parts.iter().map(|part| match part {
            Id(_) | Inverted(_) => ("bigint[]", ""),
            U32(_) => ("integer[]", ""),
            Byte(_) => ("smallint[]", ""),
            Text(_) => ("text[]", ""),
            Bytes(_) => ("bytea[]", ""),
        }));
        match self.value {
            Value::Json => types.push(("text[]", "::json")),
            Value::Bytes => types.push(("bytea[]", "")),
            Value::Empty => {}
        }
        types
    }

    /// How many parameters [`Table::put_sql_from`] and [`Table::put_many_sql_from`] number.
    pub fn param_count(&self) -> usize {
        self.column_types().len()
    }

    /// [`Table::put_sql_from`] for any number of rows at once: one array parameter per
    /// column ([`Table::put_many_params`]), so a write puts each table's rows at once.
    pub fn put_many_sql_from(&self, first: usize) -> String {
        let mut columns = vec!["key"];
        columns.extend(self.columns());
        let value_column = match self.value {
            Value::Json => Some("record"),
            Value::Bytes => Some("value"),
            Value::Empty => None,
        };
        columns.extend(value_column);
        let types = self.column_types();
        let arrays: Vec<String> = types
            .iter()
            .enumerate()
            .map(|(i, (array, _))| format!("${}::{array}", first + i))
            .collect();
        let names: Vec<String> = (0..types.len()).map(|i| format!("c{i}")).collect();
        let selected: Vec<String> = types
            .iter()
            .zip(&names)
            .map(|((_, cast), name)| format!("{name}{cast}"))
            .collect();
        let on_conflict = match value_column {
            Some(column) => format!("DO UPDATE SET {column} = EXCLUDED.{column}"),
            None => "DO NOTHING".to_string(),
        };
        format!(
            "INSERT INTO {} ({}) SELECT {} FROM unnest({}) AS r({}) ON CONFLICT (key) {on_conflict}",
            self.name,
            columns.join(", "),
            selected.join(", "),
            arrays.join(", "),
            names.join(", ")
        )
    }

    /// The parameters of [`Table::put_many_sql_from`] for `rows` (distinct keys); `None` if a key
    /// is not shaped as this table's keys are.
    pub fn put_many_params(&self, rows: &[(Vec<u8>, Vec<u8>)]) -> Option<Vec<Param>> {
        let mut columns: Vec<Column> = self
            .column_types()
            .iter()
            .map(|(array, _)| Column::of(array))
            .collect();
        for (key, value) in rows {
            for (column, cell) in columns.iter_mut().zip(self.cells(key, value)?) {
                column.push(cell)?;
            }
        }
        Some(columns.into_iter().map(Column::into_param).collect())
    }

    /// Deletes the keys in parameter `first` (an array).
    pub fn delete_many_sql_from(&self, first: usize) -> String {
        format!("DELETE FROM {} WHERE key = ANY(${first})", self.name)
    }
}

/// One typed value of a row.
enum Cell {
    Int8(i64),
    Int4(i32),
    Int2(i16),
    Text(String),
    Bytes(Vec<u8>),
}

impl Cell {
    fn into_param(self) -> Param {
        match self {
            Cell::Int8(v) => Box::new(v),
            Cell::Int4(v) => Box::new(v),
            Cell::Int2(v) => Box::new(v),
            Cell::Text(v) => Box::new(v),
            Cell::Bytes(v) => Box::new(v),
        }
    }
}

/// One column of several rows, as an array parameter.
enum Column {
    Int8(Vec<i64>),
    Int4(Vec<i32>),
    Int2(Vec<i16>),
    Text(Vec<String>),
    Bytes(Vec<Vec<u8>>),
}

impl Column {
    fn of(array: &str) -> Column {
        match array {
            "bigint[]" => Column::Int8(Vec::new()),
            "integer[]" => Column::Int4(Vec::new()),
            "smallint[]" => Column::Int2(Vec::new()),
            "text[]" => Column::Text(Vec::new()),
            _ => Column::Bytes(Vec::new()),
        }
    }

    /// Appends `cell`; `None` if it is not of this column's type.
    fn push(&mut self, cell: Cell) -> Option<()> {
        match (self, cell) {
            (Column::Int8(c), Cell::Int8(v)) => c.push(v),
            (Column::Int4(c), Cell::Int4(v)) => c.push(v),
            (Column::Int2(c), Cell::Int2(v)) => c.push(v),
            (Column::Text(c), Cell::Text(v)) => c.push(v),
            (Column::Bytes(c), Cell::Bytes(v)) => c.push(v),
            _ => return None,
        }
        Some(())
    }

    fn into_param(self) -> Param {
        match self {
            Column::Int8(v) => Box::new(v),
            Column::Int4(v) => Box::new(v),
            Column::Int2(v) => Box::new(v),
            Column::Text(v) => Box::new(v),
            Column::Bytes(v) => Box::new(v),
        }
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
        assert!(table.put_sql_from(1).contains("DO NOTHING"));
        let rows = vec![
            (key.clone(), Vec::new()),
            (
                keys::folder_entry(8, crate::domain::Folder::Inbox, 5, 6),
                Vec::new(),
            ),
        ];
        assert_eq!(
            table.put_many_params(&rows).unwrap().len(),
            5,
            "one array per column"
        );
        assert!(table.put_many_sql_from(1).contains(
            "unnest($1::bytea[], $2::bigint[], $3::smallint[], $4::bigint[], $5::bigint[])"
        ));
        // Numbered after another table's parameters, in a statement of several writes.
        assert_eq!(table.param_count(), 5);
        assert!(table
            .put_sql_from(4)
            .contains("VALUES ($4, $5, $6, $7, $8)"));
        assert!(table.put_many_sql_from(3).contains(
            "unnest($3::bytea[], $4::bigint[], $5::smallint[], $6::bigint[], $7::bigint[])"
        ));
        assert!(table.delete_many_sql_from(9).ends_with("key = ANY($9)"));
        let views = table_of(&keys::ids(keys::VIEW, &[1, 2])).unwrap();
        assert_eq!(views.param_count(), 4, "key, two ids, the record");
        assert!(views
            .put_sql_from(2)
            .contains("VALUES ($2, $3, $4, $5::text::json)"));
        assert!(table
            .put_many_params(&[(key[..key.len() - 1].to_vec(), Vec::new())])
            .is_none());
        let members = table_of(&keys::ids(keys::MEMBER, &[1])).unwrap();
        assert!(members
            .put_params(&keys::ids(keys::MEMBER, &[1]), b"\xff")
            .is_none());
    }
}
