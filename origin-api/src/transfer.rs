//! Moving one tenant between databases: `kefu export --tenant T` writes it as JSON lines,
//! `kefu import` reads them into another database (of any backend).
//!
//! The first line names the format and carries the tenant; every other line is one record with a
//! `"type"`: `site`, `agent` (with its password hash, so agents log in as before), `quick_reply`,
//! `leave_message`, `conversation`, `message` (with its file's details; the files themselves stay
//! in the data directory), `page_view`. Sites (with their identity secret) come before the agents
//! that serve them. Ids, times and message order are kept. Sessions (refresh tokens) are not moved:
//! agents log in again on the new server.

use std::io::{BufRead, Write};

use anyhow::{Context, anyhow, bail};
use chat_core::identity::IdentitySecret;
use chat_core::ids::{AgentId, ConversationId, TenantId, VisitorId};
use chat_core::protocol::MessageView;
use chat_core::records::{ConversationRecord, PageViewRecord, WriteOp};
use serde::{Deserialize, Serialize};

use crate::store::rows::record_from_summary;
use crate::store::{
    Agent, ConversationQuery, ImportCounts, LeaveMessage, LeaveMessageQuery, MAX_PAGE, MessageRange,
    QuickReply, Site, Store, Tenant, TenantRecord,
};

/// The format's name and version, in the first line.
pub const FORMAT: &str = "kefu-tenant";
/// Version of the format this binary writes and reads.
pub const VERSION: u32 = 1;

/// One line of an export.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Line {
    /// The first line.
    Header {
        format: String,
        version: u32,
        tenant: Tenant,
    },
    Site {
        #[serde(flatten)]
        site: Site,
        /// The key identities are verified with: the site's pages keep using it after the move.
        #[serde(default)]
        identity_secret: Option<String>,
    },
    Agent {
        #[serde(flatten)]
        agent: Agent,
        password_hash: String,
        /// Sessions ended before the move stay ended (a server with the same signing key).
        #[serde(default)]
        token_generation: u64,
    },
    QuickReply(QuickReply),
    LeaveMessage(LeaveMessage),
    Conversation(ConversationRecord),
    Message {
        tenant: TenantId,
        #[serde(flatten)]
        message: MessageView,
    },
    PageView(PageViewRecord),
}

/// Writes the tenant's records to `out`, a page at a time; returns how many of each.
pub async fn export(
    store: &dyn Store,
    tenant: &TenantId,
    out: &mut impl Write,
) -> anyhow::Result<ImportCounts> {
    let tenant = store.tenant(tenant).await?.ok_or_else(|| anyhow!("there is no tenant {tenant}"))?;
    let id = tenant.id.clone();
    let mut counts = ImportCounts::default();
    let mut put = |line: Line| -> anyhow::Result<()> {
        serde_json::to_writer(&mut *out, &line)?;
        out.write_all(b"\n").context("cannot write the export")
    };
    put(Line::Header { format: FORMAT.to_owned(), version: VERSION, tenant })?;
    for site in store.list_sites(&id).await? {
        let identity_secret = site.identity_secret.as_ref().map(|secret| secret.0.clone());
        put(Line::Site { site, identity_secret })?;
        counts.sites += 1;
    }
    let agents = store.list_agents(&id).await?;
    for agent in &agents {
        let (found, password_hash) = store
            .agent_with_hash(&id, &agent.id)
            .await?
            .ok_or_else(|| anyhow!("the agent {} was removed during the export; run it again", agent.id))?;
        let token_generation = found.token_generation;
        put(Line::Agent { agent: found, password_hash, token_generation })?;
        counts.agents += 1;
    }
    // Every agent's own replies and the shared ones (an id no agent has lists only those).
    let mut replies = Vec::new();
    for agent in agents.iter().map(|a| a.id.clone()).chain([AgentId::default()]) {
        replies.extend(store.list_quick_replies(&id, &agent).await?);
    }
    replies.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    replies.dedup_by(|a, b| a.id == b.id);
    for reply in replies {
        put(Line::QuickReply(reply))?;
        counts.quick_replies += 1;
    }
    let mut query = LeaveMessageQuery { limit: Some(MAX_PAGE), ..LeaveMessageQuery::default() };
    loop {
        let page = store.list_leave_messages(&id, &query).await?;
        query.before = page.last().map(|m| m.id.clone());
        for message in page {
            put(Line::LeaveMessage(message))?;
            counts.leave_messages += 1;
        }
        if query.before.is_none() {
            break;
        }
    }
    let mut query = ConversationQuery { limit: Some(MAX_PAGE), ..ConversationQuery::default() };
    loop {
        let page = store.list_conversations(&id, &query).await?;
        query.before = page.last().map(|c| c.conversation.id.to_string());
        for summary in page {
            let conversation = summary.conversation.id.clone();
            let last_seq = summary.conversation.last_seq;
            put(Line::Conversation(record_from_summary(&id, summary)))?;
            counts.conversations += 1;
            counts.messages += export_messages(store, &id, conversation, last_seq, &mut put).await?;
        }
        if query.before.is_none() {
            break;
        }
    }
    let mut after: Option<VisitorId> = None;
    loop {
        let visitors = store.visitors(&id, after.as_ref(), MAX_PAGE).await?;
        after = visitors.last().cloned();
        for visitor in visitors {
            let mut views = store.page_views(&id, &visitor, u32::MAX).await?;
            views.reverse();
            for view in views {
                put(Line::PageView(PageViewRecord {
                    tenant: id.clone(),
                    site: view.site,
                    visitor: visitor.clone(),
                    page: chat_core::protocol::PageInfo {
                        url: view.url,
                        title: view.title,
                        referrer: view.referrer,
                    },
                    keywords: view.keywords,
                    at: view.at,
                }))?;
                counts.page_views += 1;
            }
        }
        if after.is_none() {
            break;
        }
    }
    out.flush().context("cannot write the export")?;
    Ok(counts)
}

