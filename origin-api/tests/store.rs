//! The store contract — what the rooms, the API and `kefu import` rely on — run unchanged against
//! every backend: SQLite always, MariaDB always (a database made for each case and dropped after),
//! SQL Server when `KEFU_TEST_MSSQL_URL` names a server. It prints each case as it runs.
//!
//! `cargo test --test store [NAME]` runs the cases whose names contain NAME.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::future::Future;
use std::pin::Pin;
use std::process::ExitCode;
use std::sync::Arc;

use chat_core::identity::IdentitySecret;
use chat_core::ids::{AgentId, Cid, ConversationId, Millis, SiteId, TenantId, VisitorId};
use chat_core::protocol::{
    AttachmentView, ConversationStatus, MessageKind, MessageView, PageInfo, Party, Role, Sender,
    WidgetPosition, WidgetView,
};
use chat_core::records::{ConversationRecord, PageViewRecord, WriteOp};
use common::TestDb;
use origin_api::store::{
    self, AgentPatch, ConversationQuery, LeaveMessageQuery, MessageRange, NewAgent, NewLeaveMessage,
    NewQuickReply, NewSite, QuickReplyPatch, RefreshToken, ReportQuery, SitePatch, Store, StoreError, Tenant,
    TenantRecord, report,
};

type Case = fn(Arc<dyn Store>) -> Pin<Box<dyn Future<Output = ()> + Send>>;

macro_rules! cases {
    ($($name:ident),* $(,)?) => {
        &[$((stringify!($name), |store| Box::pin($name(store)))),*]
    };
}

const CASES: &[(&str, Case)] = cases![
    tenants_are_listed_oldest_first_and_read_by_id,
    sites_are_changed_and_deleted_only_by_their_tenant,
    agent_emails_are_unique_within_a_tenant_whatever_their_case,
    agents_serve_only_their_own_tenants_sites,
    disabling_an_agent_or_a_new_password_ends_their_sessions,
    a_refresh_token_is_taken_once,
    a_batch_commits_whole_keeps_the_last_state_and_can_be_retried,
    a_room_loads_open_and_recently_closed_conversations_with_their_latest_cids,
    conversations_are_listed_newest_first_by_page_and_filter,
    conversations_are_found_by_text_tag_and_date,
    reports_count_days_answers_closes_and_ratings_per_agent_and_site,
    text_of_every_script_and_emoji_comes_back_unchanged,
    page_views_and_visitors_are_kept_per_tenant,
    leave_messages_keep_their_first_handler,
    quick_replies_are_shared_or_an_agents_own,
    the_first_server_key_stays,
    an_import_is_stored_whole_or_not_at_all,
];

fn main() -> ExitCode {
    let filter: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let mut ran = 0;
        ran += run("sqlite", &filter, || async { Some(TestDb::sqlite()) }).await;
        ran += run("mariadb", &filter, || async { Some(TestDb::mariadb().await) }).await;
        ran += run("sqlserver", &filter, mssql).await;
        println!("store contract: {ran} cases passed");
    });
    ExitCode::SUCCESS
}

/// Runs the cases on a fresh database of one backend each; `None` from `db` skips the backend.
async fn run<F, D>(backend: &str, filter: &[String], db: F) -> usize
where
    F: Fn() -> D,
    D: Future<Output = Option<TestDb>>,
{
    let mut ran = 0;
    for (name, case) in CASES.iter().filter(|(name, _)| filter.iter().all(|f| name.contains(f.as_str()))) {
        let Some(db) = db().await else { return 0 };
        let store = store::open(&db.url).await.unwrap_or_else(|e| panic!("{backend}: open: {e:#}"));
        println!("store contract on {backend}: {name} ...");
        case(Arc::clone(&store)).await;
        store.close().await;
        ran += 1;
    }
    ran
}

/// A database on the SQL Server `KEFU_TEST_MSSQL_URL` names, if it names one.
#[cfg(feature = "mssql")]
async fn mssql() -> Option<TestDb> {
    match TestDb::mssql().await {
        Some(db) => Some(db),
        None => {
            println!(
                "store contract on sqlserver: skipped (set KEFU_TEST_MSSQL_URL=mssql://USER:PASSWORD@HOST:1433 to run it)"
            );
            None
        }
    }
}

#[cfg(not(feature = "mssql"))]
async fn mssql() -> Option<TestDb> {
    println!("store contract on sqlserver: skipped (built without the mssql feature)");
    None
}

// ---------------------------------------------------------------------------------------------
// Fixtures

async fn tenant_with_site(store: &Arc<dyn Store>, name: &str) -> (Tenant, SiteId) {
    let tenant = store.create_tenant(name, Millis(1)).await.unwrap();
    let site = store
        .create_site(&tenant.id, NewSite { name: format!("{name} shop"), ..NewSite::default() }, Millis(2))
        .await
        .unwrap();
    (tenant, site.id)
}

fn new_agent(email: &str, sites: Vec<SiteId>) -> NewAgent {
    NewAgent {
        email: email.to_owned(),
        name: "Ana".into(),
        role: Role::Agent,
        capacity: 3,
        all_sites: sites.is_empty(),
        sites,
        password_hash: "hash".into(),
    }
}

fn record(tenant: &TenantId, site: &SiteId, id: &str, status: ConversationStatus) -> ConversationRecord {
    ConversationRecord {
        tenant: tenant.clone(),
        site: site.clone(),
        id: ConversationId::from(id),
        visitor: VisitorId::from("v1"),
        status,
        agent: None,
        started_at: Millis(1_000),
        closed_at: (status == ConversationStatus::Closed).then_some(Millis(2_000)),
        rating: None,
        rating_comment: None,
        visitor_read_seq: 0,
        agent_read_seq: 0,
    }
}

fn message(tenant: &TenantId, site: &SiteId, conversation: &str, seq: u64) -> WriteOp {
    WriteOp::Message {
        tenant: tenant.clone(),
        message: MessageView {
            site: site.clone(),
            conversation: ConversationId::from(conversation),
            seq,
            sender: Sender { party: Party::Visitor, id: Some("v1".into()), name: None },
            kind: if seq == 2 { MessageKind::Note } else { MessageKind::Text },
            body: format!("message {seq}"),
            cid: Some(Cid(format!("cid-{seq}"))),
            at: Millis(1_000 + seq),
            event: None,
            attachment: (seq == 3).then(|| AttachmentView {
                id: "f_0193f2a4b7c87d21b0e1a2b3c4d5e6f7".into(),
                name: "写真 ✓.jpg".into(),
                size: 48_213,
                content_type: "image/jpeg".into(),
                width: Some(640),
                height: Some(480),
            }),
        },
    }
}

fn page_view(tenant: &TenantId, site: &SiteId, visitor: &str, url: &str, at: u64) -> WriteOp {
    WriteOp::PageView(PageViewRecord {
        tenant: tenant.clone(),
        site: site.clone(),
        visitor: VisitorId::from(visitor),
        page: PageInfo { url: url.into(), title: "Page".into(), referrer: String::new() },
        keywords: None,
        at: Millis(at),
    })
}

