//! The statements every backend runs alike: their SQL, with `?` for each parameter, and the
//! parameters. A backend binds them its own way (SQL Server numbers the `?` first) and adds what
//! its dialect says differently (a page's size: `LIMIT ?` or `OFFSET … FETCH`).

use chat_core::identity::IdentitySecret;
use chat_core::ids::{AgentId, ConversationId, Millis, SiteId, TenantId, VisitorId};
use chat_core::protocol::Role;

use super::rows::{LEAVE_COLUMNS, SUMMARY_COLUMNS, json_list, sql_int, sql_time};
use super::{
    Agent, AgentPatch, ConversationQuery, LeaveMessage, LeaveMessageQuery, QuickReply, QuickReplyPatch,
    ReportQuery, Site, SitePatch, Tenant,
};

/// A parameter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Param {
    /// Text, or NULL.
    Text(Option<String>),
    /// An integer (times and flags too), or NULL.
    Int(Option<i64>),
    /// Bytes.
    Bytes(Vec<u8>),
}

/// `(?, ?, …), (?, ?, …)…`: `rows` rows of `columns` parameters.
pub(crate) fn value_rows(rows: usize, columns: usize) -> String {
    let row = format!("({})", vec!["?"; columns].join(", "));
    vec![row; rows].join(", ")
}

/// SQL with a `?` for each of its parameters, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Statement {
    /// The SQL.
    pub sql: String,
    /// Its parameters.
    pub params: Vec<Param>,
}

impl Statement {
    /// SQL without parameters yet.
    pub fn new(sql: impl Into<String>) -> Statement {
        Statement { sql: sql.into(), params: Vec::new() }
    }

    /// Adds a text parameter.
    pub fn text(mut self, value: impl Into<String>) -> Statement {
        self.params.push(Param::Text(Some(value.into())));
        self
    }

    /// Adds a text parameter that may be NULL.
    pub fn opt_text(mut self, value: Option<impl Into<String>>) -> Statement {
        self.params.push(Param::Text(value.map(Into::into)));
        self
    }

    /// Adds an integer parameter.
    pub fn int(mut self, value: i64) -> Statement {
        self.params.push(Param::Int(Some(value)));
        self
    }

    /// Adds an integer parameter that may be NULL.
    pub fn opt_int(mut self, value: Option<i64>) -> Statement {
        self.params.push(Param::Int(value));
        self
    }

    /// Adds bytes.
    pub fn bytes(mut self, value: &[u8]) -> Statement {
        self.params.push(Param::Bytes(value.to_vec()));
        self
    }

    /// Appends SQL with one text parameter.
    fn and_text(&mut self, sql: &str, value: &str) {
        self.sql.push_str(sql);
        self.params.push(Param::Text(Some(value.to_owned())));
    }

    /// Appends ` AND column IN (?, …)`: an agent's sites.
    fn and_in_sites(&mut self, column: &str, sites: &[SiteId]) {
        self.and_in(column, sites.iter().map(SiteId::as_str));
    }

    /// Appends ` AND column IN (?, …)`.
    fn and_in<'a>(&mut self, column: &str, values: impl IntoIterator<Item = &'a str>) {
        // No id is empty; it keeps `IN ()` valid when there are none.
        self.and_text(&format!(" AND {column} IN (?"), "");
        for value in values {
            self.and_text(", ?", value);
        }
        self.sql.push(')');
    }
}

pub(crate) fn insert_tenant(tenant: &Tenant) -> Statement {
    Statement::new("INSERT INTO tenants (id, name, created_at) VALUES (?, ?, ?)")
        .text(tenant.id.as_str())
        .text(&tenant.name)
        .int(sql_time(tenant.created_at))
}

