//! The store contract, against the SQLite backend: what the rooms and the API rely on.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use chat_core::ids::{Cid, ConversationId, Millis, SiteId, TenantId, VisitorId};
use chat_core::protocol::{ConversationStatus, MessageKind, MessageView, PageInfo, Party, Sender};
use chat_core::records::{ConversationRecord, PageViewRecord, WriteOp};
use origin_api::store::{self, MessageRange, NewSite, Store};

async fn open() -> (Arc<dyn Store>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = store::open(&format!("sqlite:{}", dir.path().join("kefu.db").display())).await.unwrap();
    (store, dir)
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
        },
    }
}

#[tokio::test]
async fn a_batch_commits_whole_keeps_the_last_state_and_can_be_retried() {
    let (store, _dir) = open().await;
    let tenant = store.create_tenant("Acme", Millis(1)).await.unwrap();
    let site = store
        .create_site(&tenant.id, NewSite { name: "Shop".into(), ..NewSite::default() }, Millis(1))
        .await
        .unwrap();
    let mut writes =
        vec![WriteOp::Conversation(record(&tenant.id, &site.id, "c1", ConversationStatus::Waiting))];
    writes.extend((1..=3).map(|seq| message(&tenant.id, &site.id, "c1", seq)));
    writes.push(WriteOp::Conversation(record(&tenant.id, &site.id, "c1", ConversationStatus::Open)));
    writes.push(WriteOp::PageView(PageViewRecord {
        tenant: tenant.id.clone(),
        site: site.id.clone(),
        visitor: VisitorId::from("v1"),
        page: PageInfo { url: "/pricing".into(), title: "Pricing".into(), referrer: String::new() },
        keywords: None,
        at: Millis(1_500),
    }));
    store.apply_writes(&writes).await.unwrap();
    // The commit's answer was lost: the writer sends the same batch again.
    store.apply_writes(&writes).await.unwrap();

    let summary = store.conversation(&tenant.id, &ConversationId::from("c1")).await.unwrap().unwrap();
    assert_eq!((summary.conversation.status, summary.conversation.last_seq), (ConversationStatus::Open, 3));
    let all = MessageRange {
        conversation: ConversationId::from("c1"),
        after_seq: 0,
        through_seq: 99,
        limit: 100,
        include_notes: true,
    };
    let bodies: Vec<_> =
        store.messages(&tenant.id, &all).await.unwrap().into_iter().map(|m| m.body).collect();
    assert_eq!(bodies, ["message 1", "message 2", "message 3"]);
    let visible = MessageRange { include_notes: false, ..all.clone() };
    assert_eq!(store.messages(&tenant.id, &visible).await.unwrap().len(), 2, "the note is for agents");
    let gap = MessageRange { after_seq: 1, through_seq: 2, ..all.clone() };
    assert_eq!(store.messages(&tenant.id, &gap).await.unwrap()[0].seq, 2);
    // Another tenant reads nothing of it.
    let other = store.create_tenant("Globex", Millis(1)).await.unwrap();
    assert!(store.messages(&other.id, &all).await.unwrap().is_empty());
    assert!(store.conversation(&other.id, &ConversationId::from("c1")).await.unwrap().is_none());
    assert_eq!(store.page_views(&tenant.id, &VisitorId::from("v1"), 10).await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_room_loads_open_and_recently_closed_conversations_with_their_latest_cids() {
    let (store, _dir) = open().await;
    let tenant = store.create_tenant("Acme", Millis(1)).await.unwrap();
    let site = store
        .create_site(&tenant.id, NewSite { name: "Shop".into(), ..NewSite::default() }, Millis(1))
        .await
        .unwrap();
    let mut writes = vec![
        WriteOp::Conversation(record(&tenant.id, &site.id, "open", ConversationStatus::Open)),
        WriteOp::Conversation(record(&tenant.id, &site.id, "closed", ConversationStatus::Closed)),
    ];
    writes.extend((1..=300).map(|seq| message(&tenant.id, &site.id, "open", seq)));
    store.apply_writes(&writes).await.unwrap();

    let loaded = store.room_conversations(&tenant.id, &site.id, Millis(1_500)).await.unwrap();
    assert_eq!(loaded.len(), 2, "closed at 2000, after the cut-off of 1500");
    let open = loaded.iter().find(|c| c.record.id.as_str() == "open").unwrap();
    assert_eq!(open.last_seq, 300);
    assert_eq!(open.recent_cids.len(), chat_core::limits::CID_WINDOW);
    assert_eq!(open.recent_cids.last(), Some(&("v1".to_owned(), Cid::from("cid-300"), 300)), "oldest first");
    let later = store.room_conversations(&tenant.id, &site.id, Millis(2_500)).await.unwrap();
    assert_eq!(later.len(), 1, "closed before the cut-off: not loaded");
}