fn all_messages(conversation: &str) -> MessageRange {
    MessageRange {
        conversation: ConversationId::from(conversation),
        after_seq: 0,
        through_seq: 10_000,
        limit: 1_000,
        include_notes: true,
    }
}

// ---------------------------------------------------------------------------------------------
// Cases

async fn tenants_are_listed_oldest_first_and_read_by_id(store: Arc<dyn Store>) {
    let acme = store.create_tenant("Acme", Millis(10)).await.unwrap();
    let globex = store.create_tenant("Globex", Millis(20)).await.unwrap();
    let names: Vec<_> = store.list_tenants().await.unwrap().into_iter().map(|t| t.name).collect();
    assert_eq!(names, ["Acme", "Globex"]);
    assert_eq!(store.tenant(&globex.id).await.unwrap(), Some(globex));
    assert_eq!(store.tenant(&acme.id).await.unwrap().unwrap().created_at, Millis(10));
    assert_eq!(store.tenant(&TenantId::from("t_nobody")).await.unwrap(), None);
}

async fn sites_are_changed_and_deleted_only_by_their_tenant(store: Arc<dyn Store>) {
    let (acme, _) = tenant_with_site(&store, "Acme").await;
    let (globex, _) = tenant_with_site(&store, "Globex").await;
    let site = NewSite {
        name: "Blog".into(),
        allowed_origins: vec!["https://blog.acme.example".into()],
        greeting: "Hi".into(),
        auto_assign: false,
        color: Some("#aa3300".into()),
        ..NewSite::default()
    };
    let blog = store.create_site(&acme.id, site, Millis(5)).await.unwrap();
    assert_eq!(store.site_by_key_any_tenant(&blog.key).await.unwrap().as_ref(), Some(&blog));
    assert_eq!(store.site_any_tenant(&blog.id).await.unwrap().as_ref(), Some(&blog));
    assert_eq!(store.site_any_tenant(&SiteId("s_nobody".into())).await.unwrap(), None);
    let widget = WidgetView { color: "#aa3300".into(), ..WidgetView::default() };
    assert_eq!(blog.widget, widget, "what was not given is the default");
    assert_eq!(store.list_sites(&acme.id).await.unwrap().len(), 2);

    // Another tenant can neither read, change nor delete it.
    assert_eq!(store.site(&globex.id, &blog.id).await.unwrap(), None);
    let rename = SitePatch { name: Some("Stolen".into()), ..SitePatch::default() };
    assert_eq!(store.update_site(&globex.id, &blog.id, rename.clone()).await.unwrap(), None);
    assert!(!store.delete_site(&globex.id, &blog.id).await.unwrap());

    // A patch changes what it names and keeps the rest.
    let changed = store.update_site(&acme.id, &blog.id, rename).await.unwrap().unwrap();
    assert_eq!((changed.name.as_str(), changed.greeting.as_str()), ("Stolen", "Hi"));
    assert_eq!(changed.allowed_origins, ["https://blog.acme.example"]);
    assert!(!changed.auto_assign);
    let on = SitePatch { auto_assign: Some(true), allowed_origins: Some(vec![]), ..SitePatch::default() };
    let changed = store.update_site(&acme.id, &blog.id, on).await.unwrap().unwrap();
    assert!(changed.auto_assign && changed.allowed_origins.is_empty());
    let look = SitePatch {
        position: Some(WidgetPosition::Left),
        offline_form: Some(false),
        languages: Some(vec!["en".into()]),
        ..SitePatch::default()
    };
    let changed = store.update_site(&acme.id, &blog.id, look).await.unwrap().unwrap();
    let widget = WidgetView {
        color: "#aa3300".into(),
        position: WidgetPosition::Left,
        offline_form: false,
        languages: vec!["en".into()],
    };
    assert_eq!(changed.widget, widget);

    // The identity secret: set, replaced, cleared; only by the site's tenant.
    let secret = IdentitySecret("a secret of 43 characters, base64url or not".into());
    assert!(!store.set_identity_secret(&globex.id, &blog.id, Some(&secret)).await.unwrap());
    assert_eq!(store.site(&acme.id, &blog.id).await.unwrap().unwrap().identity_secret, None);
    assert!(store.set_identity_secret(&acme.id, &blog.id, Some(&secret)).await.unwrap());
    let found = store.site_by_key_any_tenant(&blog.key).await.unwrap().unwrap();
    assert_eq!(found.identity_secret, Some(secret));
    assert!(store.set_identity_secret(&acme.id, &blog.id, None).await.unwrap());
    assert_eq!(store.site(&acme.id, &blog.id).await.unwrap().unwrap().identity_secret, None);

    assert!(store.delete_site(&acme.id, &blog.id).await.unwrap());
    assert_eq!(store.site_by_key_any_tenant(&blog.key).await.unwrap(), None);
    assert!(!store.delete_site(&acme.id, &blog.id).await.unwrap(), "deleted once");
}

async fn agent_emails_are_unique_within_a_tenant_whatever_their_case(store: Arc<dyn Store>) {
    let (acme, _) = tenant_with_site(&store, "Acme").await;
    let (globex, _) = tenant_with_site(&store, "Globex").await;
    let ana = store.create_agent(&acme.id, new_agent("Ana@Acme.example", vec![]), Millis(3)).await.unwrap();
    assert_eq!(ana.email, "ana@acme.example", "stored lower-case");
    let again = store.create_agent(&acme.id, new_agent("ANA@acme.example", vec![]), Millis(4)).await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
    // Another tenant may employ someone with the same email.
    let theirs =
        store.create_agent(&globex.id, new_agent("ANA@acme.example", vec![]), Millis(5)).await.unwrap();
    let found = store.agents_by_email("ana@ACME.example").await.unwrap();
    let found: Vec<(&AgentId, &TenantId, &str)> =
        found.iter().map(|(agent, hash)| (&agent.id, &agent.tenant, hash.as_str())).collect();
    assert_eq!(found, [(&ana.id, &acme.id, "hash"), (&theirs.id, &globex.id, "hash")], "oldest first");
    assert_eq!(store.agent(&globex.id, &ana.id).await.unwrap(), None, "another tenant's agent");
    assert!(!store.delete_agent(&globex.id, &ana.id).await.unwrap());
    assert!(store.delete_agent(&acme.id, &ana.id).await.unwrap());
    let left = store.agents_by_email("ana@acme.example").await.unwrap();
    assert_eq!(left.iter().map(|(agent, _)| &agent.id).collect::<Vec<_>>(), [&theirs.id]);
}