pub(crate) fn insert_site(site: &Site) -> Statement {
    Statement::new(
        "INSERT INTO sites (id, tenant_id, site_key, name, allowed_origins, greeting, auto_assign, color, position,
             offline_form, languages, identity_secret, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .text(site.id.as_str())
    .text(site.tenant.as_str())
    .text(&site.key)
    .text(&site.name)
    .text(json_list(&site.allowed_origins))
    .text(&site.greeting)
    .int(i64::from(site.auto_assign))
    .text(&site.widget.color)
    .text(site.widget.position.as_str())
    .int(i64::from(site.widget.offline_form))
    .text(json_list(&site.widget.languages))
    .opt_text(site.identity_secret.as_ref().map(|secret| secret.0.clone()))
    .int(sql_time(site.created_at))
}

/// Sets or clears (`None`) a site's identity secret.
pub(crate) fn set_identity_secret(
    tenant: &TenantId,
    site: &SiteId,
    secret: Option<&IdentitySecret>,
) -> Statement {
    Statement::new("UPDATE sites SET identity_secret = ? WHERE tenant_id = ? AND id = ?")
        .opt_text(secret.map(|secret| secret.0.clone()))
        .text(tenant.as_str())
        .text(site.as_str())
}

pub(crate) fn update_site(tenant: &TenantId, site: &SiteId, patch: SitePatch) -> Statement {
    Statement::new(
        "UPDATE sites SET name = COALESCE(?, name), allowed_origins = COALESCE(?, allowed_origins),
             greeting = COALESCE(?, greeting), auto_assign = COALESCE(?, auto_assign), color = COALESCE(?, color),
             position = COALESCE(?, position), offline_form = COALESCE(?, offline_form),
             languages = COALESCE(?, languages)
         WHERE tenant_id = ? AND id = ?",
    )
    .opt_text(patch.name)
    .opt_text(patch.allowed_origins.as_deref().map(json_list))
    .opt_text(patch.greeting)
    .opt_int(patch.auto_assign.map(i64::from))
    .opt_text(patch.color)
    .opt_text(patch.position.map(|position| position.as_str().to_owned()))
    .opt_int(patch.offline_form.map(i64::from))
    .opt_text(patch.languages.as_deref().map(json_list))
    .text(tenant.as_str())
    .text(site.as_str())
}

pub(crate) fn insert_agent(agent: &Agent, password_hash: &str) -> Statement {
    Statement::new(
        "INSERT INTO agents (id, tenant_id, email, name, role, capacity, all_sites, password_hash, disabled, created_at,
             token_generation)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .text(agent.id.as_str())
    .text(agent.tenant.as_str())
    .text(agent.email.to_lowercase()) // logins look emails up in lower case
    .text(&agent.name)
    .text(agent.role.as_str())
    .int(i64::from(agent.capacity))
    .int(i64::from(agent.all_sites))
    .text(password_hash)
    .int(i64::from(agent.disabled))
    .int(sql_time(agent.created_at))
    .int(sql_int(agent.token_generation))
}

/// A new password, in a new token generation: every access token issued before is refused.
pub(crate) fn set_password(tenant: &TenantId, agent: &AgentId, hash: &str) -> Statement {
    Statement::new(
        "UPDATE agents SET password_hash = ?, token_generation = token_generation + 1 WHERE tenant_id = ? AND id = ?",
    )
    .text(hash)
    .text(tenant.as_str())
    .text(agent.as_str())
}

/// A new token generation: every access token issued before is refused.
pub(crate) fn new_token_generation(tenant: &TenantId, agent: &AgentId) -> Statement {
    Statement::new("UPDATE agents SET token_generation = token_generation + 1 WHERE tenant_id = ? AND id = ?")
        .text(tenant.as_str())
        .text(agent.as_str())
}

/// Ends an agent's sessions: their refresh tokens go.
pub(crate) fn delete_refresh_tokens(tenant: &TenantId, agent: &AgentId) -> Statement {
    Statement::new("DELETE FROM refresh_tokens WHERE tenant_id = ? AND agent_id = ?")
        .text(tenant.as_str())
        .text(agent.as_str())
}

/// The session state of these agents, whatever their tenant (the live sockets' check).
pub(crate) fn session_states(agents: &[AgentId]) -> Statement {
    let mut sql = Statement::new("SELECT id, token_generation, disabled FROM agents WHERE 1 = 1");
    sql.and_in("id", agents.iter().map(AgentId::as_str));
    sql
}

/// Changes an agent's own row; `all_sites` is the patch's, or `false` when it names sites alone.
pub(crate) fn update_agent(
    tenant: &TenantId,
    agent: &AgentId,
    patch: &AgentPatch,
    all_sites: Option<bool>,
) -> Statement {
    Statement::new(
        "UPDATE agents SET name = COALESCE(?, name), role = COALESCE(?, role),
             capacity = COALESCE(?, capacity), all_sites = COALESCE(?, all_sites),
             disabled = COALESCE(?, disabled)
         WHERE tenant_id = ? AND id = ?",
    )
    .opt_text(patch.name.clone())
    .opt_text(patch.role.map(Role::as_str))
    .opt_int(patch.capacity.map(i64::from))
    .opt_int(all_sites.map(i64::from))
    .opt_int(patch.disabled.map(i64::from))
    .text(tenant.as_str())
    .text(agent.as_str())
}

/// Attaches a site to an agent if it is a site of the agent's tenant (no row otherwise).
pub(crate) fn attach_site(tenant: &TenantId, agent: &AgentId, site: &SiteId) -> Statement {
    Statement::new(
        "INSERT INTO agent_sites (agent_id, site_id) SELECT ?, id FROM sites WHERE tenant_id = ? AND id = ?",
    )
    .text(agent.as_str())
    .text(tenant.as_str())
    .text(site.as_str())
}

/// How a backend finds text in messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TextSearch {
    /// SQLite's FTS5 index with the trigram tokenizer (`message_search`) for three characters or
    /// more, and a scan of the messages it has not taken in yet.
    Trigram,
    /// MySQL's FULLTEXT index (`message_search`): words of three letters or more, no CJK.
    FullText,
    /// `LIKE` over every message of the tenant (SQL Server).
    #[cfg_attr(not(feature = "mssql"), allow(dead_code))]
    Like,
}