async fn export_messages(
    store: &dyn Store,
    tenant: &TenantId,
    conversation: ConversationId,
    last_seq: u64,
    put: &mut impl FnMut(Line) -> anyhow::Result<()>,
) -> anyhow::Result<u64> {
    let mut range =
        MessageRange { conversation, after_seq: 0, through_seq: last_seq, limit: 1_000, include_notes: true };
    let mut count = 0;
    loop {
        let page = store.messages(tenant, &range).await?;
        let Some(last) = page.last() else { return Ok(count) };
        range.after_seq = last.seq;
        for message in page {
            put(Line::Message { tenant: tenant.clone(), message })?;
            count += 1;
        }
    }
}

/// Reads an export from `input` into `store`: all of it, or nothing on the first bad line (its
/// number is in the error) or refused record. Fails if the tenant exists in `store`.
pub async fn import(store: &dyn Store, input: impl BufRead + Send) -> anyhow::Result<(Tenant, ImportCounts)> {
    let mut lines = input.lines().enumerate();
    let first = match lines.next() {
        Some((_, line)) => line.context("cannot read the export")?,
        None => bail!("the export is empty"),
    };
    let tenant = match serde_json::from_str::<Line>(&first) {
        Ok(Line::Header { format, version, tenant }) if format == FORMAT && version == VERSION => tenant,
        Ok(Line::Header { format, version, .. }) => bail!(
            "line 1: this is a {format:?} export of version {version}; this kefu reads {FORMAT:?} version {VERSION}"
        ),
        _ => bail!("line 1: not a Kefu tenant export (it must start with a {FORMAT:?} header)"),
    };
    if store.tenant(&tenant.id).await?.is_some() {
        bail!(
            "the tenant {} ({}) already exists in this database; nothing was imported",
            tenant.id,
            tenant.name
        );
    }
    let owner = tenant.id.clone();
    let mut records = lines.filter_map(move |(index, line)| {
        let number = index + 1;
        match line {
            Err(e) => Some(Err(format!("line {number}: cannot read it: {e}"))),
            Ok(line) if line.trim().is_empty() => None,
            Ok(line) => Some(record(&owner, &line).map_err(|e| format!("line {number}: {e}"))),
        }
    });
    let counts = store.import_tenant(&tenant, &mut records).await?;
    Ok((tenant, counts))
}

/// One line as a record of `owner`.
fn record(owner: &TenantId, line: &str) -> Result<TenantRecord, String> {
    let line: Line = serde_json::from_str(line).map_err(|e| format!("not a record: {e}"))?;
    let (record, tenant) = match line {
        Line::Header { .. } => return Err("a second header".to_owned()),
        Line::Site { mut site, identity_secret } => {
            site.identity_secret = identity_secret.map(IdentitySecret);
            let tenant = site.tenant.clone();
            (TenantRecord::Site(site), tenant)
        }
        Line::Agent { mut agent, password_hash, token_generation } => {
            agent.token_generation = token_generation;
            let tenant = agent.tenant.clone();
            (TenantRecord::Agent { agent, password_hash }, tenant)
        }
        Line::QuickReply(reply) => (TenantRecord::QuickReply(reply), owner.clone()),
        Line::LeaveMessage(message) => (TenantRecord::LeaveMessage(message), owner.clone()),
        Line::Conversation(record) => {
            let tenant = record.tenant.clone();
            (TenantRecord::Write(WriteOp::Conversation(record)), tenant)
        }
        Line::Message { tenant, message } => {
            (TenantRecord::Write(WriteOp::Message { tenant: tenant.clone(), message }), tenant)
        }
        Line::PageView(view) => {
            let tenant = view.tenant.clone();
            (TenantRecord::Write(WriteOp::PageView(view)), tenant)
        }
    };
    if &tenant != owner {
        return Err(format!("the record belongs to the tenant {tenant}, not {owner}"));
    }
    Ok(record)
}