async fn agents_serve_only_their_own_tenants_sites(store: Arc<dyn Store>) {
    let (acme, shop) = tenant_with_site(&store, "Acme").await;
    let (globex, theirs) = tenant_with_site(&store, "Globex").await;
    let refused =
        store.create_agent(&acme.id, new_agent("bo@acme.example", vec![theirs.clone()]), Millis(3)).await;
    assert!(matches!(refused, Err(StoreError::Invalid(_))), "{refused:?}");
    assert!(store.agents_by_email("bo@acme.example").await.unwrap().is_empty(), "nothing half-made");

    let bo = store
        .create_agent(&acme.id, new_agent("bo@acme.example", vec![shop.clone()]), Millis(3))
        .await
        .unwrap();
    assert!(!bo.all_sites && bo.serves(&shop) && !bo.serves(&theirs));
    let everywhere = AgentPatch { all_sites: Some(true), ..AgentPatch::default() };
    let bo = store.update_agent(&acme.id, &bo.id, everywhere).await.unwrap().unwrap();
    assert!(bo.all_sites && bo.sites.is_empty());
    // A list of sites alone means "only these".
    let only = AgentPatch { sites: Some(vec![shop.clone(), shop.clone()]), ..AgentPatch::default() };
    let bo = store.update_agent(&acme.id, &bo.id, only).await.unwrap().unwrap();
    assert_eq!((bo.all_sites, bo.sites.clone()), (false, vec![shop.clone()]));
    let foreign = AgentPatch { sites: Some(vec![theirs]), ..AgentPatch::default() };
    assert!(matches!(store.update_agent(&acme.id, &bo.id, foreign).await, Err(StoreError::Invalid(_))));
    assert_eq!(store.agent(&acme.id, &bo.id).await.unwrap().unwrap().sites, vec![shop.clone()], "unchanged");
    let rename = AgentPatch { name: Some("Bo".into()), ..AgentPatch::default() };
    assert_eq!(store.update_agent(&globex.id, &bo.id, rename).await.unwrap(), None);

    // Deleting the site leaves the agent serving fewer sites, never more.
    assert!(store.delete_site(&acme.id, &shop).await.unwrap());
    let listed = store.list_agents(&acme.id).await.unwrap();
    let bo = listed.iter().find(|a| a.id == bo.id).unwrap();
    assert!(!bo.all_sites && bo.sites.is_empty());
}

fn token(agent: &AgentId, tenant: &TenantId, hash: &str, expires_at: u64) -> RefreshToken {
    RefreshToken {
        hash: hash.into(),
        tenant: tenant.clone(),
        agent: agent.clone(),
        expires_at: Millis(expires_at),
    }
}

async fn disabling_an_agent_or_a_new_password_ends_their_sessions(store: Arc<dyn Store>) {
    let (acme, _) = tenant_with_site(&store, "Acme").await;
    let ana = store.create_agent(&acme.id, new_agent("ana@acme.example", vec![]), Millis(3)).await.unwrap();
    store.save_refresh_token(token(&ana.id, &acme.id, "r1", 10_000), Millis(5)).await.unwrap();
    let off = AgentPatch { disabled: Some(true), ..AgentPatch::default() };
    assert!(store.update_agent(&acme.id, &ana.id, off).await.unwrap().unwrap().disabled);
    assert_eq!(store.take_refresh_token("r1").await.unwrap(), None);

    store.save_refresh_token(token(&ana.id, &acme.id, "r2", 10_000), Millis(5)).await.unwrap();
    assert!(store.set_password(&acme.id, &ana.id, "new hash").await.unwrap());
    assert_eq!(store.take_refresh_token("r2").await.unwrap(), None);
    let (_, hash) = store.agents_by_email("ana@acme.example").await.unwrap().remove(0);
    assert_eq!(hash, "new hash");

    // Each end of sessions starts a new token generation: disabling, the new password, a new
    // role, "log out everywhere".
    let generation = |store: Arc<dyn Store>, agent: AgentId| async move {
        store.session_states_any_tenant(&[agent]).await.unwrap().first().map(|(_, generation, _)| *generation)
    };
    assert_eq!(generation(store.clone(), ana.id.clone()).await, Some(2));
    let promoted = AgentPatch { role: Some(Role::Admin), ..AgentPatch::default() };
    store.update_agent(&acme.id, &ana.id, promoted).await.unwrap();
    assert_eq!(generation(store.clone(), ana.id.clone()).await, Some(3));
    let renamed = AgentPatch { name: Some("Ana L.".into()), ..AgentPatch::default() };
    store.update_agent(&acme.id, &ana.id, renamed).await.unwrap();
    assert_eq!(generation(store.clone(), ana.id.clone()).await, Some(3), "a new name keeps the sessions");
    store.save_refresh_token(token(&ana.id, &acme.id, "r3", 10_000), Millis(5)).await.unwrap();
    let (globex, _) = tenant_with_site(&store, "Globex").await;
    assert!(!store.end_sessions(&globex.id, &ana.id).await.unwrap(), "another tenant's agent");
    assert!(store.end_sessions(&acme.id, &ana.id).await.unwrap());
    assert_eq!(store.take_refresh_token("r3").await.unwrap(), None);
    let states = store.session_states_any_tenant(&[ana.id.clone(), AgentId::from("a_gone")]).await.unwrap();
    assert_eq!(states, [(ana.id.clone(), 4, true)], "the one that exists, disabled");
    assert_eq!(store.agent(&acme.id, &ana.id).await.unwrap().unwrap().token_generation, 4);
    assert!(store.session_states_any_tenant(&[]).await.unwrap().is_empty());
}

async fn a_refresh_token_is_taken_once(store: Arc<dyn Store>) {
    let (acme, _) = tenant_with_site(&store, "Acme").await;
    let ana = store.create_agent(&acme.id, new_agent("ana@acme.example", vec![]), Millis(3)).await.unwrap();
    store.save_refresh_token(token(&ana.id, &acme.id, "old", 100), Millis(5)).await.unwrap();
    store.save_refresh_token(token(&ana.id, &acme.id, "live", 10_000), Millis(5)).await.unwrap();
    // Saving at 200 drops the agent's tokens that expired by then.
    store.save_refresh_token(token(&ana.id, &acme.id, "newer", 10_000), Millis(200)).await.unwrap();
    assert_eq!(store.take_refresh_token("old").await.unwrap(), None);
    let taken = store.take_refresh_token("live").await.unwrap().unwrap();
    assert_eq!((&taken.agent, taken.expires_at), (&ana.id, Millis(10_000)));
    assert_eq!(store.take_refresh_token("live").await.unwrap(), None, "used once");
    // One agent logging in on several devices (or cluster nodes) at once: every session is kept.
    let logins = (0..64).map(|n| {
        let store = Arc::clone(&store);
        let token = token(&ana.id, &acme.id, &format!("device {n}"), 20_000);
        tokio::spawn(async move { store.save_refresh_token(token, Millis(300)).await })
    });
    for login in logins.collect::<Vec<_>>() {
        login.await.unwrap().unwrap();
    }
    for n in 0..64 {
        assert!(store.take_refresh_token(&format!("device {n}")).await.unwrap().is_some(), "device {n}");
    }
}

