//! The rows a group commit inserts, one definition per table for both ways of running them: sqlx
//! (MySQL, and SQLite opened with options the commit thread leaves to sqlx) and SQLite's commit
//! thread ([`super::commit_thread`]).

use super::Dialect;
use crate::store::batch::{self, Batch, Value, visits};
use crate::store::statements::value_rows;

/// A multi-row INSERT into one table: what comes before its values and after them.
#[derive(Debug)]
pub(super) struct Insert {
    /// Up to `VALUES`, with a space after the column list.
    head: &'static str,
    /// Values per row.
    columns: usize,
    end: End,
    /// Whether rows skipped for existing are worth a warning: only messages', which are never
    /// sent twice but by a retried batch.
    warns_of_skipped: bool,
}

/// How an INSERT treats rows whose key exists.
#[derive(Debug)]
enum End {
    /// Skips them; the column is one of the key's. A retried batch stores nothing twice.
    Skip(&'static str),
    /// Updates these columns of the row with that `id` (the table's name first).
    Upsert(&'static str, &'static [&'static str]),
}

impl Insert {
    /// What follows the values.
    fn end(&self, dialect: Dialect) -> String {
        match self.end {
            End::Skip(key) => dialect.skip_existing(key),
            End::Upsert(table, columns) => dialect.upsert(table, columns),
        }
    }
}

/// Some rows of one table, their values one row after another.
#[derive(Debug)]
pub(super) struct Rows<'a> {
    pub insert: &'static Insert,
    pub values: Vec<Value<'a>>,
}

impl Rows<'_> {
    /// How many rows.
    pub fn len(&self) -> usize {
        self.values.len() / self.insert.columns
    }

    /// Tells of rows skipped for existing, where that is worth a warning, once `stored` of them
    /// were.
    pub fn stored(&self, stored: u64) {
        let skipped = (self.len() as u64).saturating_sub(stored);
        if skipped > 0 && self.insert.warns_of_skipped {
            tracing::warn!(skipped, "messages were already stored");
        }
    }
}

/// Rows per INSERT: one statement per few hundred rows instead of one per row is what lets a
/// batch of thousands commit in milliseconds (SQLite allows 32,766 bound values per statement,
/// MySQL 65,535). Only these sizes are used, largest first, so each table's inserts are a few
/// statements the connection prepares once and keeps, not one to compile for every batch size.
pub(super) const ROWS_PER_STATEMENT: [usize; 5] = [256, 64, 16, 4, 1];

/// `rows` in pieces of [`ROWS_PER_STATEMENT`] sizes.
pub(super) fn pieces<T>(mut rows: &[T]) -> impl Iterator<Item = &[T]> {
    std::iter::from_fn(move || {
        let size = ROWS_PER_STATEMENT.into_iter().find(|size| *size <= rows.len())?;
        let (piece, rest) = rows.split_at(size);
        rows = rest;
        Some(piece)
    })
}

/// The statements that store `writes`, in order: conversations, messages, page views, visitors.
pub(super) fn statements<'a>(writes: &Batch<'a>) -> Vec<Rows<'a>> {
    let mut statements = Vec::new();
    let mut add = |insert: &'static Insert, values: &mut dyn Iterator<Item = Value<'a>>| {
        statements.push(Rows { insert, values: values.collect() });
    };
    for rows in pieces(&writes.conversations) {
        add(&CONVERSATIONS, &mut rows.iter().flat_map(|record| batch::conversation(record)));
    }
    for rows in pieces(&writes.messages) {
        add(&MESSAGES, &mut rows.iter().flat_map(|(tenant, message)| batch::message(tenant, message)));
    }
    for rows in pieces(&writes.page_views) {
        add(&PAGE_VIEWS, &mut rows.iter().flat_map(|view| batch::page_view(view)));
        // One row per visitor: when these views first and last saw them.
        for visits in pieces(&visits(rows)) {
            add(&VISITORS, &mut visits.iter().flat_map(|(first, view)| batch::visit(*first, view)));
        }
    }
    statements
}

/// The SQL of `rows` rows of `insert` with `?` placeholders.
pub(super) fn sql(insert: &Insert, rows: usize, dialect: Dialect) -> String {
    format!("{}VALUES {}{}", insert.head, value_rows(rows, insert.columns), insert.end(dialect))
}

static MESSAGES: Insert = Insert {
    head:
        "INSERT INTO messages (conversation_id, seq, tenant_id, site_id, sender_party, sender_id, sender_name,
             kind, body, cid, event, attachment, created_at) ",
    columns: 13,
    end: End::Skip("seq"),
    warns_of_skipped: true,
};

// The tenant check of the upsert keeps a clash of ids (only an import can bring one) from
// touching another tenant's row.
static CONVERSATIONS: Insert = Insert {
    head: "INSERT INTO conversations (id, tenant_id, site_id, visitor_id, status, agent_id, started_at, closed_at,
             rating, rating_comment, visitor_read_seq, agent_read_seq) ",
    columns: 12,
    end: End::Upsert(
        "conversations",
        &["status", "agent_id", "closed_at", "rating", "rating_comment", "visitor_read_seq", "agent_read_seq"],
    ),
    warns_of_skipped: false,
};

static PAGE_VIEWS: Insert = Insert {
    head: "INSERT INTO page_views (tenant_id, site_id, visitor_id, url, title, referrer, keywords, viewed_at, view_key) ",
    columns: 9,
    end: End::Skip("view_key"),
    warns_of_skipped: false,
};

static VISITORS: Insert = Insert {
    head: "INSERT INTO visitors (id, tenant_id, site_id, first_seen_at, last_seen_at, last_url) ",
    columns: 6,
    end: End::Upsert("visitors", &["last_seen_at", "last_url"]),
    warns_of_skipped: false,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_is_cut_into_statements_of_a_few_sizes_in_order() {
        for len in [0, 1, 3, 4, 5, 255, 256, 400, 2_000] {
            let rows: Vec<usize> = (0..len).collect();
            let pieces: Vec<&[usize]> = pieces(&rows).collect();
            assert_eq!(pieces.concat(), rows, "every row once, in order ({len})");
            assert!(pieces.iter().all(|piece| ROWS_PER_STATEMENT.contains(&piece.len())), "{len}");
            assert!(pieces.windows(2).all(|pair| pair[0].len() >= pair[1].len()), "largest first ({len})");
        }
        assert_eq!(super::pieces(&[0u8; 400]).map(<[u8]>::len).collect::<Vec<_>>(), [256, 64, 64, 16]);
    }

    #[test]
    fn the_sql_of_some_rows_has_a_placeholder_for_each_value() {
        let sql = sql(&VISITORS, 2, Dialect::Sqlite);
        assert!(sql.starts_with("INSERT INTO visitors (id, tenant_id, site_id, first_seen_at, last_seen_at, last_url) VALUES (?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET last_seen_at = excluded.last_seen_at"), "{sql}");
        assert_eq!(sql.matches('?').count(), 12);
    }
}