/// `text` as a `LIKE` pattern that matches it anywhere, lower-cased, escaped with `!` (a
/// character no dialect's string literals treat specially).
fn contains_pattern(text: &str) -> String {
    let mut pattern = String::from("%");
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '!' | '[') {
            pattern.push('!');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

impl Statement {
    /// Appends ` AND …`: conversations with a message (not an event) containing `text`, in any
    /// case. The index narrows the search where it can; `LIKE` has the last word.
    fn and_text_found(&mut self, tenant: &TenantId, text: &str, search: TextSearch) {
        let words: Vec<&str> = text.split_whitespace().collect();
        let pattern = contains_pattern(text);
        let found_in = |sql: &mut Statement| {
            sql.and_text(" AND LOWER(m.body) LIKE ? ESCAPE '!'", &pattern);
            sql.and_text(" AND m.tenant_id = ? AND m.kind != 'event')", tenant.as_str());
        };
        match search {
            TextSearch::Trigram if text.chars().count() >= 3 => {
                // The index, and the messages it has not taken in yet.
                self.and_text(
                    " AND (c.id IN (SELECT m.conversation_id FROM message_search s
                     JOIN messages m ON m.rowid = s.rowid WHERE message_search MATCH ?",
                    &format!("\"{}\"", text.replace('"', "\"\"")),
                );
                found_in(self);
                self.sql.push_str(
                    " OR c.id IN (SELECT m.conversation_id FROM messages m
                     WHERE m.rowid > (SELECT indexed_through FROM search_progress)",
                );
                found_in(self);
                self.sql.push(')');
            }
            TextSearch::FullText
                if words.iter().all(|w| w.len() >= 3 && w.chars().all(|c| c.is_ascii_alphanumeric())) =>
            {
                let all: Vec<String> = words.iter().map(|w| format!("+{w}*")).collect();
                self.and_text(
                    " AND c.id IN (SELECT m.conversation_id FROM messages m
                     WHERE MATCH (m.body) AGAINST (? IN BOOLEAN MODE)",
                    &all.join(" "),
                );
                found_in(self);
            }
            _ => {
                self.sql.push_str(" AND c.id IN (SELECT m.conversation_id FROM messages m WHERE 1 = 1");
                found_in(self);
            }
        }
    }
}

/// The tenant's conversations as a query asks, newest first; the backend adds the page size.
pub(crate) fn list_conversations(
    tenant: &TenantId,
    query: &ConversationQuery,
    search: TextSearch,
) -> Statement {
    let mut sql =
        Statement::new(format!("SELECT {SUMMARY_COLUMNS} FROM conversations c WHERE c.tenant_id = ?"))
            .text(tenant.as_str());
    if let Some(site) = &query.site {
        sql.and_text(" AND c.site_id = ?", site.as_str());
    }
    if let Some(sites) = &query.sites {
        sql.and_in_sites("c.site_id", sites);
    }
    if let Some(status) = query.status {
        sql.and_text(" AND c.status = ?", status.as_str());
    }
    if let Some(visitor) = &query.visitor {
        sql.and_text(" AND c.visitor_id = ?", visitor.as_str());
    }
    if let Some(text) = query.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        sql.and_text_found(tenant, text, search);
    }
    if let Some(tag) = &query.tag {
        sql.and_text(" AND c.id IN (SELECT t.conversation_id FROM conversation_tags t WHERE t.tag = ?", tag);
        sql.and_text(" AND t.tenant_id = ?)", tenant.as_str());
    }
    if let Some(from) = query.from {
        sql.sql.push_str(" AND c.started_at >= ?");
        sql.params.push(Param::Int(Some(sql_time(from))));
    }
    if let Some(to) = query.to {
        sql.sql.push_str(" AND c.started_at < ?");
        sql.params.push(Param::Int(Some(sql_time(to))));
    }
    if let Some(before) = &query.before {
        sql.and_text(" AND c.id < ?", before);
    }
    sql.sql.push_str(" ORDER BY c.id DESC");
    sql
}