async fn a_batch_commits_whole_keeps_the_last_state_and_can_be_retried(store: Arc<dyn Store>) {
    let (acme, site) = tenant_with_site(&store, "Acme").await;
    let mut writes = vec![WriteOp::Conversation(record(&acme.id, &site, "c1", ConversationStatus::Waiting))];
    writes.extend((1..=3).map(|seq| message(&acme.id, &site, "c1", seq)));
    let mut open = record(&acme.id, &site, "c1", ConversationStatus::Open);
    open.agent = Some(AgentId::from("a1"));
    open.visitor_read_seq = 3;
    writes.push(WriteOp::Conversation(open));
    writes.push(page_view(&acme.id, &site, "v1", "/pricing", 1_500));
    store.apply_writes(&writes).await.unwrap();
    // The commit's answer was lost: the writer sends the same batch again.
    store.apply_writes(&writes).await.unwrap();

    let summary = store.conversation(&acme.id, &ConversationId::from("c1")).await.unwrap().unwrap();
    let view = &summary.conversation;
    assert_eq!((view.status, view.last_seq, view.visitor_read_seq), (ConversationStatus::Open, 3, 3));
    assert_eq!(view.agent, Some(AgentId::from("a1")));
    assert_eq!(summary.last_message_at, Some(Millis(1_003)));
    let stored = store.messages(&acme.id, &all_messages("c1")).await.unwrap();
    let bodies: Vec<_> = stored.iter().map(|m| m.body.as_str()).collect();
    assert_eq!(bodies, ["message 1", "message 2", "message 3"]);
    let WriteOp::Message { message: sent, .. } = message(&acme.id, &site, "c1", 3) else { unreachable!() };
    assert_eq!(stored[2], sent, "a message comes back whole, its file too");
    assert_eq!(stored[0].attachment, None);
    let visible = MessageRange { include_notes: false, ..all_messages("c1") };
    assert_eq!(store.messages(&acme.id, &visible).await.unwrap().len(), 2, "the note is for agents");
    let gap = MessageRange { after_seq: 1, through_seq: 2, ..all_messages("c1") };
    assert_eq!(store.messages(&acme.id, &gap).await.unwrap()[0].seq, 2);
    let first = MessageRange { limit: 1, ..all_messages("c1") };
    assert_eq!(store.messages(&acme.id, &first).await.unwrap().len(), 1);

    // Another tenant reads nothing of it, and its writes cannot change it.
    let (globex, theirs) = tenant_with_site(&store, "Globex").await;
    assert!(store.messages(&globex.id, &all_messages("c1")).await.unwrap().is_empty());
    assert!(store.conversation(&globex.id, &ConversationId::from("c1")).await.unwrap().is_none());
    let hijack = record(&globex.id, &theirs, "c1", ConversationStatus::Closed);
    store.apply_writes(&[WriteOp::Conversation(hijack)]).await.unwrap();
    let summary = store.conversation(&acme.id, &ConversationId::from("c1")).await.unwrap().unwrap();
    assert_eq!(summary.conversation.status, ConversationStatus::Open);
    assert_eq!(
        store.page_views(&acme.id, &VisitorId::from("v1"), 10).await.unwrap().len(),
        1,
        "the page view of a batch stored twice is one view"
    );
    // Two tabs opening the same page in the same millisecond: one view; another moment: another.
    let twice =
        [page_view(&acme.id, &site, "v1", "/cart", 1_600), page_view(&acme.id, &site, "v1", "/cart", 1_600)];
    store.apply_writes(&twice).await.unwrap();
    store.apply_writes(&[page_view(&acme.id, &site, "v1", "/cart", 1_700)]).await.unwrap();
    assert_eq!(store.page_views(&acme.id, &VisitorId::from("v1"), 10).await.unwrap().len(), 3);
}

async fn a_room_loads_open_and_recently_closed_conversations_with_their_latest_cids(store: Arc<dyn Store>) {
    let (acme, site) = tenant_with_site(&store, "Acme").await;
    let mut writes = vec![
        WriteOp::Conversation(record(&acme.id, &site, "open", ConversationStatus::Open)),
        WriteOp::Conversation(record(&acme.id, &site, "closed", ConversationStatus::Closed)),
    ];
    writes.extend((1..=300).map(|seq| message(&acme.id, &site, "open", seq)));
    store.apply_writes(&writes).await.unwrap();

    let loaded = store.room_conversations(&acme.id, &site, Millis(1_500)).await.unwrap();
    assert_eq!(loaded.len(), 2, "closed at 2000, after the cut-off of 1500");
    let open = loaded.iter().find(|c| c.record.id.as_str() == "open").unwrap();
    assert_eq!((open.last_seq, open.last_activity), (300, Millis(1_300)));
    assert_eq!(open.recent_cids.len(), chat_core::limits::CID_WINDOW);
    assert_eq!(open.recent_cids.last(), Some(&("v1".to_owned(), Cid::from("cid-300"), 300)), "oldest first");
    let later = store.room_conversations(&acme.id, &site, Millis(2_500)).await.unwrap();
    assert_eq!(later.len(), 1, "closed before the cut-off: not loaded");
    let (globex, _) = tenant_with_site(&store, "Globex").await;
    assert!(store.room_conversations(&globex.id, &site, Millis(0)).await.unwrap().is_empty());
}

async fn conversations_are_listed_newest_first_by_page_and_filter(store: Arc<dyn Store>) {
    let (acme, shop) = tenant_with_site(&store, "Acme").await;
    let blog =
        store.create_site(&acme.id, NewSite { name: "Blog".into(), ..NewSite::default() }, Millis(3)).await;
    let blog = blog.unwrap().id;
    let mut writes = Vec::new();
    for n in 0..7 {
        let site = if n % 2 == 0 { &shop } else { &blog };
        let status = if n < 3 { ConversationStatus::Closed } else { ConversationStatus::Open };
        let mut conversation = record(&acme.id, site, &format!("c_{n:02}"), status);
        conversation.visitor = VisitorId(format!("v{}", n % 3));
        writes.push(WriteOp::Conversation(conversation));
    }
    store.apply_writes(&writes).await.unwrap();

    let ids = |page: Vec<origin_api::store::ConversationSummary>| -> Vec<String> {
        page.into_iter().map(|c| c.conversation.id.as_str().to_owned()).collect()
    };
    let first = ConversationQuery { limit: Some(3), ..ConversationQuery::default() };
    assert_eq!(ids(store.list_conversations(&acme.id, &first).await.unwrap()), ["c_06", "c_05", "c_04"]);
    let next = ConversationQuery { before: Some("c_04".into()), ..first.clone() };
    assert_eq!(ids(store.list_conversations(&acme.id, &next).await.unwrap()), ["c_03", "c_02", "c_01"]);
    let by_site = ConversationQuery { site: Some(blog.clone()), ..ConversationQuery::default() };
    assert_eq!(ids(store.list_conversations(&acme.id, &by_site).await.unwrap()), ["c_05", "c_03", "c_01"]);
    let closed =
        ConversationQuery { status: Some(ConversationStatus::Closed), ..ConversationQuery::default() };
    assert_eq!(ids(store.list_conversations(&acme.id, &closed).await.unwrap()), ["c_02", "c_01", "c_00"]);
    let visitor = ConversationQuery { visitor: Some(VisitorId::from("v1")), ..ConversationQuery::default() };
    assert_eq!(ids(store.list_conversations(&acme.id, &visitor).await.unwrap()), ["c_04", "c_01"]);
    let agents_sites = ConversationQuery { sites: Some(vec![shop.clone()]), ..ConversationQuery::default() };
    assert_eq!(
        ids(store.list_conversations(&acme.id, &agents_sites).await.unwrap()),
        ["c_06", "c_04", "c_02", "c_00"]
    );
    let no_sites = ConversationQuery { sites: Some(vec![]), ..ConversationQuery::default() };
    assert!(store.list_conversations(&acme.id, &no_sites).await.unwrap().is_empty());
    let (globex, _) = tenant_with_site(&store, "Globex").await;
    assert!(store.list_conversations(&globex.id, &ConversationQuery::default()).await.unwrap().is_empty());
}

