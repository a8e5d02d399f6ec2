//! The cluster's records — nodes and site leases with fencing numbers — on SQLite and MariaDB:
//! one holder per site however many nodes race for it, a lapsed lease taken over with a higher
//! fence, a moved site handed over, and a room that lost its site unable to store anything.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use chat_core::ids::{Cid, ConversationId, Millis, SiteId, TenantId, VisitorId};
use chat_core::protocol::{ConversationStatus, MessageKind, MessageView, Party, Sender};
use chat_core::records::{ConversationRecord, WriteOp};
use common::TestDb;
use origin_api::store::{self, MessageRange, NewSite, Store, StoreError};

const TTL: u64 = 10_000;

async fn each_backend<F, Fut>(case: F)
where
    F: Fn(Arc<dyn Store>) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for db in [TestDb::sqlite(), TestDb::mariadb().await] {
        let store = store::open(&db.url).await.unwrap_or_else(|e| panic!("{}: {e:#}", db.name));
        case(Arc::clone(&store)).await;
        store.close().await;
    }
}

async fn site(store: &Arc<dyn Store>) -> (TenantId, SiteId) {
    let tenant = store.create_tenant("Acme", Millis(1)).await.unwrap();
    let site =
        store.create_site(&tenant.id, NewSite { name: "Acme shop".into(), ..NewSite::default() }, Millis(2));
    (tenant.id.clone(), site.await.unwrap().id)
}

/// A conversation's opening and its message `seq`.
fn writes(tenant: &TenantId, site: &SiteId, seq: u64) -> Vec<WriteOp> {
    let conversation = ConversationId::from("c_fenced");
    let record = ConversationRecord {
        tenant: tenant.clone(),
        site: site.clone(),
        id: conversation.clone(),
        visitor: VisitorId::from("v1"),
        status: ConversationStatus::Open,
        agent: None,
        started_at: Millis(1_000),
        closed_at: None,
        rating: None,
        rating_comment: None,
        visitor_read_seq: 0,
        agent_read_seq: 0,
    };
    let message = MessageView {
        site: site.clone(),
        conversation,
        seq,
        sender: Sender { party: Party::Visitor, id: Some("v1".into()), name: None },
        kind: MessageKind::Text,
        body: format!("message {seq}"),
        cid: Some(Cid(format!("cid-{seq}"))),
        at: Millis(1_000 + seq),
        event: None,
        attachment: None,
    };
    vec![WriteOp::Conversation(record), WriteOp::Message { tenant: tenant.clone(), message }]
}

async fn stored_seqs(store: &Arc<dyn Store>, tenant: &TenantId) -> Vec<u64> {
    let range = MessageRange {
        conversation: ConversationId::from("c_fenced"),
        after_seq: 0,
        through_seq: 1_000,
        limit: 1_000,
        include_notes: true,
    };
    store.messages(tenant, &range).await.unwrap().iter().map(|m| m.seq).collect()
}

#[tokio::test]
async fn one_node_holds_a_site_until_its_lease_lapses_and_the_next_holder_fences_it_out() {
    each_backend(|store| async move {
        let (tenant, site) = site(&store).await;
        let now = Millis(1_000_000);

        let first = store.acquire_lease(&site, "node-a", now, TTL).await.unwrap();
        assert_eq!((first.node.as_str(), first.fence), ("node-a", 1));
        // Another node is told who holds it; the holder renewing keeps its fence.
        let other = store.acquire_lease(&site, "node-b", Millis(now.0 + 1), TTL).await.unwrap();
        assert_eq!((other.node.as_str(), other.fence), ("node-a", 1));
        // The holder taking it again (a new room of the site) gets the next fence.
        let again = store.acquire_lease(&site, "node-a", Millis(now.0 + 2), TTL).await.unwrap();
        assert_eq!((again.node.as_str(), again.fence), ("node-a", 2));
        store
            .apply_fenced_writes(&[], &[(site.clone(), 1)])
            .await
            .expect_err("the first room's fence is old");
        let renewed = store.renew_leases("node-a", Millis(now.0 + 5_000), TTL).await.unwrap();
        assert_eq!(
            renewed.iter().map(|l| (l.site.clone(), l.fence)).collect::<Vec<_>>(),
            [(site.clone(), 2)]
        );
        assert_eq!(renewed[0].expires_at, Millis(now.0 + 5_000 + TTL));

        // The holder writes under its fence.
        store.apply_fenced_writes(&writes(&tenant, &site, 1), &[(site.clone(), 2)]).await.unwrap();

        // node-a goes quiet; once its lease lapses node-b takes the site with the next fence.
        let later = Millis(now.0 + 5_000 + TTL);
        let key = store.site(&tenant, &site).await.unwrap().unwrap().key;
        assert_eq!(
            store.hosted_sites(Millis(later.0 - 1)).await.unwrap(),
            [(key.clone(), "node-a".to_owned())]
        );
        assert!(store.hosted_sites(later).await.unwrap().is_empty(), "a lapsed lease hosts nothing");
        let taken = store.acquire_lease(&site, "node-b", later, TTL).await.unwrap();
        assert_eq!((taken.node.as_str(), taken.fence), ("node-b", 3));
        assert_eq!(store.hosted_sites(later).await.unwrap(), [(key, "node-b".to_owned())]);
        assert!(store.renew_leases("node-a", later, TTL).await.unwrap().is_empty(), "node-a lost it");

        // node-a's late write is refused and stores nothing; node-b's goes in.
        let late = store.apply_fenced_writes(&writes(&tenant, &site, 2), &[(site.clone(), 2)]).await;
        assert!(matches!(late, Err(StoreError::Fenced(ref s)) if *s == site), "{late:?}");
        assert_eq!(stored_seqs(&store, &tenant).await, [1]);
        store.apply_fenced_writes(&writes(&tenant, &site, 2), &[(site.clone(), 3)]).await.unwrap();
        assert_eq!(stored_seqs(&store, &tenant).await, [1, 2]);
    })
    .await;
}