/// One row per conversation a report covers, with its site's and agent's names, the visitor's
/// first message and the first agent answer after it (columns as [`super::rows::report_row`] reads).
pub(crate) fn report_rows(tenant: &TenantId, query: &ReportQuery) -> Statement {
    let mut sql = Statement::new(
        "SELECT c.site_id, s.name AS site_name, c.agent_id, a.name AS agent_name, c.started_at,
             c.closed_at, c.rating,
             (SELECT MIN(v.created_at) FROM messages v WHERE v.conversation_id = c.id
                AND v.sender_party = 'visitor' AND v.kind = 'text') AS asked_at,
             (SELECT MIN(r.created_at) FROM messages r WHERE r.conversation_id = c.id
                AND r.sender_party = 'agent' AND r.kind = 'text'
                AND r.seq > (SELECT MIN(v.seq) FROM messages v WHERE v.conversation_id = c.id
                             AND v.sender_party = 'visitor' AND v.kind = 'text')) AS answered_at
         FROM conversations c
         LEFT JOIN sites s ON s.tenant_id = c.tenant_id AND s.id = c.site_id
         LEFT JOIN agents a ON a.tenant_id = c.tenant_id AND a.id = c.agent_id
         WHERE c.tenant_id = ? AND c.started_at >= ? AND c.started_at < ?",
    )
    .text(tenant.as_str())
    .int(sql_time(query.from))
    .int(sql_time(query.to));
    if let Some(site) = &query.site {
        sql.and_text(" AND c.site_id = ?", site.as_str());
    }
    if let Some(sites) = &query.sites {
        sql.and_in_sites("c.site_id", sites);
    }
    sql
}

/// Replaces a conversation's tags (run in one transaction, once the conversation is known to be
/// the tenant's).
pub(crate) fn set_tags(tenant: &TenantId, conversation: &ConversationId, tags: &[String]) -> Vec<Statement> {
    let mut statements = vec![
        Statement::new("DELETE FROM conversation_tags WHERE tenant_id = ? AND conversation_id = ?")
            .text(tenant.as_str())
            .text(conversation.as_str()),
    ];
    statements.extend(tags.iter().map(|tag| {
        Statement::new("INSERT INTO conversation_tags (tenant_id, conversation_id, tag) VALUES (?, ?, ?)")
            .text(tenant.as_str())
            .text(conversation.as_str())
            .text(tag.as_str())
    }));
    statements
}