async fn conversations_are_found_by_text_tag_and_date(store: Arc<dyn Store>) {
    let (acme, shop) = tenant_with_site(&store, "Acme").await;
    let (globex, globex_shop) = tenant_with_site(&store, "Globex").await;
    let said =
        |tenant: &TenantId, site: &SiteId, conversation: &str, seq: u64, kind: MessageKind, body: &str| {
            let WriteOp::Message { tenant, mut message } = message(tenant, site, conversation, seq) else {
                unreachable!()
            };
            message.kind = kind;
            message.body = body.to_owned();
            message.attachment = None;
            WriteOp::Message { tenant, message }
        };
    let mut writes = Vec::new();
    for (id, started) in [("c_a", 1_000), ("c_b", 5_000), ("c_c", 9_000)] {
        let mut conversation = record(&acme.id, &shop, id, ConversationStatus::Open);
        conversation.started_at = Millis(started);
        writes.push(WriteOp::Conversation(conversation));
    }
    writes.push(WriteOp::Conversation(record(&globex.id, &globex_shop, "c_g", ConversationStatus::Open)));
    writes.push(said(&acme.id, &shop, "c_a", 1, MessageKind::Text, "Do you Ship lamps to Norway?"));
    writes.push(said(&acme.id, &shop, "c_b", 1, MessageKind::Text, "我想买一张橡木桌子"));
    writes.push(said(&acme.id, &shop, "c_c", 1, MessageKind::Event, "Ana joined the conversation"));
    writes.push(said(&acme.id, &shop, "c_c", 2, MessageKind::Note, "100% cotton_shirt, ask the warehouse"));
    writes.push(said(&globex.id, &globex_shop, "c_g", 1, MessageKind::Text, "Ship to Norway too"));
    store.apply_writes(&writes).await.unwrap();

    let found = |query: ConversationQuery| {
        let store = store.clone();
        let tenant = acme.id.clone();
        async move {
            let page = store.list_conversations(&tenant, &query).await.unwrap();
            page.into_iter().map(|c| c.conversation.id.as_str().to_owned()).collect::<Vec<_>>()
        }
    };
    let text = |q: &str| ConversationQuery { q: Some(q.into()), ..ConversationQuery::default() };
    assert_eq!(found(text("ship")).await, ["c_a"], "a word, another case, not another tenant's");
    assert_eq!(found(text("SHIP LAMPS")).await, ["c_a"], "words in a row");
    assert_eq!(found(text("norway")).await, ["c_a"]);
    assert_eq!(found(text("橡木")).await, ["c_b"], "two Chinese characters");
    assert_eq!(found(text("橡木桌子")).await, ["c_b"], "four");
    assert_eq!(found(text("joined")).await, Vec::<String>::new(), "events are not searched");
    assert_eq!(found(text("100%")).await, ["c_c"], "notes are, and % is only a percent sign");
    assert_eq!(found(text("cotton%")).await, Vec::<String>::new());
    assert_eq!(found(text("cotton_shirt")).await, ["c_c"]);
    assert_eq!(found(text("cotton-shirt")).await, Vec::<String>::new(), "_ is only an underscore");
    assert_eq!(found(text("sweden")).await, Vec::<String>::new());

    assert!(
        store
            .set_tags(&acme.id, &ConversationId::from("c_a"), &["vip".into(), "shipping".into()])
            .await
            .unwrap()
    );
    assert!(store.set_tags(&acme.id, &ConversationId::from("c_b"), &["vip".into()]).await.unwrap());
    assert!(
        !store.set_tags(&acme.id, &ConversationId::from("c_g"), &["vip".into()]).await.unwrap(),
        "another tenant's conversation"
    );
    let tagged = |tag: &str| ConversationQuery { tag: Some(tag.into()), ..ConversationQuery::default() };
    assert_eq!(found(tagged("vip")).await, ["c_b", "c_a"]);
    assert_eq!(found(tagged("shipping")).await, ["c_a"]);
    assert!(store.list_conversations(&globex.id, &tagged("vip")).await.unwrap().is_empty());
    let a = store.conversation(&acme.id, &ConversationId::from("c_a")).await.unwrap().unwrap();
    assert_eq!(a.tags, ["shipping", "vip"]);
    assert!(store.set_tags(&acme.id, &ConversationId::from("c_a"), &["回头客".into()]).await.unwrap());
    let listed = store.list_conversations(&acme.id, &ConversationQuery::default()).await.unwrap();
    let tags: Vec<_> = listed.iter().map(|c| c.tags.clone()).collect();
    assert_eq!(tags, [vec![], vec!["vip".to_owned()], vec!["回头客".to_owned()]], "c_c, c_b, c_a");

    let dated = |from: Option<u64>, to: Option<u64>| ConversationQuery {
        from: from.map(Millis),
        to: to.map(Millis),
        ..ConversationQuery::default()
    };
    assert_eq!(found(dated(Some(4_000), None)).await, ["c_c", "c_b"]);
    assert_eq!(found(dated(None, Some(5_000))).await, ["c_a"]);
    assert_eq!(found(dated(Some(4_000), Some(6_000))).await, ["c_b"]);
    let all =
        ConversationQuery {
            q: Some("橡木".into()), tag: Some("vip".into()), ..dated(Some(1), Some(10_000))
        };
    assert_eq!(found(all).await, ["c_b"]);
}