#[tokio::test]
async fn a_moved_site_is_handed_over_and_a_released_one_is_taken_with_a_higher_fence() {
    each_backend(|store| async move {
        let (_, site) = site(&store).await;
        let now = Millis(2_000_000);
        store.acquire_lease(&site, "node-a", now, TTL).await.unwrap();

        // `kefu site move`: the request waits on the lease for its holder.
        assert!(store.request_move(&site, "node-c", Millis(now.0 + 1)).await.unwrap());
        assert_eq!(store.lease(&site).await.unwrap().unwrap().move_to.as_deref(), Some("node-c"));
        let unknown = SiteId::from("s_nobody");
        assert!(!store.request_move(&unknown, "node-c", now).await.unwrap(), "nobody holds it");

        // Only the holder, with its fence, can hand it over.
        assert_eq!(store.hand_over_lease(&site, "node-b", 1, "node-c", now, TTL).await.unwrap(), None);
        assert_eq!(store.hand_over_lease(&site, "node-a", 7, "node-c", now, TTL).await.unwrap(), None);
        let moved = store.hand_over_lease(&site, "node-a", 1, "node-c", now, TTL).await.unwrap().unwrap();
        assert_eq!((moved.node.as_str(), moved.fence, moved.move_to), ("node-c", 2, None));

        // node-c lets it go when its room stops; whoever takes it next gets a higher fence still.
        assert!(store.release_lease(&site, "node-c", 2).await.unwrap());
        let next = store.acquire_lease(&site, "node-a", Millis(now.0 + 1), TTL).await.unwrap();
        assert_eq!((next.node.as_str(), next.fence), ("node-a", 3));
        assert!(!store.release_lease(&site, "node-c", 2).await.unwrap(), "node-c no longer holds it");
    })
    .await;
}

#[tokio::test]
async fn nodes_racing_for_a_site_agree_on_one_holder() {
    each_backend(|store| async move {
        let (_, site) = site(&store).await;
        let now = Millis(3_000_000);
        let racers = (0..8).map(|n| {
            let store = Arc::clone(&store);
            let site = site.clone();
            tokio::spawn(
                async move { store.acquire_lease(&site, &format!("node-{n}"), now, TTL).await.unwrap() },
            )
        });
        let answers: Vec<_> =
            futures_util::future::join_all(racers).await.into_iter().map(Result::unwrap).collect();
        let holders: std::collections::HashSet<_> =
            answers.iter().map(|l| (l.node.clone(), l.fence)).collect();
        assert_eq!(holders.len(), 1, "every node was told the same holder: {answers:?}");
        assert_eq!(answers[0].fence, 1);
    })
    .await;
}

#[tokio::test]
async fn nodes_register_say_they_are_alive_and_drain() {
    each_backend(|store| async move {
        store.node_alive("node-b", "ws://127.0.0.1:9002", Millis(10)).await.unwrap();
        store.node_alive("node-a", "ws://127.0.0.1:9001", Millis(10)).await.unwrap();
        store.node_alive("node-a", "ws://127.0.0.1:9011", Millis(20)).await.unwrap();
        let nodes = store.nodes().await.unwrap();
        let seen: Vec<_> =
            nodes.iter().map(|n| (n.name.as_str(), n.url.as_str(), n.heartbeat_at.0, n.draining)).collect();
        assert_eq!(
            seen,
            [("node-a", "ws://127.0.0.1:9011", 20, false), ("node-b", "ws://127.0.0.1:9002", 10, false)]
        );
        assert!(store.set_draining("node-a", true).await.unwrap());
        assert!(store.nodes().await.unwrap()[0].draining);
        assert!(!store.set_draining("node-z", true).await.unwrap(), "no such node");
    })
    .await;
}