/// The tags of these conversations of the tenant: rows of `conversation_id`, `tag`.
pub(crate) fn tags_of(tenant: &TenantId, conversations: &[&str]) -> Statement {
    let mut sql = Statement::new("SELECT conversation_id, tag FROM conversation_tags WHERE tenant_id = ?")
        .text(tenant.as_str());
    sql.and_in("conversation_id", conversations.iter().copied());
    sql.sql.push_str(" ORDER BY conversation_id, tag");
    sql
}

/// The tenant's leave-a-messages as a query asks, newest first; the backend adds the page size.
pub(crate) fn list_leave_messages(tenant: &TenantId, query: &LeaveMessageQuery) -> Statement {
    let mut sql = Statement::new(format!("SELECT {LEAVE_COLUMNS} FROM leave_messages WHERE tenant_id = ?"))
        .text(tenant.as_str());
    match query.handled {
        Some(true) => sql.sql.push_str(" AND handled_at IS NOT NULL"),
        Some(false) => sql.sql.push_str(" AND handled_at IS NULL"),
        None => {}
    }
    if let Some(site) = &query.site {
        sql.and_text(" AND site_id = ?", site.as_str());
    }
    if let Some(sites) = &query.sites {
        sql.and_in_sites("site_id", sites);
    }
    if let Some(before) = &query.before {
        sql.and_text(" AND id < ?", before);
    }
    sql.sql.push_str(" ORDER BY id DESC");
    sql
}

pub(crate) fn insert_leave_message(tenant: &TenantId, message: &LeaveMessage) -> Statement {
    Statement::new(
        "INSERT INTO leave_messages (id, tenant_id, site_id, visitor_id, name, email, body, page_url, created_at,
             handled_at, handled_by)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .text(&message.id)
    .text(tenant.as_str())
    .text(message.site.as_str())
    .opt_text(message.visitor.as_ref().map(VisitorId::as_str))
    .text(&message.name)
    .text(&message.email)
    .text(&message.body)
    .text(&message.page_url)
    .int(sql_time(message.created_at))
    .opt_int(message.handled_at.map(sql_time))
    .opt_text(message.handled_by.as_ref().map(AgentId::as_str))
}

/// Marks a leave-a-message handled unless it was: the first handler stays.
pub(crate) fn mark_handled(tenant: &TenantId, id: &str, agent: &AgentId, now: Millis) -> Statement {
    Statement::new(
        "UPDATE leave_messages SET handled_at = COALESCE(handled_at, ?), handled_by = COALESCE(handled_by, ?)
         WHERE tenant_id = ? AND id = ?",
    )
    .int(sql_time(now))
    .text(agent.as_str())
    .text(tenant.as_str())
    .text(id)
}

pub(crate) fn insert_quick_reply(tenant: &TenantId, reply: &QuickReply) -> Statement {
    Statement::new(
        "INSERT INTO quick_replies (id, tenant_id, agent_id, title, body, created_at) VALUES (?, ?, ?, ?, ?, ?)",
    )
    .text(&reply.id)
    .text(tenant.as_str())
    .opt_text(reply.agent.as_ref().map(AgentId::as_str))
    .text(&reply.title)
    .text(&reply.body)
    .int(sql_time(reply.created_at))
}

pub(crate) fn update_quick_reply(tenant: &TenantId, id: &str, patch: QuickReplyPatch) -> Statement {
    Statement::new(
        "UPDATE quick_replies SET title = COALESCE(?, title), body = COALESCE(?, body) WHERE tenant_id = ? AND id = ?",
    )
    .opt_text(patch.title)
    .opt_text(patch.body)
    .text(tenant.as_str())
    .text(id)
}