async fn reports_count_days_answers_closes_and_ratings_per_agent_and_site(store: Arc<dyn Store>) {
    const SECOND: u64 = 1_000;
    const MINUTE: u64 = 60 * SECOND;
    const HOUR: u64 = 60 * MINUTE;
    // 2026-11-02 00:00 in Beijing (UTC+8) is 2026-11-01 16:00 UTC, day 20,758 after 1970-01-01.
    const NOV_2: u64 = 20_758 * 24 * HOUR + 16 * HOUR;
    const DAY: u64 = 24 * HOUR;
    let (acme, shop) = tenant_with_site(&store, "Acme").await;
    let outlet = NewSite { name: "Acme outlet".into(), ..NewSite::default() };
    let outlet = store.create_site(&acme.id, outlet, Millis(3)).await.unwrap().id;
    let (globex, globex_shop) = tenant_with_site(&store, "Globex").await;
    let ana = store.create_agent(&acme.id, new_agent("ana@acme.example", vec![]), Millis(4)).await.unwrap();
    let bo = NewAgent { name: "Bo".into(), ..new_agent("bo@acme.example", vec![]) };
    let bo = store.create_agent(&acme.id, bo, Millis(4)).await.unwrap();

    let mut writes = Vec::new();
    let conversation = |tenant: &TenantId, site: &SiteId, id: &str, agent: Option<&AgentId>, started: u64| {
        let mut record = record(tenant, site, id, ConversationStatus::Open);
        record.agent = agent.cloned();
        record.started_at = Millis(started);
        record
    };
    let closed = |mut record: ConversationRecord, after: u64, rating: Option<u8>| {
        record.status = ConversationStatus::Closed;
        record.closed_at = Some(Millis(record.started_at.0 + after));
        record.rating = rating;
        record
    };
    let said = |record: &ConversationRecord, seq: u64, party: Party, kind: MessageKind, after: u64| {
        let WriteOp::Message { tenant, mut message } =
            message(&record.tenant, &record.site, record.id.as_str(), seq)
        else {
            unreachable!()
        };
        message.sender.party = party;
        message.kind = kind;
        message.attachment = None;
        message.at = Millis(record.started_at.0 + after);
        WriteOp::Message { tenant, message }
    };
    // Ana answers in 30 s and closes in 10 minutes; rated 5.
    let c1 = closed(conversation(&acme.id, &shop, "c1", Some(&ana.id), NOV_2 + HOUR), 10 * MINUTE, Some(5));
    writes.push(said(&c1, 1, Party::Visitor, MessageKind::Text, 0));
    writes.push(said(&c1, 2, Party::Agent, MessageKind::Text, 30 * SECOND));
    // A note and an event are not answers: Ana answers in 90 s; closed in 30 minutes, rated 4.
    let c2 =
        closed(conversation(&acme.id, &shop, "c2", Some(&ana.id), NOV_2 + 2 * HOUR), 30 * MINUTE, Some(4));
    writes.push(said(&c2, 1, Party::Visitor, MessageKind::Text, 0));
    writes.push(said(&c2, 2, Party::Agent, MessageKind::Note, 5 * SECOND));
    writes.push(said(&c2, 3, Party::System, MessageKind::Event, 6 * SECOND));
    writes.push(said(&c2, 4, Party::Agent, MessageKind::Text, 90 * SECOND));
    // Nobody answers, the next day; still open.
    let c3 = conversation(&acme.id, &outlet, "c3", Some(&bo.id), NOV_2 + DAY + 3 * HOUR);
    writes.push(said(&c3, 1, Party::Visitor, MessageKind::Text, 0));
    // Bo invites; the visitor writes a minute later and Bo answers 10 s after that; rated 2.
    let c4 = closed(
        conversation(&acme.id, &outlet, "c4", Some(&bo.id), NOV_2 + DAY + 4 * HOUR),
        5 * MINUTE,
        Some(2),
    );
    writes.push(said(&c4, 1, Party::Agent, MessageKind::Text, 0));
    writes.push(said(&c4, 2, Party::Visitor, MessageKind::Text, MINUTE));
    writes.push(said(&c4, 3, Party::Agent, MessageKind::Text, MINUTE + 10 * SECOND));
    // Outside the span: a minute before it, at its end, and another tenant's.
    let before = conversation(&acme.id, &shop, "c0", None, NOV_2 - MINUTE);
    let after = conversation(&acme.id, &shop, "c9", Some(&ana.id), NOV_2 + 2 * DAY);
    let globex_one =
        closed(conversation(&globex.id, &globex_shop, "g1", None, NOV_2 + HOUR), MINUTE, Some(1));
    for record in [c1, c2, c3, c4, before, after, globex_one] {
        writes.insert(0, WriteOp::Conversation(record));
    }
    store.apply_writes(&writes).await.unwrap();

    let span = |sites: Option<Vec<SiteId>>, site: Option<SiteId>| ReportQuery {
        from: Millis(NOV_2),
        to: Millis(NOV_2 + 2 * DAY),
        utc_offset_minutes: 480,
        site,
        sites,
    };
    let report = store.report(&acme.id, &span(None, None)).await.unwrap();
    let totals = &report.totals;
    assert_eq!((totals.conversations, totals.answered, totals.unanswered), (4, 3, 1));
    let spread = |median_ms, p90_ms| Some(report::Spread { median_ms, p90_ms });
    assert_eq!(totals.first_response, spread(30 * SECOND, 90 * SECOND), "of 10 s, 30 s and 90 s");
    assert_eq!(totals.resolution, spread(10 * MINUTE, 30 * MINUTE), "of 5, 10 and 30 minutes");
    assert_eq!(
        (totals.ratings.count, totals.ratings.average, totals.ratings.by_score),
        (3, Some(3.67), [0, 1, 0, 1, 1])
    );
    let days: Vec<_> = report.days.iter().map(|d| (d.date.as_str(), d.conversations, d.answered)).collect();
    assert_eq!(days, [("2026-11-02", 2, 2), ("2026-11-03", 2, 1)], "days in Beijing");

    let agents: Vec<_> = report.agents.iter().map(|a| (a.name.as_deref(), a.figures.conversations)).collect();
    assert_eq!(agents, [(Some("Ana"), 2), (Some("Bo"), 2)]);
    let (ana_figures, bo_figures) = (&report.agents[0].figures, &report.agents[1].figures);
    assert_eq!(report.agents[0].agent, ana.id);
    assert_eq!(ana_figures.first_response, spread(30 * SECOND, 90 * SECOND));
    assert_eq!(ana_figures.ratings.average, Some(4.5));
    assert_eq!((bo_figures.answered, bo_figures.unanswered), (1, 1));
    assert_eq!(
        bo_figures.first_response,
        spread(10 * SECOND, 10 * SECOND),
        "from the visitor's first message"
    );
    assert_eq!(bo_figures.resolution, spread(5 * MINUTE, 5 * MINUTE), "closed ones only");
    let sites: Vec<_> =
        report.sites.iter().map(|s| (&s.site, s.name.as_deref(), s.figures.answered)).collect();
    assert_eq!(sites, [(&outlet, Some("Acme outlet"), 1), (&shop, Some("Acme shop"), 2)]);

    let outlet_only = store.report(&acme.id, &span(None, Some(outlet.clone()))).await.unwrap();
    assert_eq!(outlet_only.totals.conversations, 2);
    assert_eq!(outlet_only.agents.len(), 1);
    let agents_sites = store.report(&acme.id, &span(Some(vec![shop.clone()]), None)).await.unwrap();
    assert_eq!((agents_sites.totals.conversations, agents_sites.sites.len()), (2, 1));
    let none = store.report(&acme.id, &span(Some(vec![]), None)).await.unwrap();
    assert_eq!(none.totals, report::Figures::default());
    assert_eq!(none.days.len(), 2, "empty days are listed");

    // In UTC the same span covers parts of three days.
    let utc =
        store.report(&acme.id, &ReportQuery { utc_offset_minutes: 0, ..span(None, None) }).await.unwrap();
    let days: Vec<_> = utc.days.iter().map(|d| (d.date.as_str(), d.conversations)).collect();
    assert_eq!(days, [("2026-11-01", 2), ("2026-11-02", 2), ("2026-11-03", 0)]);
    let globex_report = store.report(&globex.id, &span(None, None)).await.unwrap();
    assert_eq!((globex_report.totals.conversations, globex_report.totals.unanswered), (1, 0));
    assert!(globex_report.agents.is_empty(), "nobody had it");
}

async fn text_of_every_script_and_emoji_comes_back_unchanged(store: Arc<dyn Store>) {
    let words = "客服 — здравствуйте, مرحبا 👋🏽 \"quotes\" 'and' \\ back\\slash\n\ttabs";
    let tenant = store.create_tenant(words, Millis(1)).await.unwrap();
    let site = NewSite { name: words.into(), greeting: words.into(), ..NewSite::default() };
    let site = store.create_site(&tenant.id, site, Millis(1)).await.unwrap();
    let mut writes =
        vec![WriteOp::Conversation(record(&tenant.id, &site.id, "c1", ConversationStatus::Open))];
    let mut long = message(&tenant.id, &site.id, "c1", 1);
    if let WriteOp::Message { message, .. } = &mut long {
        message.body = "語".repeat(chat_core::limits::MAX_MESSAGE_CHARS);
        message.sender.name = Some(words.into());
    }
    writes.push(long);
    let mut short = message(&tenant.id, &site.id, "c1", 3);
    if let WriteOp::Message { message, .. } = &mut short {
        message.body = words.into();
        // The longest cid a client may send, in characters outside the Basic Multilingual Plane.
        message.cid = Some(Cid("😀".repeat(chat_core::limits::MAX_CID_CHARS)));
    }
    writes.push(short);
    store.apply_writes(&writes).await.unwrap();
    assert_eq!(store.tenant(&tenant.id).await.unwrap().unwrap().name, words);
    assert_eq!(store.site(&tenant.id, &site.id).await.unwrap().unwrap().greeting, words);
    let stored = store.messages(&tenant.id, &all_messages("c1")).await.unwrap();
    assert_eq!(stored[0].body.chars().count(), chat_core::limits::MAX_MESSAGE_CHARS);
    assert_eq!(stored[0].sender.name.as_deref(), Some(words));
    assert_eq!(stored[1].body, words);
    assert_eq!(
        stored[1].cid.as_ref().map(|c| c.as_str().chars().count()),
        Some(chat_core::limits::MAX_CID_CHARS)
    );
    // Ids differ by case only: two conversations, byte order.
    let upper = record(&tenant.id, &site.id, "C1", ConversationStatus::Open);
    store.apply_writes(&[WriteOp::Conversation(upper)]).await.unwrap();
    let listed = store.list_conversations(&tenant.id, &ConversationQuery::default()).await.unwrap();
    let ids: Vec<_> = listed.iter().map(|c| c.conversation.id.as_str()).collect();
    assert_eq!(ids, ["c1", "C1"]);
}

async fn page_views_and_visitors_are_kept_per_tenant(store: Arc<dyn Store>) {
    let (acme, site) = tenant_with_site(&store, "Acme").await;
    let (globex, theirs) = tenant_with_site(&store, "Globex").await;
    let mut writes: Vec<_> =
        (0..5).map(|n| page_view(&acme.id, &site, "v_b", &format!("/p{n}"), 100 + n)).collect();
    writes.push(page_view(&acme.id, &site, "v_a", "/", 50));
    writes.push(page_view(&globex.id, &theirs, "v_c", "/", 60));
    store.apply_writes(&writes).await.unwrap();
    let urls: Vec<_> = store
        .page_views(&acme.id, &VisitorId::from("v_b"), 3)
        .await
        .unwrap()
        .into_iter()
        .map(|v| v.url)
        .collect();
    assert_eq!(urls, ["/p4", "/p3", "/p2"], "newest first");
    let visitors = store.visitors(&acme.id, None, 10).await.unwrap();
    assert_eq!(visitors, [VisitorId::from("v_a"), VisitorId::from("v_b")]);
    let after = store.visitors(&acme.id, Some(&VisitorId::from("v_a")), 10).await.unwrap();
    assert_eq!(after, [VisitorId::from("v_b")]);
    assert!(store.page_views(&globex.id, &VisitorId::from("v_b"), 10).await.unwrap().is_empty());
}

async fn leave_messages_keep_their_first_handler(store: Arc<dyn Store>) {
    let (acme, site) = tenant_with_site(&store, "Acme").await;
    let (globex, _) = tenant_with_site(&store, "Globex").await;
    let mut ids = Vec::new();
    for n in 0..3 {
        let left = NewLeaveMessage {
            site: site.clone(),
            visitor: (n == 0).then(|| VisitorId::from("v1")),
            name: format!("Visitor {n}"),
            email: "v@example.com".into(),
            body: "Call me".into(),
            page_url: "/contact".into(),
        };
        ids.push(store.create_leave_message(&acme.id, left, Millis(10 + n)).await.unwrap().id);
    }
    let ana = AgentId::from("a_ana");
    let handled =
        store.mark_leave_message_handled(&acme.id, &ids[0], &ana, Millis(50)).await.unwrap().unwrap();
    assert_eq!((handled.handled_at, handled.handled_by.clone()), (Some(Millis(50)), Some(ana.clone())));
    let again = store.mark_leave_message_handled(&acme.id, &ids[0], &AgentId::from("a_bo"), Millis(60)).await;
    assert_eq!(again.unwrap().unwrap().handled_by, Some(ana), "the first handler stays");
    assert_eq!(
        store.mark_leave_message_handled(&globex.id, &ids[1], &AgentId::from("x"), Millis(1)).await.unwrap(),
        None
    );

    let open = LeaveMessageQuery { handled: Some(false), ..LeaveMessageQuery::default() };
    let listed = store.list_leave_messages(&acme.id, &open).await.unwrap();
    assert_eq!(listed.iter().map(|m| m.id.clone()).collect::<Vec<_>>(), [ids[2].clone(), ids[1].clone()]);
    let page =
        LeaveMessageQuery { limit: Some(1), before: Some(ids[2].clone()), ..LeaveMessageQuery::default() };
    assert_eq!(store.list_leave_messages(&acme.id, &page).await.unwrap()[0].id, ids[1]);
    assert_eq!(
        store.leave_message(&acme.id, &ids[0]).await.unwrap().unwrap().visitor,
        Some(VisitorId::from("v1"))
    );
    assert_eq!(store.leave_message(&globex.id, &ids[0]).await.unwrap(), None);
}

async fn quick_replies_are_shared_or_an_agents_own(store: Arc<dyn Store>) {
    let (acme, _) = tenant_with_site(&store, "Acme").await;
    let (globex, _) = tenant_with_site(&store, "Globex").await;
    let ana = store.create_agent(&acme.id, new_agent("ana@acme.example", vec![]), Millis(3)).await.unwrap();
    let bo = store.create_agent(&acme.id, new_agent("bo@acme.example", vec![]), Millis(3)).await.unwrap();
    let reply = |agent: Option<&AgentId>, title: &str| NewQuickReply {
        agent: agent.cloned(),
        title: title.into(),
        body: format!("{title} body"),
    };
    let shared = store.create_quick_reply(&acme.id, reply(None, "b shared"), Millis(4)).await.unwrap();
    store.create_quick_reply(&acme.id, reply(Some(&ana.id), "a mine"), Millis(4)).await.unwrap();
    store.create_quick_reply(&acme.id, reply(Some(&bo.id), "c bo's"), Millis(4)).await.unwrap();
    let titles = |replies: Vec<origin_api::store::QuickReply>| -> Vec<String> {
        replies.into_iter().map(|r| r.title).collect()
    };
    assert_eq!(titles(store.list_quick_replies(&acme.id, &ana.id).await.unwrap()), ["a mine", "b shared"]);
    assert_eq!(titles(store.list_quick_replies(&acme.id, &bo.id).await.unwrap()), ["b shared", "c bo's"]);
    assert!(store.list_quick_replies(&globex.id, &ana.id).await.unwrap().is_empty());

    let patch = QuickReplyPatch { body: Some("new body".into()), ..QuickReplyPatch::default() };
    assert_eq!(store.update_quick_reply(&globex.id, &shared.id, patch.clone()).await.unwrap(), None);
    let changed = store.update_quick_reply(&acme.id, &shared.id, patch).await.unwrap().unwrap();
    assert_eq!((changed.title.as_str(), changed.body.as_str()), ("b shared", "new body"));
    assert!(!store.delete_quick_reply(&globex.id, &shared.id).await.unwrap());
    assert!(store.delete_quick_reply(&acme.id, &shared.id).await.unwrap());
    assert_eq!(store.quick_reply(&acme.id, &shared.id).await.unwrap(), None);
}

async fn the_first_server_key_stays(store: Arc<dyn Store>) {
    assert_eq!(store.server_key("signing").await.unwrap(), None);
    let first = store.init_server_key("signing", &[1, 2, 3, 0, 255], Millis(1)).await.unwrap();
    assert_eq!(first, [1, 2, 3, 0, 255]);
    let second = store.init_server_key("signing", &[9, 9], Millis(2)).await.unwrap();
    assert_eq!(second, first, "a second server starting at once keeps the first key");
}

async fn an_import_is_stored_whole_or_not_at_all(store: Arc<dyn Store>) {
    let (acme, acme_site) = tenant_with_site(&store, "Acme").await;
    store.create_agent(&acme.id, new_agent("ana@acme.example", vec![]), Millis(3)).await.unwrap();

    let incoming = Tenant { id: TenantId::from("t_moved"), name: "Moved".into(), created_at: Millis(7) };
    let site = origin_api::store::Site {
        tenant: incoming.id.clone(),
        id: SiteId::from("s_moved"),
        key: "k_moved".into(),
        name: "Moved shop".into(),
        allowed_origins: vec![],
        greeting: "Hi".into(),
        auto_assign: true,
        widget: WidgetView { color: "#123456".into(), ..WidgetView::default() },
        identity_secret: Some(IdentitySecret("moved secret".into())),
        created_at: Millis(8),
    };
    let agent = |email: &str| TenantRecord::Agent {
        agent: origin_api::store::Agent {
            tenant: incoming.id.clone(),
            id: AgentId(format!("a_{email}")),
            email: email.into(),
            name: "Moved agent".into(),
            role: Role::Owner,
            capacity: 4,
            all_sites: false,
            sites: vec![SiteId::from("s_moved")],
            disabled: false,
            created_at: Millis(9),
            token_generation: 3,
        },
        password_hash: "moved hash".into(),
    };
    let mut records = vec![
        Ok(TenantRecord::Site(site.clone())),
        Ok(agent("New@Moved.example")), // found in any case, as agents made here are
        Ok(TenantRecord::Write(WriteOp::Conversation(record(
            &incoming.id,
            &site.id,
            "c_moved",
            ConversationStatus::Closed,
        )))),
        Ok(TenantRecord::Write(message(&incoming.id, &site.id, "c_moved", 1))),
        Err("line 6: not a record".to_owned()),
    ];

    // A bad line at the end: nothing of the tenant is stored.
    let failed = store.import_tenant(&incoming, &mut records.clone().into_iter()).await;
    assert!(matches!(&failed, Err(StoreError::Invalid(e)) if e.contains("line 6")), "{failed:?}");
    assert_eq!(store.tenant(&incoming.id).await.unwrap(), None);
    assert_eq!(store.site_by_key_any_tenant("k_moved").await.unwrap(), None);
    assert!(store.agents_by_email("new@moved.example").await.unwrap().is_empty());

    // A site key another tenant has: refused whole.
    records.pop();
    let mut clashing = records.clone();
    let taken_key = store.site(&acme.id, &acme_site).await.unwrap().unwrap().key;
    let clash = origin_api::store::Site { id: SiteId::from("s_clash"), key: taken_key, ..site.clone() };
    clashing.push(Ok(TenantRecord::Site(clash)));
    let failed = store.import_tenant(&incoming, &mut clashing.into_iter()).await;
    assert!(matches!(failed, Err(StoreError::Conflict(_))), "{failed:?}");
    assert_eq!(store.tenant(&incoming.id).await.unwrap(), None);
    // An email another tenant has is no clash: the tenants' staff are their own.
    records.push(Ok(agent("ana@acme.example")));

    let counts = store.import_tenant(&incoming, &mut records.clone().into_iter()).await.unwrap();
    assert_eq!((counts.sites, counts.agents, counts.conversations, counts.messages), (1, 2, 1, 1));
    assert_eq!(store.tenant(&incoming.id).await.unwrap(), Some(incoming.clone()));
    let anas = store.agents_by_email("ana@acme.example").await.unwrap();
    assert_eq!(anas.iter().map(|(agent, _)| &agent.tenant).collect::<Vec<_>>(), [&acme.id, &incoming.id]);
    assert_eq!(store.site(&incoming.id, &site.id).await.unwrap(), Some(site.clone()), "with its secret");
    let (moved, hash) = store.agents_by_email("new@moved.example").await.unwrap().remove(0);
    assert_eq!((moved.sites, hash.as_str()), (vec![site.id.clone()], "moved hash"));
    assert_eq!(moved.token_generation, 3, "tokens ended before the move stay ended");
    let stored = store.messages(&incoming.id, &all_messages("c_moved")).await.unwrap();
    assert_eq!(stored.len(), 1);
    // Once is all: the tenant exists now.
    let again = store.import_tenant(&incoming, &mut records.into_iter()).await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
    assert_eq!(store.list_sites(&acme.id).await.unwrap()[0].id, acme_site, "the other tenant untouched");
}
